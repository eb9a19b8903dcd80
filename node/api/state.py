"""`GET /v1/state/proof`: what one state key holds after a block, and the proof (DESIGN.md §6).

The answer carries everything an auditor needs offline: the key's value (hex of its canonical
encoding, or null when absent), the siblings bottom-up, the other leaf on an absent key's path,
the block's header (whose `state_root` the proof folds to) and its commit certificate. So a
balance or a receivable piece is checked against the genesis validators, not taken on trust.

Heights: the default is the tip; a height above it is 404; heights older than the node's
`[state] retain_heights` are pruned, 410 STATE_PRUNED (ask an archive node); height 0 is the
genesis state, which has no certificate (it is the genesis file itself): 400 BAD_HEIGHT.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ledger.chain import ChainStore
from ledger.smt import StateKeyError, utf8_key
from ledger.smt_store import StateTreeError
from node.api.context import store
from node.api.forms import certificate_json
from node.api.reads import offload
from node.api.responses import HttpError, bad_request, encode_json, json_body_response

MAX_STATE_KEY_BYTES = 1024  # the longest key the contracts write is far below this
MAX_HEIGHT = 2**63 - 1


def state_key_param(request: web.Request) -> str:
    """`?key=`: present, valid Unicode text, at most MAX_STATE_KEY_BYTES bytes (BAD_STATE_KEY)."""
    key = request.query.get("key")
    if key is None or key == "":
        raise bad_request("BAD_STATE_KEY", "key is required, e.g. ?key=cash/bal/CNY/bigauto")
    try:
        size = len(utf8_key(key))
    except StateKeyError as error:
        raise bad_request("BAD_STATE_KEY", error.message) from None
    if size > MAX_STATE_KEY_BYTES:
        raise bad_request("BAD_STATE_KEY", f"key is over {MAX_STATE_KEY_BYTES} bytes")
    return key


def height_param(request: web.Request) -> int | None:
    """`?height=`: a block height from 1 (BAD_HEIGHT), or None for the tip."""
    raw = request.query.get("height")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19 or int(raw) > MAX_HEIGHT:
        raise bad_request("BAD_HEIGHT", "height must be a block height (an integer from 1)")
    height = int(raw)
    if height == 0:
        raise bad_request(
            "BAD_HEIGHT",
            "height 0 is the genesis state, which has no certificate: check it against the "
            "genesis file; block heights start at 1",
        )
    return height


def state_proof(chain: ChainStore, key: str, height: int | None) -> bytes:
    """The §6 answer for `key` after block `height` (None: the tip)."""
    tip = chain.tip().height
    wanted = tip if height is None else height
    if wanted == 0:
        raise HttpError(404, "NOT_FOUND", "no block is certified yet; ask again after block 1")
    if wanted > tip:
        raise HttpError(404, "NOT_FOUND", f"no block at height {wanted} (the tip is {tip})")
    try:
        proof = chain.tree.prove(key, wanted)
    except StateTreeError as error:
        if error.code == "STATE_HEIGHT_PRUNED":
            raise HttpError(410, "STATE_PRUNED", error.message) from None
        raise HttpError(404, "NOT_FOUND", error.message) from None
    header = chain.header_bytes(wanted)
    certificate = chain.certificate(wanted)
    if header is None or certificate is None:
        raise HttpError(500, "INTERNAL", f"the store lost block {wanted}")
    return encode_json(
        {
            **proof.to_value(),
            "height": wanted,
            "header": header,
            "certificate": certificate_json(certificate),
        }
    )


async def get_state_proof(request: web.Request) -> web.Response:
    key = state_key_param(request)
    height = height_param(request)
    return json_body_response(await offload(request, state_proof, store(request), key, height))


ROUTES: list[web.RouteDef] = [web.get("/v1/state/proof", get_state_proof)]


def _query(name: str, description: str, kind: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": kind},
    }


def _error(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/v1/state/proof": {
        "get": {
            "summary": "A state key's value after block `height` (default: the tip), with its "
            "proof under the header's state_root and the block's certificate (DESIGN.md §6)",
            "parameters": [
                _query("key", "state key: cash/bal/CNY/bigauto, rcv/piece/ID, ...", "string", True),
                _query("height", "block height from 1; default the tip", "integer"),
            ],
            "responses": {
                "200": {
                    "description": "{key, height, value (hex or null), siblings (hex, bottom-up),"
                    " other (null or {key_hash, value_hash}), header (hex), certificate}"
                },
                "400": _error("BAD_STATE_KEY or BAD_HEIGHT"),
                "404": _error("NOT_FOUND: no block at that height yet"),
                "410": _error("STATE_PRUNED: older than the node's [state] retain_heights"),
            },
        }
    }
}
