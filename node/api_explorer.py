"""Read-only routes that let an auditor re-verify blocks without trusting this node.

The §9 block answer carries tx ids only; recomputing `txs_root` and `receipts_root` needs the
encodings themselves, so `/v1/raw/...` serves header, txs, receipts and certificate as hex.
`/v1/raw/block-hash/{hash}` answers which height a block hash is at and `/v1/raw/invoices/{no}`
which receivables carry an invoice number (the explorer's search box).
Every answer is a few point reads: the cost of a page does not grow with the chain.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contracts.receivables_state import escape
from ledger.chain import ChainStore
from node.httpx import bad_request, json_response, not_found, query_int, store

MAX_RANGE = 100


def _height(request: web.Request) -> int:
    raw = request.match_info["height"]
    if not raw.isdigit() or len(raw) > 19:
        raise bad_request("BAD_HEIGHT", "height must be a non-negative integer")
    return int(raw)


def raw_block(chain: ChainStore, height: int) -> dict[str, Any] | None:
    """Block `height` as encodings: what a verifier needs to recompute every root."""
    block = chain.block(height)
    certificate = chain.certificate(height)
    if block is None or certificate is None:
        return None
    return {
        "height": height,
        "hash": block.header.hash().hex(),
        "header": block.header.encode().hex(),
        "txs": [raw.hex() for raw in block.txs],
        "receipts": [receipt.encode().hex() for receipt in chain.receipts(height)],
        "certificate": {
            name: value.hex() if isinstance(value, bytes) else value
            for name, value in certificate.to_value().items()
        },
    }


async def get_raw_block(request: web.Request) -> web.Response:
    height = _height(request)
    answer = raw_block(store(request), height)
    if answer is None:
        raise not_found(f"block {height}")
    return json_response(answer)


async def list_raw_blocks(request: web.Request) -> web.Response:
    """Blocks `from`..`from+limit-1` as encodings, for walking the chain page by page."""
    chain = store(request)
    start = query_int(request, "from", 1, 1, 2**63 - 1)
    limit = query_int(request, "limit", 20, 1, MAX_RANGE)
    tip = chain.tip().height
    blocks = []
    for height in range(start, min(tip, start + limit - 1) + 1):
        answer = raw_block(chain, height)
        if answer is not None:
            blocks.append(answer)
    return json_response({"tip": tip, "blocks": blocks})


async def block_by_hash(request: web.Request) -> web.Response:
    raw = request.match_info["hash"]
    try:
        block_hash = bytes.fromhex(raw)
    except ValueError:
        raise bad_request("BAD_HASH", "a block hash is 64 hex characters") from None
    if len(block_hash) != 32:
        raise bad_request("BAD_HASH", "a block hash is 64 hex characters")
    height = store(request).height_of(block_hash)
    if height is None:
        raise not_found(f"block {raw}")
    return json_response({"height": height, "hash": block_hash.hex()})


async def invoices_by_number(request: web.Request) -> web.Response:
    """Receivables issued under an invoice number (any creditor/debtor): the search box's need."""
    number = request.match_info["number"]
    if not number or len(number) > 140:
        raise bad_request("BAD_INVOICE_NO", "an invoice number is 1 to 140 characters")
    prefix = f"rcv/invno/{escape(number)}/"
    found = []
    for key, root_id in store(request).state_items(prefix):
        creditor, _, debtor = key[len(prefix) :].partition("/")
        found.append({"id": root_id, "creditor": creditor, "debtor": debtor})
        if len(found) >= MAX_RANGE:
            break
    return json_response({"invoice_no": number, "receivables": found})


ROUTES: list[web.RouteDef] = [
    web.get("/v1/raw/blocks", list_raw_blocks),
    web.get("/v1/raw/blocks/{height}", get_raw_block),
    web.get("/v1/raw/block-hash/{hash}", block_by_hash),
    web.get("/v1/raw/invoices/{number}", invoices_by_number),
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
            "responses": {"200": {"description": "tip and blocks"}},
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
                "404": {"description": "no such block"},
            },
        }
    },
    "/v1/raw/block-hash/{hash}": {
        "get": {
            "summary": "The height of a block hash",
            "parameters": [
                {"name": "hash", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "height and hash"}, "404": {"description": ""}},
        }
    },
    "/v1/raw/invoices/{number}": {
        "get": {
            "summary": "Receivables issued under an invoice number: [{id, creditor, debtor}]",
            "parameters": [
                {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "matching invoices (maybe none)"}},
        }
    },
}
