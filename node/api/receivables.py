"""Read routes for receivables: one piece, an invoice's whole family tree, and listings.

Everything is read from the contract's records and indexes (contracts/receivables_state.py):
the trace needs no event scan because each piece carries its own history with tx ids, and
listings walk an index from a cursor, so a page costs the same however long the chain is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from contracts.receivables_state import escape
from ledger.chain import P_STATE, ChainStore
from node.api.context import state_or_404, store
from node.api.params import hex_id, query_int
from node.api.responses import bad_request, json_response, not_found

MAX_LIMIT = 200
_ORG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
SUMMARY_FIELDS = (
    "id", "root", "parent", "invoice_no", "creditor", "debtor", "currency", "face", "amount",
    "holder", "status", "due_date", "financed_by",
)  # fmt: skip
HOLDER_ACTIONS = ("issue", "split_from", "transfer", "finance")


def _check_id(raw: str, what: str = "receivable") -> str:
    return hex_id(raw, what)


def _check_org(raw: str, name: str) -> str:
    if not _ORG.match(raw):
        raise bad_request("BAD_QUERY", f"{name} must be an organization id")
    return raw


def _keys_after(chain: ChainStore, prefix: str, after: str | None) -> Iterator[str]:
    """State keys under `prefix`, strictly after `prefix + after`, in key order."""
    base = P_STATE + prefix.encode()
    start = None if after is None else base + after.encode() + b"\x00"
    for key, _ in chain.kv.iterate(base, start=start):
        yield key[len(base) :].decode()


def piece_record(chain: ChainStore, piece_id: str) -> dict[str, Any] | None:
    record = chain.state("rcv/piece/" + piece_id)
    return None if record is None else dict(record)


def offers_of(chain: ChainStore, piece_id: str) -> list[dict[str, Any]]:
    offers = []
    for offer_id in _keys_after(chain, f"rcv/offers/{piece_id}/", None):
        offer = chain.state("rcv/offer/" + offer_id)
        if offer is not None:
            offers.append(dict(offer))
    return offers


def piece_view(chain: ChainStore, piece_id: str) -> dict[str, Any] | None:
    """A piece with its offers: what `GET /v1/receivables/{id}` answers."""
    record = piece_record(chain, piece_id)
    if record is None:
        return None
    return {**record, "offers": offers_of(chain, piece_id)}


def holder_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps at which a piece got a (new) holder, with the tx behind each."""
    return [
        {"holder": e["holder"], "action": e["action"], "tx": e["tx"], "height": e["height"]}
        for e in history
        if e["action"] in HOLDER_ACTIONS
    ]


def trace_view(chain: ChainStore, piece_id: str) -> dict[str, Any] | None:
    """The invoice family of `piece_id`, root first (depth first), and every tx that shaped it."""
    start = piece_record(chain, piece_id)
    if start is None:
        return None
    root = piece_record(chain, start["root"])
    if root is None:
        return None
    pieces: list[dict[str, Any]] = []
    stack: list[tuple[dict[str, Any], int]] = [(root, 0)]
    while stack:
        record, depth = stack.pop()
        offers = offers_of(chain, record["id"])
        pieces.append(
            {
                **{name: record[name] for name in SUMMARY_FIELDS},
                "depth": depth,
                "children": list(record["children"]),
                "financing": record["financing"],
                "holders": holder_history(record["history"]),
                "history": list(record["history"]),
                "offers": offers,
                "txs": sorted({e["tx"] for e in record["history"]} | {o["tx"] for o in offers}),
            }
        )
        for child in reversed(record["children"]):
            child_record = piece_record(chain, child)
            if child_record is not None:
                stack.append((child_record, depth + 1))
    steps = [
        {"tx": e["tx"], "height": e["height"], "piece": p["id"], "action": e["action"]}
        for p in pieces
        for e in p["history"]
    ] + [
        {"tx": o["tx"], "height": o["height"], "piece": p["id"], "action": "offer"}
        for p in pieces
        for o in p["offers"]
    ]
    steps.sort(key=lambda s: s["height"])  # stable: a parent's entry precedes its child's
    settled = sum(p["amount"] for p in pieces if p["status"] == "settled")
    return {
        "root": root["id"],
        "invoice_no": root["invoice_no"],
        "creditor": root["creditor"],
        "debtor": root["debtor"],
        "currency": root["currency"],
        "face": root["face"],
        "issue_date": root["issue_date"],
        "due_date": root["due_date"],
        "doc_hash": root["doc_hash"],
        "status": root["status"],
        "totals": {
            "face": root["face"],
            "pieces": sum(p["amount"] for p in pieces),
            "settled": settled,
            "outstanding": sum(p["amount"] for p in pieces) - settled,
        },
        "pieces": pieces,
        "steps": steps,
    }


def find_invoices(
    chain: ChainStore, invoice_no: str, creditor: str | None, debtor: str | None
) -> list[str]:
    """Root ids of invoices numbered `invoice_no`, optionally of one creditor and/or debtor."""
    prefix = f"rcv/invno/{escape(invoice_no)}/"
    if creditor is not None:
        prefix += creditor + "/"
        if debtor is not None:
            prefix += debtor
    roots = []
    for key, root in chain.state_items(prefix):
        party_creditor, party_debtor = key.rsplit("/", 2)[-2:]
        if (debtor is None or party_debtor == debtor) and (
            creditor is None or party_creditor == creditor
        ):
            roots.append(str(root))
    return roots


def list_view(chain: ChainStore, index: str, org: str, after: str | None, limit: int) -> Any:
    """One page of the pieces in index `holder`/`debtor`/`creditor` of `org`, by id."""
    items = []
    for piece_id in _keys_after(chain, f"rcv/{index}/{org}/", after):
        record = piece_record(chain, piece_id)
        if record is not None:
            items.append({name: record[name] for name in SUMMARY_FIELDS})
        if len(items) >= limit:
            break
    next_cursor = items[-1]["id"] if len(items) >= limit else None
    return {"items": items, "next": next_cursor}


# -- handlers --------------------------------------------------------------------------------


async def get_receivable(request: web.Request) -> web.Response:
    piece_id = _check_id(request.match_info["id"])
    answer = piece_view(store(request), piece_id)
    if answer is None:
        raise not_found(f"receivable {piece_id}")
    return json_response(answer)


async def get_trace(request: web.Request) -> web.Response:
    piece_id = _check_id(request.match_info["id"])
    answer = trace_view(store(request), piece_id)
    if answer is None:
        raise not_found(f"receivable {piece_id}")
    return json_response(answer)


async def get_offer(request: web.Request) -> web.Response:
    offer_id = _check_id(request.match_info["id"], "financing offer")
    offer = state_or_404(store(request), "rcv/offer/" + offer_id, f"financing offer {offer_id}")
    return json_response(offer)


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
        roots = find_invoices(chain, invoice_no, creditor, debtor)
        items = [piece_record(chain, root) for root in roots]
        summaries = [{n: r[n] for n in SUMMARY_FIELDS} for r in items if r is not None]
        return json_response({"items": summaries, "next": None})
    given = [(name, query[name]) for name in ("holder", "debtor", "creditor") if name in query]
    if len(given) != 1:
        raise bad_request("BAD_QUERY", "give exactly one of holder, debtor, creditor or invoice")
    index, org = given[0]
    _check_org(org, index)
    after = _check_id(query["after"], "cursor") if query.get("after") else None
    limit = query_int(request, "limit", 50, 1, MAX_LIMIT)
    return json_response(list_view(chain, index, org, after, limit))


ROUTES: list[web.RouteDef] = [
    web.get("/v1/receivables", list_receivables),
    web.get("/v1/receivables/offers/{id}", get_offer),
    web.get("/v1/receivables/{id}", get_receivable),
    web.get("/v1/receivables/{id}/trace", get_trace),
]


def _param(name: str, where: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": {"type": "integer" if name == "limit" else "string"},
    }


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
            "summary": "One piece: invoice data, holder, amount, status, history, offers",
            "parameters": [_ID_PARAM],
            "responses": {"200": {"description": "the piece"}, **_ERRORS},
        }
    },
    "/v1/receivables/{id}/trace": {
        "get": {
            "summary": "The invoice's family tree with the transaction behind every step",
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
