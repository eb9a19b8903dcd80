"""HTTP routes for cross-border payments, FX quotes, netting windows and governance proposals.

The answers are the read models of contracts/queries.py, which know the contracts' keys; this
module parses the request and renders. Payment lists page newest first by an opaque cursor (the
index key of the last row returned), so a page costs the same however long the history is.
Answers that read more than one record are built on a read thread (node/api/reads.py).
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from aiohttp import web

from contracts import queries
from contracts.exports.iso20022 import pacs008, pacs009_netting, uetr
from contracts.exports.pacs009 import NoCover, pacs009_cover
from contracts.payment_index import UetrIndex
from contracts.statements import statement_banks
from ledger.chain import ChainStore
from node.api.access_check import read_listing
from node.api.context import store
from node.api.openapi import route_parameter as _p
from node.api.params import hex_id, query_int
from node.api.reads import offload
from node.api.responses import HttpError, bad_request, json_response, not_found

MAX_LIMIT = 200
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CURSOR = re.compile(r"^[0-9]{16}/[0-9a-f]{64}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UETR = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
ROLES = ("sent", "received", "dealer")


def _id(request: web.Request, what: str) -> str:
    return hex_id(request.match_info["id"], what)


def _query(request: web.Request, name: str, pattern: re.Pattern[str]) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not pattern.match(raw):
        raise bad_request("BAD_QUERY", f"{name} is malformed")
    return raw


def _found(record: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if record is None:
        raise not_found(what)
    return record


def payment_view(record: dict[str, Any]) -> dict[str, Any]:
    """A payment as stored, with its UETR (derived from its id, never stored) and its exports:
    pacs.008, and for a PvP payment the pacs.009 COV of its cover leg."""
    payment_id = record["id"]
    view = {**record, "uetr": uetr(payment_id), "iso20022": f"/v1/payments/{payment_id}/iso20022"}
    if record.get("kind") == "fx":
        view["pacs009"] = f"/v1/payments/{payment_id}/pacs009"
    return view


def xml_response(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="application/xml",
        charset="utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


# -- payments --------------------------------------------------------------------------------


def _payments_answer(
    chain: ChainStore, org: str, role: str | None, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = queries.payments_of(chain, org, role, cursor, limit)
    rows = [{**payment_view(entry.record), "roles": entry.roles} for entry in page.entries]
    return {"org": org, "payments": rows, "next": page.next}


_INDEXES: weakref.WeakKeyDictionary[ChainStore, UetrIndex] = weakref.WeakKeyDictionary()


def _by_uetr(chain: ChainStore, value: str) -> dict[str, Any]:
    """`?uetr=`: the one payment with that UETR, as a list of it (or none)."""
    index = _INDEXES.setdefault(chain, UetrIndex())
    payment_id = index.find(chain, value)
    record = None if payment_id is None else queries.payment(chain, payment_id)
    rows = [] if record is None else [payment_view(record)]
    return {"uetr": value.lower(), "payments": rows, "next": None}


async def list_payments(request: web.Request) -> web.Response:
    found = _query(request, "uetr", _UETR)
    if found is not None:
        answer = await read_listing(request, "payments", _by_uetr, store(request), found)
        return json_response(answer)
    org = _query(request, "org", _ORG)
    if org is None:
        raise bad_request("BAD_QUERY", "say whose payments: ?org=ORG, or which: ?uetr=UETR")
    role = request.query.get("role")
    if role is not None and role not in ROLES:
        raise bad_request("BAD_QUERY", f"role must be one of {', '.join(ROLES)}")
    cursor = _query(request, "cursor", _CURSOR)
    limit = query_int(request, "limit", 50, 1, MAX_LIMIT)
    chain = store(request)
    listed = _payments_answer
    answer = await read_listing(request, "payments", listed, chain, org, role, cursor, limit)
    return json_response(answer)


def _payment_answer(chain: ChainStore, payment_id: str) -> dict[str, Any]:
    """A payment with the statements (camt.053) of the banks whose accounts its legs moved."""
    record = _found(queries.payment(chain, payment_id), "payment")
    banks = statement_banks(queries.directory(chain), record)
    date = record["date"]
    return {
        **payment_view(record),
        "statements": [
            {"bank": bank, "currency": code, "camt053": statement_path(bank, code, date)}
            for bank, code in banks
        ],
    }


async def get_payment(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    return json_response(await offload(request, _payment_answer, store(request), payment_id))


def statement_path(bank: str, code: str, date: str) -> str:
    return f"/v1/banks/{bank}/statements/{code}/{date}"


def _pacs008(chain: ChainStore, payment_id: str) -> bytes:
    record = _found(queries.payment(chain, payment_id), "payment")
    return pacs008(record, queries.directory(chain))


async def get_payment_iso(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    body = await offload(request, _pacs008, store(request), payment_id)
    return xml_response(body, f"pacs008-{payment_id[:16]}.xml")


def _cover(chain: ChainStore, payment_id: str) -> bytes:
    record = _found(queries.payment(chain, payment_id), "payment")
    try:
        return pacs009_cover(record, queries.directory(chain))
    except NoCover as error:
        raise HttpError(409, "NOTHING_TO_EXPORT", str(error)) from None


async def get_payment_cover(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    body = await offload(request, _cover, store(request), payment_id)
    return xml_response(body, f"pacs009-cov-{payment_id[:16]}.xml")


# -- FX quotes -------------------------------------------------------------------------------


async def list_quotes(request: web.Request) -> web.Response:
    """Open quotes: not withdrawn, not exhausted, not expired at the committed tip's time."""
    chain = store(request)
    base = _query(request, "base", _CURRENCY)
    quote = _query(request, "quote", _CURRENCY)
    dealer = _query(request, "dealer", _ORG)
    now = chain.tip().time_ms
    quotes = await offload(request, queries.open_quotes, chain, now, base, quote, dealer)
    return json_response({"time_ms": now, "quotes": quotes})


async def get_quote(request: web.Request) -> web.Response:
    return json_response(_found(queries.quote(store(request), _id(request, "quote")), "quote"))


# -- netting ---------------------------------------------------------------------------------


async def get_window(request: web.Request) -> web.Response:
    window_id = _id(request, "window")
    limit = query_int(request, "limit", 500, 0, 5000)
    view = await offload(request, queries.window_view, store(request), window_id, limit)
    return json_response(_found(view, "netting window"))


def _pacs009(chain: ChainStore, window_id: str) -> bytes:
    record = _found(queries.window(chain, window_id), "netting window")
    try:
        return pacs009_netting(record, queries.directory(chain))
    except ValueError as error:
        raise HttpError(409, "NOTHING_TO_EXPORT", str(error)) from None


async def get_window_iso(request: web.Request) -> web.Response:
    window_id = _id(request, "window")
    body = await offload(request, _pacs009, store(request), window_id)
    return xml_response(body, f"pacs009-{window_id[:16]}.xml")


# -- governance ------------------------------------------------------------------------------


def _proposals(chain: ChainStore, now: int, status: str | None, limit: int) -> dict[str, Any]:
    return {"proposals": queries.proposals(chain, now, status, limit)}


async def list_proposals(request: web.Request) -> web.Response:
    chain = store(request)
    status = request.query.get("status")
    if status is not None and status not in ("open", "passed"):
        raise bad_request("BAD_QUERY", "status must be open or passed")
    limit = query_int(request, "limit", 100, 1, 1000)
    now = chain.tip().time_ms
    answer = await read_listing(request, "proposals", _proposals, chain, now, status, limit)
    return json_response(answer)


async def get_proposal(request: web.Request) -> web.Response:
    record = queries.proposal(store(request), _id(request, "proposal"))
    return json_response(_found(record, "proposal"))


ROUTES: list[web.RouteDef] = [
    web.get("/v1/payments", list_payments),
    web.get("/v1/payments/{id}", get_payment),
    web.get("/v1/payments/{id}/iso20022", get_payment_iso),
    web.get("/v1/payments/{id}/pacs009", get_payment_cover),
    web.get("/v1/fx/quotes", list_quotes),
    web.get("/v1/fx/quotes/{id}", get_quote),
    web.get("/v1/netting/{id}", get_window),
    web.get("/v1/netting/{id}/iso20022", get_window_iso),
    web.get("/v1/governance/proposals", list_proposals),
    web.get("/v1/governance/proposals/{id}", get_proposal),
]


_ID = _p("id", "path", "64 lowercase hex characters")
_XML = {"application/xml": {"schema": {"type": "string"}}}
_ERR = {"400": {"description": "malformed id or query"}, "404": {"description": "unknown id"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1/payments": {
        "get": {
            "summary": "An organization's payments, newest first, paged by cursor; or the one "
            "payment with a UETR",
            "parameters": [
                _p("org", "query", "organization id (required unless uetr is given)"),
                _p("uetr", "query", "a UETR (UUID v4): answers that payment alone, or none"),
                _p("role", "query", "sent, received or dealer"),
                _p("cursor", "query", "`next` of the previous page"),
                _p("limit", "query", f"page size, at most {MAX_LIMIT}"),
            ],
            "responses": {
                "200": {"description": "{org, payments, next} or {uetr, payments}"},
                **_ERR,
            },
        }
    },
    "/v1/payments/{id}": {
        "get": {
            "summary": "A payment: parties, legs, rate and quote, ISO fields, UETR, tx and "
            "height, and the camt.053 statements its legs appear on",
            "parameters": [_ID],
            "responses": {"200": {"description": "the payment record"}, **_ERR},
        }
    },
    "/v1/payments/{id}/iso20022": {
        "get": {
            "summary": "The payment as ISO 20022 pacs.008.001.09 XML",
            "parameters": [_ID],
            "responses": {"200": {"description": "pacs.008 document", "content": _XML}, **_ERR},
        }
    },
    "/v1/payments/{id}/pacs009": {
        "get": {
            "summary": "A PvP payment's cover leg as ISO 20022 pacs.009.001.09 COV XML",
            "parameters": [_ID],
            "responses": {
                "200": {"description": "pacs.009 COV document", "content": _XML},
                "409": {"description": "a same-currency payment: no cover leg"},
                **_ERR,
            },
        }
    },
    "/v1/fx/quotes": {
        "get": {
            "summary": "Open FX quotes (not withdrawn, exhausted or expired at the tip)",
            "parameters": [
                _p("base", "query", "base currency"),
                _p("quote", "query", "quote currency"),
                _p("dealer", "query", "dealer bank"),
            ],
            "responses": {"200": {"description": "{time_ms, quotes}"}, **_ERR},
        }
    },
    "/v1/fx/quotes/{id}": {
        "get": {
            "summary": "One FX quote, whatever its status",
            "parameters": [_ID],
            "responses": {"200": {"description": "the quote"}, **_ERR},
        }
    },
    "/v1/netting/{id}": {
        "get": {
            "summary": "A netting window: participants, positions, obligations, settlement",
            "parameters": [_ID, _p("limit", "query", "obligations to include, at most 5000")],
            "responses": {"200": {"description": "the window"}, **_ERR},
        }
    },
    "/v1/netting/{id}/iso20022": {
        "get": {
            "summary": "A settled window's net transfers as ISO 20022 pacs.009.001.09 XML",
            "parameters": [_ID],
            "responses": {
                "200": {"description": "pacs.009 document", "content": _XML},
                "409": {"description": "not settled, or nothing moved"},
                **_ERR,
            },
        }
    },
    "/v1/governance/proposals": {
        "get": {
            "summary": "Registry proposals, newest first",
            "parameters": [_p("status", "query", "open or passed"), _p("limit", "query", "")],
            "responses": {"200": {"description": "{proposals}"}, **_ERR},
        }
    },
    "/v1/governance/proposals/{id}": {
        "get": {
            "summary": "One proposal with its approvals",
            "parameters": [_ID],
            "responses": {"200": {"description": "the proposal"}, **_ERR},
        }
    },
}
