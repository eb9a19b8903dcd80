"""HTTP routes for escrows: one escrow, and an organization's escrows newest first.

The answers are the read models of contracts/escrow_queries.py, at the committed tip's block
time (what `can_release` and `can_cancel` are judged by). Bytes (condition, preimage) are hex.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from contracts import escrow_queries
from contracts.escrow_records import CANCELLED, OPEN, RELEASED
from ledger.chain import ChainStore
from node.api.access_check import read_listing
from node.api.context import store
from node.api.openapi import route_parameter as _p
from node.api.params import hex_id, query_int
from node.api.responses import bad_request, json_response, not_found

MAX_LIMIT = 200
STATUSES = (OPEN, RELEASED, CANCELLED)
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CURSOR = re.compile(r"^[0-9]{16}/[0-9a-f]{64}$")


async def get_escrow(request: web.Request) -> web.Response:
    chain = store(request)
    escrow_id = hex_id(request.match_info["id"], "escrow")
    record = escrow_queries.escrow_record(chain, escrow_id)
    if record is None:
        raise not_found("escrow")
    return json_response(escrow_queries.escrow_view(record, chain.tip().time_ms))


def _escrows_answer(
    chain: ChainStore, org: str, status: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = escrow_queries.escrows_of(chain, org, status, cursor, limit, chain.tip().time_ms)
    return {"org": org, "escrows": list(page.rows), "next": page.next}


async def list_escrows(request: web.Request) -> web.Response:
    org = request.query.get("org", "")
    if not _ORG.match(org):
        raise bad_request("BAD_QUERY", "say whose escrows: ?org=ORG")
    status = request.query.get("status") or None
    if status is not None and status not in STATUSES:
        raise bad_request("BAD_QUERY", f"status must be one of {', '.join(STATUSES)}")
    cursor = request.query.get("cursor") or None
    if cursor is not None and not _CURSOR.match(cursor):
        raise bad_request("BAD_QUERY", "cursor is malformed")
    limit = query_int(request, "limit", 50, 1, MAX_LIMIT)
    chain = store(request)
    listed = _escrows_answer
    answer = await read_listing(request, "escrows", listed, chain, org, status, cursor, limit)
    return json_response(answer)


ROUTES: list[web.RouteDef] = [
    web.get("/v1/escrows", list_escrows),
    web.get("/v1/escrows/{id}", get_escrow),
]


_ERR = {"400": {"description": "malformed id or query"}, "404": {"description": "unknown id"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/escrows": {
        "get": {
            "summary": "An organization's escrows (as payer or payee), newest first, paged by "
            "cursor",
            "parameters": [
                _p("org", "query", "organization id", required=True),
                _p("status", "query", "open, released or cancelled"),
                _p("cursor", "query", "`next` of the previous page"),
                _p("limit", "query", f"page size, at most {MAX_LIMIT}"),
            ],
            "responses": {"200": {"description": "{org, escrows, next}"}, **_ERR},
        }
    },
    "/v1/escrows/{id}": {
        "get": {
            "summary": "An escrow: parties, amount, condition, release and cancel times, status, "
            "the closing tx and (once released) the preimage; can_release and can_cancel at "
            "the tip's block time",
            "parameters": [_p("id", "path", "64 lowercase hex characters")],
            "responses": {"200": {"description": "the escrow"}, **_ERR},
        }
    },
}
