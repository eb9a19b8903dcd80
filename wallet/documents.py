"""Confidential invoice documents, client side: seal and upload, share, download and check.

Everything secret happens here, never on a node: the data key is drawn and wrapped for each
reader's registered Ed25519 keys (mapped to X25519, ledger/documents.py) before upload; a
sharer unwraps it with its own key and wraps it for the organization it granted on chain; a
reader unwraps, decrypts and compares the plaintext's sha256 with the `doc_hash` the ledger
holds for the invoice, and refuses (`DOCUMENT_HASH_MISMATCH`) a document that is not the
invoice's.

    vault = DocumentVault(client, key)
    vault.issue_with_document(pdf, {"invoice_no": ..., "debtor": ..., ...})  # {id, doc_hash}
    vault.share(piece_id, "bank-a")
    vault.download(piece_id)  # the plaintext, checked against the ledger
"""

from __future__ import annotations

from typing import Any

from ledger.crypto import Ed25519Key
from ledger.documents import (
    DocumentError,
    Envelope,
    WrappedKey,
    envelope_from_value,
    open_document,
    seal_document,
    unwrap_key,
    wrap_key,
)
from ledger.errors import TallyError
from ledger.hashing import sha256
from wallet import routes
from wallet.client import Client


def document_path(doc_hash: bytes) -> str:
    return f"/v1/documents/{doc_hash.hex()}"


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise DocumentError("BAD_ENVELOPE", f"the node's envelope has no hex {name}")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise DocumentError("BAD_ENVELOPE", f"the node's envelope {name} is not hex") from None


def envelope_of_answer(answer: dict[str, Any]) -> Envelope:
    """The envelope in a `GET /v1/documents/{doc_hash}` answer, its shape checked."""
    keys = answer.get("keys")
    if not isinstance(keys, list):
        raise DocumentError("BAD_ENVELOPE", "the node's envelope has no keys")
    value = {
        "doc_hash": _hex(answer.get("doc_hash"), "doc_hash"),
        "nonce": _hex(answer.get("nonce"), "nonce"),
        "ciphertext": _hex(answer.get("ciphertext"), "ciphertext"),
        "keys": [
            {
                "org": key.get("org") if isinstance(key, dict) else None,
                "public": _hex(key.get("public") if isinstance(key, dict) else None, "public"),
                "sealed": _hex(key.get("sealed") if isinstance(key, dict) else None, "sealed"),
            }
            for key in keys
        ],
    }
    ciphertext = value["ciphertext"]
    return envelope_from_value(value, max_document_bytes=len(ciphertext))


def keys_json(keys: tuple[WrappedKey, ...]) -> list[dict[str, str]]:
    return [
        {"org": key.org, "public": key.public.hex(), "sealed": key.sealed.hex()} for key in keys
    ]


class DocumentVault:
    """The document calls of one organization's key."""

    def __init__(self, client: Client, key: Ed25519Key) -> None:
        self.client = client
        self.key = key
        self._org: str | None = None

    @property
    def org(self) -> str:
        """The organization the key is registered to (looked up once on the node)."""
        if self._org is None:
            public = self.key.public.hex()
            owners = [
                org["id"]
                for org in self.client.orgs()
                if any(key.get("public") == public for key in org.get("keys", ()))
            ]
            if not owners:
                raise TallyError("UNKNOWN_SIGNER", "the key belongs to no organization")
            self._org = str(owners[0])
        return self._org

    def reader_keys(self, orgs: list[str]) -> dict[str, list[bytes]]:
        """Every registered key of each organization: the data key is wrapped for each. Read
        from the directory (`/v1/orgs`), which shows every member's keys to every member; an
        organization's own record (`/v1/orgs/{id}`) is its own to read (DESIGN.md §9)."""
        directory = {str(org["id"]): org for org in self.client.orgs()}
        missing = [org for org in orgs if org not in directory]
        if missing:
            raise TallyError("UNKNOWN_ORG", f"no organization {missing[0]!r} on this chain")
        return {
            org: [bytes.fromhex(key["public"]) for key in directory[org].get("keys", ())]
            for org in orgs
        }

    def upload(self, document: bytes, readers: list[str]) -> dict[str, Any]:
        """Seal `document` for `readers` and upload it (its invoice must be on the ledger)."""
        envelope, _ = seal_document(document, self.reader_keys(readers))
        body = {
            "nonce": envelope.nonce.hex(),
            "ciphertext": envelope.ciphertext.hex(),
            "keys": keys_json(envelope.keys),
        }
        answer: dict[str, Any] = self.client.request("PUT", document_path(envelope.doc_hash), body)
        return answer

    def issue_with_document(self, document: bytes, args: dict[str, Any]) -> dict[str, Any]:
        """Issue an invoice backed by `document` (its sha256 is the `doc_hash`), then upload
        the document sealed for the creditor and the debtor: `{id, doc_hash, tx, height}`."""
        if not document:
            raise TallyError("BAD_ARGUMENT", "the document is empty")
        args = {**args, "doc_hash": sha256(document)}
        receipt = self.client.call(self.key, "receivables", "issue", args)
        self.upload(document, [self.org, str(args["debtor"])])
        return {
            "id": receipt["result"]["id"],
            "doc_hash": args["doc_hash"].hex(),
            "tx": receipt["tx"],
            "height": receipt["height"],
        }

    def envelope(self, doc_hash: bytes) -> Envelope:
        return envelope_of_answer(self.client.get_record(document_path(doc_hash)))

    def share(self, piece_id: str, org: str) -> dict[str, Any]:
        """Grant `org` the invoice's document on chain, then upload the data key wrapped for
        each of `org`'s keys. The data key is unwrapped with this key first, so a sharer that
        cannot read the document records no grant it could not follow up."""
        doc_hash = self._ledger_hash(piece_id)
        data_key = unwrap_key(self.envelope(doc_hash), self.org, self.key.seed)
        wrapped = tuple(wrap_key(data_key, org, public) for public in self.reader_keys([org])[org])
        receipt = self.client.call(
            self.key, "receivables", "share_document", {"id": piece_id, "org": org}
        )
        self.client.request("POST", document_path(doc_hash) + "/keys", {"keys": keys_json(wrapped)})
        return {"doc_hash": doc_hash.hex(), "org": org, "tx": receipt["tx"]}

    def _ledger_hash(self, piece_id: str) -> bytes:
        """The doc_hash the ledger holds for the invoice of piece `piece_id`."""
        piece = self.client.get_record(routes.receivable(piece_id))
        return _hex(piece.get("doc_hash"), "doc_hash")

    def download(self, piece_id: str) -> bytes:
        """The invoice's document, decrypted with this key and checked against the hash the
        ledger holds for piece `piece_id`'s invoice."""
        ledger_hash = self._ledger_hash(piece_id)
        return open_document(self.envelope(ledger_hash), self.org, self.key.seed, ledger_hash)
