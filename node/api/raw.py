"""Read-only routes that let an auditor re-verify blocks without trusting this node.

The §9 block answer carries tx ids only; recomputing `txs_root` and `receipts_root` needs the
encodings themselves, so `/v1/raw/...` serves header, txs, receipts and certificate as hex.
`/v1/raw/genesis` serves the node's genesis, for an explorer started without one (it says so).
Every answer is a few point reads: the cost of a page does not grow with the chain. Pages are
built on a read thread and stop at the API's byte budget (always at least one block); `next` is
the height the following page starts at, null at the tip.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ledger.chain import ChainStore
from ledger.merkle import leaf_hash
from ledger.types import SignedTx
from node.api.access_check import RowFilter, row_filter
from node.api.context import node, store
from node.api.params import query_int
from node.api.reads import Page, limits, offload
from node.api.responses import (
    bad_request,
    encode_json,
    json_body_response,
    json_response,
    not_found,
)

MAX_RANGE = 100


def _height(request: web.Request) -> int:
    raw = request.match_info["height"]
    if not raw.isdigit() or len(raw) > 19:
        raise bad_request("BAD_HEIGHT", "height must be a non-negative integer")
    return int(raw)


def raw_block(
    chain: ChainStore, height: int, keep: RowFilter | None = None
) -> dict[str, Any] | None:
    """Block `height` as encodings: what a verifier needs to recompute every root. A tx (and
    its receipt) that `keep` leaves out is null, and the RFC 6962 leaf hashes of every tx and
    receipt come beside them, so the roots still recompute (docs/api.md, access)."""
    block = chain.block(height)
    certificate = chain.certificate(height)
    if block is None or certificate is None:
        return None
    receipts = chain.receipts(height)
    answer: dict[str, Any] = {
        "height": height,
        "hash": block.header.hash().hex(),
        "header": block.header.encode().hex(),
        "txs": [raw.hex() for raw in block.txs],
        "receipts": [receipt.encode().hex() for receipt in receipts],
        "certificate": {
            name: value.hex() if isinstance(value, bytes) else value
            for name, value in certificate.to_value().items()
        },
    }
    if keep is None or keep.everything:
        return answer
    pairs = zip(block.txs, receipts, strict=True)
    shown = [keep((SignedTx.decode(raw), receipt)) for raw, receipt in pairs]
    if all(shown):
        return answer
    for name in ("txs", "receipts"):
        encodings = answer[name]
        answer[name[:-1] + "_leaves"] = [leaf_hash(bytes.fromhex(e)).hex() for e in encodings]
        answer[name] = [e if ok else None for e, ok in zip(encodings, shown, strict=True)]
    return answer


def one_raw_block(chain: ChainStore, height: int, keep: RowFilter | None = None) -> bytes:
    answer = raw_block(chain, height, keep)
    if answer is None:
        raise not_found(f"block {height}")
    return encode_json(answer)


async def get_raw_block(request: web.Request) -> web.Response:
    height = _height(request)
    keep = row_filter(request)
    return json_body_response(await offload(request, one_raw_block, store(request), height, keep))


def raw_blocks_page(
    chain: ChainStore, start: int, limit: int, budget: int, keep: RowFilter | None = None
) -> bytes:
    """`{"blocks", "next", "tip"}`: from `start`, at most `limit` blocks and `budget` bytes."""
    tip = chain.tip().height
    page = Page(budget)
    following = None
    for height in range(start, min(tip, start + limit - 1) + 1):
        answer = raw_block(chain, height, keep)
        if answer is None:
            continue
        if not page.add(answer):
            following = height
            break
        following = height + 1 if height < tip else None
    return page.body("blocks", {"next": following, "tip": tip})


async def list_raw_blocks(request: web.Request) -> web.Response:
    """Blocks `from`..`from+limit-1` as encodings, for walking the chain page by page."""
    start = query_int(request, "from", 1, 1, 2**63 - 1)
    limit = query_int(request, "limit", 20, 1, MAX_RANGE)
    budget = limits(request).answer_max_bytes
    keep = row_filter(request)
    body = await offload(request, raw_blocks_page, store(request), start, limit, budget, keep)
    return json_body_response(body)


async def get_genesis(request: web.Request) -> web.Response:
    """The node's genesis file as it loaded it: convenient, but only as trustworthy as the node."""
    return json_response(node(request).genesis.raw)


ROUTES: list[web.RouteDef] = [
    web.get("/v1/raw/blocks", list_raw_blocks),
    web.get("/v1/raw/blocks/{height}", get_raw_block),
    web.get("/v1/raw/genesis", get_genesis),
]

_RAW_BLOCK = {
    "type": "object",
    "properties": {
        "height": {"type": "integer"},
        "hash": {"type": "string"},
        "header": {"type": "string", "description": "hex of the encoded header"},
        "txs": {"type": "array", "items": {"type": "string"}},
        "receipts": {"type": "array", "items": {"type": "string"}},
        "certificate": {"type": "object"},
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/raw/blocks": {
        "get": {
            "summary": "Blocks as encodings (header, txs, receipts, certificate), by height range",
            "parameters": [
                {"name": "from", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
            ],
            "responses": {
                "200": {"description": "tip, blocks and next (the height to ask for next)"},
                "400": {"description": "from or limit is not a valid number (BAD_QUERY)"},
            },
        }
    },
    "/v1/raw/blocks/{height}": {
        "get": {
            "summary": "One block as encodings, to recompute its roots and check its certificate",
            "parameters": [
                {"name": "height", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": {
                    "description": "the block",
                    "content": {"application/json": {"schema": _RAW_BLOCK}},
                },
                "400": {"description": "height is not a valid block height (BAD_HEIGHT)"},
                "404": {"description": "no such block"},
            },
        }
    },
    "/v1/raw/genesis": {
        "get": {
            "summary": "The genesis file this node runs (verify it out of band before trusting it)",
            "responses": {"200": {"description": "genesis.json"}},
        }
    },
}
