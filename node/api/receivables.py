"""Read routes for receivables: one piece, an invoice's whole family tree, and listings.

The answers are the read models of contracts/receivables_queries.py, which know the contract's
keys; this module parses the request and renders. Everything but a single offer reads several
records, so it is built on a read thread (node/api/reads.py). A held repayment is answered with
the block times it was held and released (`held_time_ms`, `released_time_ms`, None until then),
looked up here from the headers: a clerk asks when, not at which height.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from contracts import receivables_queries as queries
from contracts.receivables_state import INDEXES
from ledger.chain import ChainStore
from node.api.access_check import read_listing
from node.api.context import store
from node.api.openapi import route_parameter as _param
from node.api.params import hex_id, query_int
from node.api.reads import offload
from node.api.responses import bad_request, json_response, not_found

MAX_LIMIT = 200
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _check_id(raw: str, what: str = "receivable") -> str:
    return hex_id(raw, what)


def _check_org(raw: str, name: str) -> str:
    if not _ORG.match(raw):
        raise bad_request("BAD_QUERY", f"{name} must be an organization id")
    return raw


def _found(answer: dict[str, Any] | None, what: str) -> web.Response:
    if answer is None:
        raise not_found(what)
    return json_response(answer)


def _with_times(chain: ChainStore, hold: dict[str, Any] | None) -> None:
    """Add to a held repayment the block times of the heights it was held and released at."""
    if hold is None:
        return
    for event in ("held", "released"):
        height = hold.get(f"{event}_height")
        header = chain.header(height) if isinstance(height, int) else None
        hold[f"{event}_time_ms"] = None if header is None else header.time_ms


def piece_with_times(chain: ChainStore, piece_id: str) -> dict[str, Any] | None:
    answer = queries.piece_view(chain, piece_id)
    if answer is not None:
        _with_times(chain, answer["hold"])
    return answer


def trace_with_times(chain: ChainStore, piece_id: str) -> dict[str, Any] | None:
    answer = queries.trace(chain, piece_id)
    for piece in answer["pieces"] if answer is not None else ():
        _with_times(chain, piece["hold"])
    return answer


async def get_receivable(request: web.Request) -> web.Response:
    piece_id = _check_id(request.match_info["id"])
    answer = await offload(request, piece_with_times, store(request), piece_id)
    return _found(answer, f"receivable {piece_id}")


async def get_trace(request: web.Request) -> web.Response:
    piece_id = _check_id(request.match_info["id"])
    answer = await offload(request, trace_with_times, store(request), piece_id)
    return _found(answer, f"receivable {piece_id}")


async def get_offer(request: web.Request) -> web.Response:
    offer_id = _check_id(request.match_info["id"], "financing offer")
    return _found(queries.offer(store(request), offer_id), f"financing offer {offer_id}")


async def list_receivables(request: web.Request) -> web.Response:
    """`?holder=` / `?debtor=` / `?creditor=` (paged by `after`, `limit`), or `?invoice=`."""
    chain = store(request)
    query = request.query
    creditor = _check_org(query["creditor"], "creditor") if "creditor" in query else None
    debtor = _check_org(query["debtor"], "debtor") if "debtor" in query else None
    if "invoice" in query:
        invoice_no = query["invoice"]
        if not 1 <= len(invoice_no) <= 64:
            raise bad_request("BAD_QUERY", "invoice must be 1 to 64 characters")
        numbered = queries.receivables_numbered
        answer = await read_listing(request, "items", numbered, chain, invoice_no, creditor, debtor)
        return json_response(answer)
    given = [(name, query[name]) for name in INDEXES if name in query]
    if len(given) != 1:
        raise bad_request("BAD_QUERY", "give exactly one of holder, debtor, creditor or invoice")
    index, org = given[0]
    _check_org(org, index)
    after = _check_id(query["after"], "cursor") if query.get("after") else None
    limit = query_int(request, "limit", 50, 1, MAX_LIMIT)
    listed = queries.receivables_page
    page = await read_listing(request, "items", listed, chain, index, org, after, limit)
    return json_response(page)


ROUTES: list[web.RouteDef] = [
    web.get("/v1/receivables", list_receivables),
    web.get("/v1/receivables/offers/{id}", get_offer),
    web.get("/v1/receivables/{id}", get_receivable),
    web.get("/v1/receivables/{id}/trace", get_trace),
]


_ID_PARAM = _param("id", "path", "piece id (64 hex)")
_ERRORS = {"400": {"description": "malformed id or query"}, "404": {"description": "unknown"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/receivables": {
        "get": {
            "summary": "Receivables held by, owed by or issued by an organization, or by number",
            "parameters": [
                _param("holder", "query", "pieces this organization holds now"),
                _param("debtor", "query", "invoices this organization owes (root pieces)"),
                _param("creditor", "query", "invoices this organization issued (root pieces)"),
                _param("invoice", "query", "invoice number; narrow with creditor/debtor"),
                _param("after", "query", "cursor: the last id of the previous page"),
                _param("limit", "query", f"page size, at most {MAX_LIMIT}"),
            ],
            "responses": {"200": {"description": "{items, next}"}, **_ERRORS},
        }
    },
    "/v1/receivables/{id}": {
        "get": {
            "summary": "One piece: invoice data, holder, amount, status, history, offers, and a "
            "repayment held for a sanctioned holder (with the block times held and released)",
            "parameters": [_ID_PARAM],
            "responses": {"200": {"description": "the piece"}, **_ERRORS},
        }
    },
    "/v1/receivables/{id}/trace": {
        "get": {
            "summary": "The invoice's family tree with the transaction behind every step, and "
            "each repayment held for a sanctioned holder with the block times held and released",
            "parameters": [_ID_PARAM],
            "responses": {"200": {"description": "{root, totals, pieces, steps}"}, **_ERRORS},
        }
    },
    "/v1/receivables/offers/{id}": {
        "get": {
            "summary": "A financing offer",
            "parameters": [_param("id", "path", "offer id (64 hex)")],
            "responses": {"200": {"description": "the offer"}, **_ERRORS},
        }
    },
}
