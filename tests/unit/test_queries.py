"""The read models of contracts/queries.py answer exactly what the HTTP API serves today.

One chain (the fixed story of tests/support/recorded_story.py plus quotes and proposals) is
served by the real route modules; for each route, the answer composed from the queries, as a
handler would compose it, must be the same JSON text (or XML bytes) the route sends. When the
API moves onto the queries, these tests keep holding it to the same answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts import queries
from contracts import receivables_queries as rq
from contracts.exports.iso20022 import pacs008, pacs009_netting, uetr
from contracts.statements import statement_banks
from node.api import orgs, payments, receivables
from node.api.context import NODE, STORE, NodeHandle
from tests.support.recorded_story import ReplayableChain, run_story
from tests.support.xborder_chain import HOUR_MS

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Served:
    chain: ReplayableChain
    ids: dict[str, str]
    answers: dict[str, tuple[int, bytes]]  # path -> (status, body)


def _more_state(chain: ReplayableChain) -> dict[str, str]:
    """Quotes still open at the tip, and proposals open, passed and expired."""
    ids = {}
    for dealer, rate in (("bank-b", 91_000_000), ("bank-c", 93_000_000)):
        args = {
            "base": "USD",
            "quote": "EUR",
            "rate": rate,
            "max_base": 10**6,
            "expires_ms": chain.now_ms + 30 * DAY_MS,
        }
        ids[f"quote_{dealer}"] = chain.call(dealer, "fx", "quote", args)["id"]
    kyc = {"action": "set_kyc", "params": {"org": "fuel-co", "kyc_expires": "2030-01-01"}}
    ids["proposal_expired"] = chain.call(
        "bank-a", "registry", "propose", {**kyc, "ttl_ms": 60_000}, "admin"
    )["id"]
    chain.advance_time(ms=HOUR_MS)
    ids["proposal_passed"] = chain.call("bank-a", "registry", "propose", kyc, "admin")["id"]
    for bank in ("bank-b", "bank-c"):
        chain.call(bank, "registry", "approve", {"id": ids["proposal_passed"]}, "admin")
    ids["proposal_open"] = chain.call("bank-d", "registry", "propose", kyc, "admin")["id"]
    return ids


def paths(ids: dict[str, str], cursor: str) -> list[str]:
    """Every read route, with arguments that reach each branch of its read model."""
    return [
        *(f"/v1/receivables/{ids[n]}" for n in ("root", "ore", "fuel", "rejected")),
        *(f"/v1/receivables/{ids[n]}/trace" for n in ("root", "fuel", "rejected")),
        *(f"/v1/receivables/offers/{ids[n]}" for n in ("offer", "open_offer")),
        "/v1/receivables?holder=bank-a",
        "/v1/receivables?holder=rhein-parts",
        "/v1/receivables?debtor=bigauto",
        "/v1/receivables?creditor=acme-steel&limit=1",
        f"/v1/receivables?creditor=acme-steel&limit=1&after={ids['root']}",
        "/v1/receivables?invoice=INV-1001",
        "/v1/receivables?invoice=INV/2&creditor=acme-steel",
        "/v1/receivables?invoice=INV/2&creditor=acme-steel&debtor=bigauto",
        "/v1/receivables?invoice=INV-1001&debtor=ore-mining",
        "/v1/payments?org=acme-steel",
        "/v1/payments?org=acme-steel&limit=1",
        f"/v1/payments?org=acme-steel&limit=1&cursor={cursor}",
        "/v1/payments?org=bank-b&role=dealer",
        "/v1/payments?org=rhein-parts&role=sent",
        *(f"/v1/payments/{ids[n]}" for n in ("send", "fx")),
        *(f"/v1/payments/{ids[n]}/iso20022" for n in ("send", "fx")),
        "/v1/fx/quotes",
        "/v1/fx/quotes?base=USD&dealer=bank-c",
        "/v1/fx/quotes?quote=JPY",
        *(f"/v1/fx/quotes/{ids[n]}" for n in ("quote", "quote_bank-b")),
        *(f"/v1/netting/{ids[n]}" for n in ("settled", "open")),
        f"/v1/netting/{ids['settled']}?limit=1",
        f"/v1/netting/{ids['settled']}?limit=0",
        f"/v1/netting/{ids['settled']}/iso20022",
        "/v1/governance/proposals",
        *(f"/v1/governance/proposals?status={s}" for s in ("open", "passed")),
        "/v1/governance/proposals?limit=1",
        f"/v1/governance/proposals/{ids['proposal_passed']}",
        "/v1/orgs",
        "/v1/orgs?after=bank-b&limit=2",
        "/v1/orgs/acme-steel",
        "/v1/orgs/bank-b",
        "/v1/currencies",
    ]


def serve(chain: ReplayableChain, targets: list[str]) -> dict[str, tuple[int, bytes]]:
    async def run() -> dict[str, tuple[int, bytes]]:
        app = web.Application()
        app[STORE] = chain.store
        app[NODE] = NodeHandle("v0", chain.genesis, None, None, dict)  # type: ignore[arg-type]
        for module in (orgs, payments, receivables):
            app.add_routes(module.ROUTES)
        async with TestClient(TestServer(app)) as client:
            answers = {}
            for path in targets:
                response = await client.get(path)
                answers[path] = (response.status, await response.read())
            return answers

    return asyncio.run(run())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    chain = ReplayableChain(tmp_path_factory.mktemp("queries") / "db")
    ids = {**run_story(chain), **_more_state(chain)}
    newest = queries.payments_of(chain.store, "acme-steel", None, None, 1).next
    assert newest is not None
    try:
        yield Served(chain, ids, serve(chain, paths(ids, newest)))
    finally:
        chain.close()


def as_served(value: Any) -> bytes:
    """The JSON text node/api/responses.py's json_response writes for `value`."""

    def hexed(item: Any) -> Any:
        if isinstance(item, bytes):
            return item.hex()
        raise TypeError(type(item).__name__)

    return json.dumps(value, separators=(",", ":"), default=hexed).encode()


def payment_json(record: dict[str, Any]) -> dict[str, Any]:
    links = {"iso20022": f"/v1/payments/{record['id']}/iso20022"}
    if record["kind"] == "fx":
        links["pacs009"] = f"/v1/payments/{record['id']}/pacs009"
    return {**record, "uetr": uetr(record["id"]), **links}


def one_payment_json(state: Any, record: dict[str, Any]) -> dict[str, Any]:
    """A payment as `GET /v1/payments/{id}` shows it: with the statements its legs are on."""
    banks = statement_banks(queries.directory(state), record)
    shown = [
        {"bank": bank, "currency": code,
         "camt053": f"/v1/banks/{bank}/statements/{code}/{record['date']}"}
        for bank, code in banks
    ]  # fmt: skip
    return {**payment_json(record), "statements": shown}


def expected(served: Served, path: str) -> bytes:
    """What a handler built on the queries answers for `path`."""
    state, genesis = served.chain.store, served.chain.genesis
    route, _, query_text = path.partition("?")
    query = dict(part.split("=", 1) for part in query_text.split("&") if part)
    parts = route.strip("/").split("/")[1:]
    limit = int(query.get("limit", 0)) or None
    if parts[0] == "receivables":
        if parts[1:2] == ["offers"]:
            return as_served(rq.offer(state, parts[2]))
        if len(parts) == 3:
            return as_served(rq.trace(state, parts[1]))
        if len(parts) == 2:
            return as_served(rq.piece_view(state, parts[1]))
        creditor, debtor = query.get("creditor"), query.get("debtor")
        if "invoice" in query:
            return as_served(rq.receivables_numbered(state, query["invoice"], creditor, debtor))
        index = next(name for name in ("holder", "debtor", "creditor") if name in query)
        page = rq.receivables_page(state, index, query[index], query.get("after"), limit or 50)
        return as_served(page)
    if parts[0] == "payments":
        if len(parts) == 3:
            record = queries.payment(state, parts[1])
            assert record is not None
            return pacs008(record, queries.directory(state))
        if len(parts) == 2:
            return as_served(one_payment_json(state, queries.payment(state, parts[1]) or {}))
        org_id = query["org"]
        page = queries.payments_of(
            state, org_id, query.get("role"), query.get("cursor"), limit or 50
        )
        rows = [{**payment_json(e.record), "roles": e.roles} for e in page.entries]
        return as_served({"org": org_id, "payments": rows, "next": page.next})
    if parts[0] == "fx":
        if len(parts) == 3:
            return as_served(queries.quote(state, parts[2]))
        now = state.tip().time_ms
        found = queries.open_quotes(
            state, now, query.get("base"), query.get("quote"), query.get("dealer")
        )
        return as_served({"time_ms": now, "quotes": found})
    if parts[0] == "netting":
        if len(parts) == 3:
            window = queries.window(state, parts[1])
            assert window is not None
            return pacs009_netting(window, queries.directory(state))
        return as_served(queries.window_view(state, parts[1], int(query.get("limit", 500))))
    if parts[0] == "governance":
        if len(parts) == 3:
            return as_served(queries.proposal(state, parts[2]))
        now = state.tip().time_ms
        return as_served(
            {"proposals": queries.proposals(state, now, query.get("status"), limit or 100)}
        )
    if parts[0] == "currencies":
        return as_served({"currencies": queries.currencies(state)})
    codes = [currency.code for currency in genesis.currencies]

    def org_json(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "balances": queries.balances_of(state, record["id"], codes)}

    if len(parts) == 2:
        return as_served(org_json(queries.org(state, parts[1]) or {}))
    found_orgs = [org_json(r) for r in queries.orgs(state, query.get("after"), limit or 100)]
    following = found_orgs[-1]["id"] if len(found_orgs) == (limit or 100) else None
    return as_served({"orgs": found_orgs, "next": following})


def test_every_read_route_answers_what_the_queries_give(served: Served) -> None:
    differing = []
    for path, (status, body) in served.answers.items():
        assert status == 200, (path, body[:200])
        if body != expected(served, path):
            differing.append(path)
    assert differing == []


def test_the_routes_answer_something_to_compare(served: Served) -> None:
    """Guard against comparing empty answers: the listings above have rows."""
    state = served.chain.store
    assert len(rq.receivables_page(state, "creditor", "acme-steel", None, 50)["items"]) == 2
    assert rq.receivables_page(state, "holder", "bank-a", None, 50)["items"]
    assert len(queries.payments_of(state, "acme-steel", None, None, 50).entries) == 2
    assert len(queries.open_quotes(state, state.tip().time_ms, None, None, None)) == 2
    statuses = {p["status"] for p in queries.proposals(state, state.tip().time_ms, None, 10)}
    assert statuses == {"open", "passed", "expired"}
    assert len(queries.obligations(state, served.ids["settled"], 10)) == 2


def test_payment_pages_continue_without_gaps_or_repeats(served: Served) -> None:
    state = served.chain.store
    seen, cursor = [], None
    while True:
        page = queries.payments_of(state, "bank-b", None, cursor, 1)
        seen += [entry.record["id"] for entry in page.entries]
        if page.next is None:
            break
        cursor = page.next
    everything = queries.payments_of(state, "bank-b", None, None, 50).entries
    assert seen == [entry.record["id"] for entry in everything]


def test_receivable_pages_continue_without_gaps_or_repeats(served: Served) -> None:
    state = served.chain.store
    seen, after = [], None
    while True:
        page = rq.receivables_page(state, "creditor", "acme-steel", after, 1)
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    everything = rq.receivables_page(state, "creditor", "acme-steel", None, 50)["items"]
    assert seen == [item["id"] for item in everything] and len(seen) == 2


def test_a_receivables_page_of_an_unknown_index_is_refused(served: Served) -> None:
    with pytest.raises(ValueError):
        rq.receivables_page(served.chain.store, "offers", "bank-a", None, 10)
