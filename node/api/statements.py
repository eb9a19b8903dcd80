"""HTTP routes for bank statements: camt.053 per bank, currency and UTC day, and camt.054.

The read model is contracts/statements.py (the day's blocks, receipts and the state tree's
versions); this module parses, picks the form and maps the read model's refusals to statuses.
A statement is read on the API's read threads (node/api/reads.py): its cost grows with the
day's blocks, bounded per page. `?after=HEIGHT` continues a day read in pages; the cursor of
the next page is the answer's `next` (JSON) or its `Tally-Next-After` header (XML).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from aiohttp import web

from contracts import queries
from contracts.exports.camt import NoMovements, camt053, camt054
from contracts.statements import Statement, StatementError, statement
from ledger.chain import ChainStore
from node.api.access_check import RowFilter, row_filter
from node.api.context import store
from node.api.openapi import route_parameter
from node.api.payments import xml_response
from node.api.reads import offload
from node.api.responses import HttpError, bad_request, json_response

_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
FORMATS = ("xml", "json")
_STATUS = {
    "NOT_FOUND": 404,
    "HISTORY_ABSENT": 410,
    "STATE_PRUNED": 410,
    "STATEMENT_UNBALANCED": 500,
}


def _params(request: web.Request) -> tuple[str, str, str, int | None, str]:
    org, code, day = (request.match_info[name] for name in ("org", "currency", "date"))
    if not _ORG.match(org):
        raise bad_request("BAD_QUERY", "the bank is malformed")
    if not _CURRENCY.match(code):
        raise bad_request("BAD_QUERY", "the currency must be three capital letters")
    if not _DATE.match(day):
        raise bad_request("BAD_DATE", "the date must be YYYY-MM-DD (a UTC business day)")
    raw = request.query.get("after")
    if raw is not None and (not raw.isdigit() or len(raw) > 19):
        raise bad_request("BAD_CURSOR", "after must be a block height (the previous page's next)")
    form = request.query.get("format", "xml")
    if form not in FORMATS:
        raise bad_request("BAD_QUERY", "format must be xml or json")
    return org, code, day, None if raw is None else int(raw), form


def _read(
    chain: ChainStore, org: str, code: str, day: str, after: int | None, keep: RowFilter
) -> Statement:
    """The statement page, with only the accounts `keep` lets the caller read; with none
    left, the 404 of an unknown bank (never a hint)."""
    try:
        page = statement(chain, org, code, day, after)
    except StatementError as error:
        raise HttpError(_STATUS.get(error.code, 400), error.code, error.message) from None
    if keep.everything:
        return page
    accounts = tuple(a for a in page.accounts if keep({"owner": a.owner, "bank": page.bank}))
    if not accounts:
        raise HttpError(404, "NOT_FOUND", f"no bank {org}")
    return replace(page, accounts=accounts)


def _answer(
    chain: ChainStore,
    params: tuple[str, str, str, int | None, str],
    notes: bool,
    keep: RowFilter,
) -> Any:
    org, code, day, after, form = params
    page = _read(chain, org, code, day, after, keep)
    if form == "json":
        return page.to_json()
    directory = queries.directory(chain)
    if not notes:
        return page, camt053(page, directory)
    try:
        return page, camt054(page, directory)
    except NoMovements as error:
        raise HttpError(409, "NOTHING_TO_EXPORT", str(error)) from None


async def _serve(request: web.Request, notes: bool) -> web.Response:
    params = _params(request)
    answer = await offload(request, _answer, store(request), params, notes, row_filter(request))
    if isinstance(answer, dict):
        return json_response(answer)
    page, body = answer
    kind = "camt054" if notes else "camt053"
    response = xml_response(body, f"{kind}-{page.bank}-{page.currency}-{page.date}.xml")
    if page.next is not None:
        response.headers["Tally-Next-After"] = str(page.next)
    return response


async def get_statement(request: web.Request) -> web.Response:
    return await _serve(request, notes=False)


async def get_notifications(request: web.Request) -> web.Response:
    return await _serve(request, notes=True)


STATEMENT_PATH = "/v1/banks/{org}/statements/{currency}/{date}"
ROUTES: list[web.RouteDef] = [
    web.get(STATEMENT_PATH, get_statement),
    web.get(STATEMENT_PATH + "/notifications", get_notifications),
]


def _param(name: str, where: str, description: str) -> dict[str, Any]:
    return route_parameter(name, where, description, integer=("after",))


_PARAMS = [
    _param("org", "path", "the bank"),
    _param("currency", "path", "ISO 4217 code"),
    _param("date", "path", "the UTC business day, YYYY-MM-DD"),
    _param("after", "query", "continue after this height (the previous page's next)"),
    _param("format", "query", "xml (default) or json"),
]
_XML = {"application/xml": {"schema": {"type": "string"}}}
_ERRORS = {
    "400": {"description": "malformed bank, currency, date or cursor; a day not begun"},
    "404": {"description": "no such bank or currency"},
    "410": {"description": "history below this node's snapshot, or state pruned"},
}

OPENAPI_PATHS: dict[str, Any] = {
    STATEMENT_PATH: {
        "get": {
            "summary": "A bank's camt.053.001.08 statement for a currency and UTC day: its own "
            "account and the customer accounts it services, balances and one entry per movement",
            "parameters": _PARAMS,
            "responses": {
                "200": {"description": "camt.053 document, or its JSON form", "content": _XML},
                **_ERRORS,
            },
        }
    },
    STATEMENT_PATH + "/notifications": {
        "get": {
            "summary": "The same movements as camt.054.001.08 debit/credit notifications",
            "parameters": _PARAMS,
            "responses": {
                "200": {"description": "camt.054 document, or its JSON form", "content": _XML},
                "409": {"description": "nothing moved on the bank's accounts that day"},
                **_ERRORS,
            },
        }
    },
}
