"""HTTP routes for confidential invoice documents: encrypted envelopes kept beside the chain.

The node stores what a creditor uploads for a document whose hash an invoice on the ledger
holds, checks only its shape and size (ledger/documents.py) and who each wrapped key is for: an
organization the ledger lets read it (the invoice's creditor and debtor, and whom
`receivables.share_document` granted: contracts/receivables_documents.py), with a key
registered to it. The node never sees a data key or the plaintext. Envelopes are not state: no
root covers them, snapshot sync does not carry them, and each node keeps what was uploaded to
it (docs/receivables.md).

Access (DESIGN.md §9): `caller_org` is the organization that signed the request (None while the
API is open). The read policy's table (node/api/access_policy.py) answers 404 to an organization
that is not a reader before these handlers run; `GET` then gives a reader only its own wrapped
keys, `PUT` is the creditor's alone and `POST .../keys` the creditor's or a granting reader's
(403 NOT_ENTITLED to another reader).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contracts.receivables_documents import DocumentAccess, document_access, org_keys
from ledger.chain import ChainStore
from ledger.documents import (
    MAX_RECIPIENT_KEYS,
    DocumentError,
    Envelope,
    WrappedKey,
    envelope_from_value,
    wrapped_keys_from_values,
)
from node.api.caller import caller_of
from node.api.context import store
from node.api.params import hex_id, read_json
from node.api.reads import limits
from node.api.responses import HttpError, bad_request, json_response, not_found

MAX_BODY_VALUES = 4 * MAX_RECIPIENT_KEYS + 16
_HEX_FIELDS = ("ciphertext", "nonce", "public", "sealed")


def caller_org(request: web.Request) -> str | None:
    """The organization that signed the request; None while the API is open."""
    caller = caller_of(request)
    return None if caller is None else caller.org


def _doc_hash(request: web.Request) -> bytes:
    return bytes.fromhex(hex_id(request.match_info["doc_hash"], "document"))


def _access(chain: ChainStore, doc_hash: bytes) -> DocumentAccess:
    """The invoice behind `doc_hash` and its readers; 404 if none (a non-reader got the same
    404 from the read policy already: never a hint that the document exists)."""
    access = document_access(chain, doc_hash)
    if access is None:
        raise not_found("document")
    return access


def _may_write(access: DocumentAccess, caller: str | None, granting: bool) -> None:
    """The envelope is the creditor's to upload; wrapped keys are added by the creditor or (with
    `granting`) an organization that shared the document (403 NOT_ENTITLED otherwise)."""
    writers = {access.creditor} | ({g["by"] for g in access.shared} if granting else set())
    if caller is not None and caller not in writers:
        raise HttpError(403, "NOT_ENTITLED", f"{caller} cannot change this document's envelope")


def _from_hex(value: Any) -> Any:
    """The JSON form of an envelope (bytes as hex) as the map ledger/documents.py checks."""
    if isinstance(value, list):
        return [_from_hex(item) for item in value]
    if not isinstance(value, dict):
        return value
    decoded = dict(value)
    for name in _HEX_FIELDS:
        text = decoded.get(name)
        if isinstance(text, str):
            try:
                decoded[name] = bytes.fromhex(text)
            except ValueError:
                raise bad_request("BAD_ENVELOPE", f"{name} must be hex") from None
    if isinstance(decoded.get("keys"), list):
        decoded["keys"] = _from_hex(decoded["keys"])
    return decoded


def _refusal(error: DocumentError) -> HttpError:
    return HttpError(413 if error.code == "DOCUMENT_TOO_LARGE" else 400, error.code, error.message)


def _check_readers(chain: ChainStore, access: DocumentAccess, keys: tuple[WrappedKey, ...]) -> None:
    """Every wrapped key is for a reader the ledger records, and a key registered to it."""
    readers = access.readers()
    for key in keys:
        if key.org not in readers:
            message = f"the ledger does not let {key.org} read this document (share it first)"
            raise HttpError(403, "NOT_ENTITLED", message)
        if key.public not in org_keys(chain, key.org):
            raise bad_request("UNKNOWN_KEY", f"{key.public.hex()} is not a key of {key.org}")


def envelope_json(envelope: Envelope) -> dict[str, Any]:
    return {
        "doc_hash": envelope.doc_hash.hex(),
        "nonce": envelope.nonce.hex(),
        "ciphertext": envelope.ciphertext.hex(),
        "keys": [
            {"org": key.org, "public": key.public.hex(), "sealed": key.sealed.hex()}
            for key in envelope.keys
        ],
    }


async def put_document(request: web.Request) -> web.Response:
    chain = store(request)
    doc_hash = _doc_hash(request)
    access = _access(chain, doc_hash)
    _may_write(access, caller_org(request), granting=False)
    body = _from_hex(await read_json(request, MAX_BODY_VALUES))
    if not isinstance(body, dict):
        raise bad_request("BAD_ENVELOPE", "the body is {nonce, ciphertext, keys}")
    try:
        envelope = envelope_from_value(
            {**body, "doc_hash": doc_hash}, limits(request).max_document_bytes
        )
    except DocumentError as error:
        raise _refusal(error) from None
    _check_readers(chain, access, envelope.keys)
    # No await from here to the write: two uploads cannot interleave on the loop.
    if chain.document(doc_hash) is not None:
        raise HttpError(409, "DOCUMENT_EXISTS", "this document's envelope is stored already")
    chain.put_document(doc_hash, envelope.encode())
    return json_response({"doc_hash": doc_hash.hex(), "orgs": list(envelope.orgs())}, 201)


async def post_keys(request: web.Request) -> web.Response:
    chain = store(request)
    doc_hash = _doc_hash(request)
    access = _access(chain, doc_hash)
    _may_write(access, caller_org(request), granting=True)
    body = _from_hex(await read_json(request, MAX_BODY_VALUES))
    if not isinstance(body, dict) or set(body) != {"keys"}:
        raise bad_request("BAD_ENVELOPE", "the body is {keys: [{org, public, sealed}]}")
    try:
        added = wrapped_keys_from_values(body["keys"])
    except DocumentError as error:
        raise _refusal(error) from None
    _check_readers(chain, access, added)
    raw = chain.document(doc_hash)  # no await from here to the write
    if raw is None:
        raise not_found("document envelope")
    envelope = Envelope.decode(raw)
    present = {(key.org, key.public) for key in envelope.keys}
    for key in added:
        if (key.org, key.public) in present:
            raise HttpError(409, "KEY_EXISTS", f"a key is already wrapped for {key.org}")
    merged = envelope.with_keys(added)
    if len(merged.keys) > MAX_RECIPIENT_KEYS:
        raise HttpError(413, "DOCUMENT_TOO_LARGE", f"at most {MAX_RECIPIENT_KEYS} wrapped keys")
    chain.put_document(doc_hash, merged.encode())
    return json_response({"doc_hash": doc_hash.hex(), "orgs": list(merged.orgs())})


async def get_document(request: web.Request) -> web.Response:
    chain = store(request)
    doc_hash = _doc_hash(request)
    caller = caller_org(request)
    access = _access(chain, doc_hash)
    raw = chain.document(doc_hash)
    if raw is None:
        raise not_found("document envelope")
    envelope = Envelope.decode(raw)
    if caller is not None:
        envelope = envelope.only_for(caller)
    return json_response({**envelope_json(envelope), "access": access.to_json()})


async def get_access(request: web.Request) -> web.Response:
    chain = store(request)
    doc_hash = _doc_hash(request)
    access = _access(chain, doc_hash)
    raw = chain.document(doc_hash)
    stored = None if raw is None else list(Envelope.decode(raw).orgs())
    return json_response({**access.to_json(), "stored_for": stored})


ROUTES: list[web.RouteDef] = [
    web.put("/v1/documents/{doc_hash}", put_document),
    web.get("/v1/documents/{doc_hash}", get_document),
    web.post("/v1/documents/{doc_hash}/keys", post_keys),
    web.get("/v1/documents/{doc_hash}/access", get_access),
]


_HASH = {
    "name": "doc_hash",
    "in": "path",
    "required": True,
    "description": "sha256 of the plaintext document, 64 lowercase hex (the invoice's doc_hash)",
    "schema": {"type": "string"},
}
_ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _ok(description: str) -> dict[str, Any]:
    schema = {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_WRAPPED = {
    "type": "object",
    "required": ["org", "public", "sealed"],
    "properties": {
        "org": {"type": "string"},
        "public": {"type": "string", "description": "the reader's Ed25519 key, hex"},
        "sealed": {"type": "string", "description": "the data key in an X25519 sealed box, hex"},
    },
}


def _body(properties: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "object", "required": sorted(properties), "properties": properties}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_KEYS = {"type": "array", "items": _WRAPPED, "maxItems": MAX_RECIPIENT_KEYS}
_REFUSALS = {
    "400": _answer("BAD_ID, BAD_JSON, BAD_ENVELOPE or UNKNOWN_KEY"),
    "403": _answer(
        "NOT_ENTITLED: a key is wrapped for an organization the ledger does not let "
        "read the document"
    ),
    "404": _answer("no invoice holds this doc_hash (or, for keys, no envelope is stored)"),
    "413": _answer("DOCUMENT_TOO_LARGE or BODY_TOO_LARGE"),
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/documents/{doc_hash}": {
        "put": {
            "summary": "Upload the encrypted envelope of an invoice's document (once): "
            "XChaCha20-Poly1305 ciphertext and nonce, the data key sealed for each reader key",
            "parameters": [_HASH],
            "requestBody": _body(
                {"nonce": {"type": "string"}, "ciphertext": {"type": "string"}, "keys": _KEYS}
            ),
            "responses": {
                "201": _ok("{doc_hash, orgs}"),
                **_REFUSALS,
                "409": _answer("DOCUMENT_EXISTS"),
            },
        },
        "get": {
            "summary": "The envelope (doc_hash, nonce, ciphertext, keys) and who may read it",
            "parameters": [_HASH],
            "responses": {
                "200": _ok("{doc_hash, nonce, ciphertext, keys, access}"),
                "400": _answer("BAD_ID"),
                "404": _answer("unknown document, or no envelope stored"),
            },
        },
    },
    "/v1/documents/{doc_hash}/keys": {
        "post": {
            "summary": "Add the data key wrapped for readers granted since the upload "
            "(receivables.share_document)",
            "parameters": [_HASH],
            "requestBody": _body({"keys": _KEYS}),
            "responses": {
                "200": _ok("{doc_hash, orgs}"),
                **_REFUSALS,
                "409": _answer("KEY_EXISTS"),
            },
        }
    },
    "/v1/documents/{doc_hash}/access": {
        "get": {
            "summary": "Who may read a document as the ledger records it (creditor, debtor, "
            "grants) and for whom the stored envelope wraps the key (stored_for, null if none)",
            "parameters": [_HASH],
            "responses": {
                "200": _ok("{doc_hash, receivable, creditor, debtor, shared, stored_for}"),
                "400": _answer("BAD_ID"),
                "404": _answer("no invoice holds this doc_hash"),
            },
        }
    },
}
