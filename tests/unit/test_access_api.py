"""The read policy of DESIGN.md §9 on the node's API, over a real LevelDB chain the contracts built.

The signature check is not this module's (it stores a verified `Caller` on each request): here a
test-only middleware puts the `Caller` of the organization named in `X-Test-Org` where the check
would, so each request is read as that organization. Everything else is the node's own app.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts import queries
from ledger.crypto import Ed25519Key
from ledger.merkle import root_from_leaf_hashes
from ledger.types import Header
from node.api.access import OPEN_ACCESS
from node.api.access_policy import TABLE
from node.api.app import make_app
from node.api.caller import CALLER_KEY, Caller
from node.api.context import NODE
from node.runtime.outcomes import CommittedNotice
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import document, issue_accepted
from tests.support.solo_node import solo_handle
from tests.support.xborder_chain import pay_args

HOUR_MS = 3_600_000
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _regulator(chain: ContractChain, org: str, jurisdiction: str, scope: dict[str, Any]) -> None:
    """Governance adds regulator `org` and scopes it (3 of the 4 banks approve each)."""
    key = {"public": Ed25519Key.generate().public, "role": "admin"}
    params = {"id": org, "name": org, "kind": "regulator", "jurisdiction": jurisdiction,
              "keys": [key], "kyc_expires": "2099-12-31"}  # fmt: skip
    for action, args in (("add_org", params), ("scope_reader", {"org": org, **scope})):
        proposal = {"action": action, "params": args}
        found = chain.call("bank-a", "registry", "propose", proposal, "admin")["id"]
        for bank in ("bank-b", "bank-c"):
            chain.call(bank, "registry", "approve", {"id": found}, "admin")


def _story(chain: ContractChain) -> dict[str, Any]:
    """acme-steel's invoice to bigauto, split to ore-mining and financed by bank-b; fuel-co's
    invoice to bigauto; payments bigauto -> fuel-co, bigauto -> acme-steel, bigauto ->
    rhein-parts; two scoped regulators."""
    for org in ("bigauto", "bank-b"):
        chain.fund(org, "CNY", 10**9)
    root = issue_accepted(chain)
    split = {"id": root, "to": "ore-mining", "amount": 30_000_000}
    ore = chain.call("acme-steel", "receivables", "transfer", split)["id"]
    terms = {"id": ore, "rate_bps": 600, "expires_ms": chain.now_ms + HOUR_MS}
    offer = chain.call("bank-b", "receivables", "offer_financing", terms)["id"]
    chain.call("ore-mining", "receivables", "accept_financing", {"offer": offer})
    other = issue_accepted(chain, "fuel-co", invoice_no="FC-7")
    ids: dict[str, Any] = {"root": root, "ore": ore, "offer": offer, "other": other}
    for payee in ("fuel-co", "acme-steel", "rhein-parts"):
        args = pay_args(to=payee, currency="CNY", end_to_end_id=f"E2E-{payee}")
        receipt = chain.submit("bigauto", "payments", "send", args)
        ids[payee] = receipt.result["id"]
        ids[f"{payee}-tx"] = receipt.tx.hex()
        ids[f"{payee}-height"] = receipt.height
    lock = {"currency": "CNY", "to": "fuel-co", "amount": 500, "condition": b"\x01" * 32,
            "cancel_ms": chain.now_ms + HOUR_MS}  # fmt: skip
    ids["escrow"] = chain.call("bigauto", "escrow", "create", lock)["id"]
    window = {
        "currency": "USD",
        "participants": ["bank-a", "bank-b"],
        "close_ms": chain.now_ms + HOUR_MS,
    }
    ids["window"] = chain.call("bank-a", "netting", "open", window)["id"]
    _regulator(chain, "cn-reg", "CN", {"orgs": ["fuel-co"]})
    _regulator(chain, "de-reg", "DE", {"jurisdictions": ["DE"]})
    return ids


def _app(chain: ContractChain) -> web.Application:
    """The node's app around the test chain's store and executor (nothing is committed
    through it: the chain commits blocks itself, and a test tells the stream)."""
    store = chain.store
    validator = chain.devnet.validators[0]
    app = make_app(solo_handle(store, chain.executor, chain.genesis, validator), access=OPEN_ACCESS)

    @web.middleware
    async def signed_as(request: web.Request, handler: Handler) -> web.StreamResponse:
        org = request.headers.get("X-Test-Org")
        record = None if org is None else queries.org(store, org)
        if record is not None:
            request[CALLER_KEY] = Caller(org or "", record["kind"], "00" * 32, "operator")
        return await handler(request)

    app.middlewares.insert(0, signed_as)
    return app


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ContractChain, dict[str, Any]]]:
    chain = ContractChain(Path(tmp_path_factory.mktemp("access")) / "db")
    ids = _story(chain)
    yield chain, ids
    chain.close()


def _get(chain: ContractChain, requests: list[tuple[str | None, str]]) -> list[tuple[int, Any]]:
    """Each (org, path) asked as that organization (None: the open API)."""

    async def run() -> list[tuple[int, Any]]:
        async with TestClient(TestServer(_app(chain))) as client:
            answers = []
            for org, path in requests:
                headers = {} if org is None else {"X-Test-Org": org}
                response = await client.get(path, headers=headers)
                text = await response.text()
                is_json = response.content_type == "application/json"
                answers.append((response.status, json.loads(text) if is_json else text))
            return answers

    return asyncio.run(run())


def _statuses(chain: ContractChain, path: str, orgs: list[str | None]) -> dict[str | None, int]:
    answers = _get(chain, [(org, path) for org in orgs])
    return {org: status for org, (status, _) in zip(orgs, answers, strict=True)}


def test_every_route_of_the_app_has_a_row_in_the_table(world: Any) -> None:
    chain, _ = world
    routes = {
        (route.method, route.resource.canonical)
        for route in _app(chain).router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert routes == set(TABLE)


def test_a_payment_is_read_by_its_parties_their_bank_and_auditors_only(world: Any) -> None:
    chain, ids = world
    for path in (f"/v1/payments/{ids['fuel-co']}", f"/v1/payments/{ids['fuel-co']}/iso20022"):
        orgs: list[str | None] = ["bigauto", "fuel-co", "bank-a", "audit-co", "cn-reg", None,
                                  "acme-steel", "bank-c", "de-reg"]  # fmt: skip
        assert _statuses(chain, path, orgs) == {
            "bigauto": 200, "fuel-co": 200, "bank-a": 200, "audit-co": 200, "cn-reg": 200,
            None: 200, "acme-steel": 404, "bank-c": 404, "de-reg": 404,
        }  # fmt: skip


def test_a_head_request_is_read_as_its_get(world: Any) -> None:
    chain, ids = world

    async def run() -> list[int]:
        async with TestClient(TestServer(_app(chain))) as client:
            path = f"/v1/payments/{ids['fuel-co']}"
            statuses = []
            for org in ("acme-steel", "fuel-co"):
                response = await client.head(path, headers={"X-Test-Org": org})
                statuses.append(response.status)
            return statuses

    assert asyncio.run(run()) == [404, 200]


def test_what_a_caller_may_not_read_is_the_same_404_as_a_missing_thing(world: Any) -> None:
    chain, ids = world
    missing = "ab" * 32
    hidden, absent = _get(
        chain,
        [
            ("acme-steel", f"/v1/payments/{ids['fuel-co']}"),
            ("acme-steel", f"/v1/payments/{missing}"),
        ],
    )
    assert (
        hidden == absent == (404, {"error": {"code": "NOT_FOUND", "message": "payment not found"}})
    )
    hidden, absent = _get(
        chain,
        [
            ("acme-steel", f"/v1/receivables/{ids['other']}"),
            ("audit-co", f"/v1/receivables/{missing}"),
        ],
    )
    assert hidden[0] == absent[0] == 404
    assert hidden[1]["error"]["message"] == f"receivable {ids['other']} not found"


def test_balances_are_read_by_their_owner_its_bank_and_auditors(world: Any) -> None:
    chain, _ = world
    orgs: list[str | None] = ["bigauto", "audit-co", "acme-steel", "bank-a"]
    assert _statuses(chain, "/v1/orgs/bigauto", orgs) == {
        "bigauto": 200, "audit-co": 200, "acme-steel": 404, "bank-a": 404,
    }  # fmt: skip
    proof = "/v1/state/proof?key=cash/bal/CNY/bigauto"
    assert _statuses(chain, proof, ["bigauto", "bank-a", "audit-co", "acme-steel", "bank-b"]) == {
        "bigauto": 200, "bank-a": 200, "audit-co": 200, "acme-steel": 404, "bank-b": 404,
    }  # fmt: skip
    ((status, listing),) = _get(chain, [("acme-steel", "/v1/orgs")])
    rows = {row["id"]: row for row in listing["orgs"]}
    assert (
        status == 200
        and "balances" in rows["acme-steel"]
        and rows["bigauto"]["kind"] == "enterprise"
    )
    assert "balances" not in rows["bigauto"] and "kyc_expires" not in rows["bigauto"]


def test_a_receivable_is_read_by_every_party_of_its_family(world: Any) -> None:
    chain, ids = world
    orgs: list[str | None] = ["acme-steel", "bigauto", "ore-mining", "bank-b", "audit-co",
                              "fuel-co", "bank-c", "cn-reg"]  # fmt: skip
    for path in (f"/v1/receivables/{ids['root']}", f"/v1/receivables/{ids['ore']}/trace",
                 f"/v1/receivables/offers/{ids['offer']}"):  # fmt: skip
        assert _statuses(chain, path, orgs) == {
            "acme-steel": 200, "bigauto": 200, "ore-mining": 200, "bank-b": 200, "audit-co": 200,
            "fuel-co": 404, "bank-c": 404, "cn-reg": 404,
        }, path  # fmt: skip
    assert _statuses(chain, f"/v1/receivables/{ids['other']}", ["acme-steel", "cn-reg"]) == {
        "acme-steel": 404, "cn-reg": 200,  # fuel-co's invoice: in cn-reg's scope
    }  # fmt: skip


def test_listings_are_filtered_row_by_row(world: Any) -> None:
    chain, ids = world
    answers = _get(chain, [
        ("acme-steel", "/v1/payments?org=bigauto"),
        (None, "/v1/payments?org=bigauto"),
        ("acme-steel", "/v1/receivables?debtor=bigauto"),
        ("de-reg", "/v1/payments?org=bigauto"),
        ("acme-steel", "/v1/governance/proposals"),
        ("bank-d", "/v1/governance/proposals"),
    ])  # fmt: skip
    (_, mine), (_, everything), (_, invoices), (_, german), (_, proposals), (_, voters) = answers
    assert [p["id"] for p in mine["payments"]] == [ids["acme-steel"]]
    assert len(everything["payments"]) == 3
    assert [r["id"] for r in invoices["items"]] == [ids["root"]]
    assert [p["payee"] for p in german["payments"]] == ["rhein-parts"]
    assert proposals["proposals"] == [] and len(voters["proposals"]) == 4


def test_an_enterprise_reads_only_its_events(world: Any) -> None:
    chain, ids = world
    (_, mine), (_, everything) = _get(
        chain, [("fuel-co", "/v1/events?limit=1000"), (None, "/v1/events?limit=1000")]
    )
    assert 0 < len(mine["events"]) < len(everything["events"])
    assert mine["next"] == everything["next"]  # the page passed what it left out
    types = {record["event"]["type"] for record in mine["events"]}
    assert {"receivable_issued", "receivable_accepted", "payment"} <= types
    for record in mine["events"]:
        event = record["event"]
        if event["type"] == "payment":
            assert event["payee"] == "fuel-co"
        assert event.get("id") not in (ids["root"], ids["ore"], ids["offer"]), event


def test_a_tx_body_is_hidden_from_a_non_party_while_its_id_and_header_stay(world: Any) -> None:
    chain, ids = world
    tx, height = ids["fuel-co-tx"], ids["fuel-co-height"]
    answers = _get(chain, [
        ("acme-steel", f"/v1/txs/{tx}"), ("fuel-co", f"/v1/txs/{tx}"),
        ("acme-steel", f"/v1/txs/{tx}/proof"), ("fuel-co", f"/v1/txs/{tx}/proof"),
        ("acme-steel", f"/v1/blocks/{height}"), ("acme-steel", f"/v1/raw/blocks/{height}"),
        ("fuel-co", f"/v1/raw/blocks/{height}"),
    ])  # fmt: skip
    (hidden, unknown), (shown, found) = answers[0], answers[1]
    assert (hidden, unknown["status"], unknown["tx"]) == (404, "unknown", None)
    assert (shown, found["status"]) == (200, "committed")
    assert [answers[2][0], answers[3][0]] == [404, 200]
    block = answers[4][1]
    assert block["txs"] == [tx] and block["certificate"] is not None
    raw, theirs = answers[5][1], answers[6][1]
    assert raw["txs"] == [None] and raw["receipts"] == [None]
    assert raw["header"] == theirs["header"] and raw["certificate"] == theirs["certificate"]
    header = Header.decode(bytes.fromhex(raw["header"]))
    leaves = [bytes.fromhex(leaf) for leaf in raw["tx_leaves"]]
    assert root_from_leaf_hashes(leaves) == header.txs_root  # the root still recomputes
    assert theirs["txs"][0] is not None and "tx_leaves" not in theirs


def test_a_statement_shows_a_customer_only_its_own_account(world: Any) -> None:
    chain, _ = world
    day = queries.payment(chain.store, _story_payment(world))["date"]  # type: ignore[index]
    path = f"/v1/banks/bank-a/statements/CNY/{day}?format=json"
    (bank, whole), (customer, own), (other, _) = _get(
        chain, [("bank-a", path), ("fuel-co", path), ("bank-c", path)]
    )
    assert bank == customer == 200 and other == 404
    assert [a["owner"] for a in own["accounts"]] == ["fuel-co"]
    assert len(whole["accounts"]) > 2


def _story_payment(world: Any) -> str:
    return str(world[1]["fuel-co"])


def test_the_stream_carries_an_enterprise_only_its_events(world: Any) -> None:
    chain, _ = world

    async def run() -> bytes:
        app = _app(chain)
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/v1/stream", headers={"X-Test-Org": "rhein-parts"})
            assert response.status == 200
            first_seq = chain.store.tip().event_seq + 1
            txs = [chain.tx("bigauto", "payments", "send", pay_args(to=payee, currency="CNY",
                                                                    end_to_end_id=f"S-{payee}"))
                   for payee in ("fuel-co", "rhein-parts")]  # fmt: skip
            receipts = chain.commit(txs)
            height = receipts[0].height
            block, certificate = chain.store.block(height), chain.store.certificate(height)
            assert block is not None and certificate is not None
            notice = CommittedNotice(block, block.hash, certificate, receipts, first_seq)
            app[NODE].driver.outcomes.committed(notice)
            app[NODE].driver.outcomes.close()
            return await response.content.read()

    lines = asyncio.run(run()).decode()
    assert "event: block" in lines
    assert '"rhein-parts"' in lines and '"fuel-co"' not in lines


def test_a_document_is_read_by_the_invoice_parties_and_grantees_only(world: Any) -> None:
    chain, _ = world
    path = f"/v1/documents/{document('INV-1001').hex()}/access"
    orgs: list[str | None] = ["acme-steel", "bigauto", "ore-mining", "audit-co", "fuel-co", None]
    assert _statuses(chain, path, orgs) == {
        "acme-steel": 200, "bigauto": 200, None: 200,
        "ore-mining": 404, "audit-co": 404, "fuel-co": 404,  # no grant: share_document first
    }  # fmt: skip


def test_only_the_creditor_uploads_a_document_and_a_non_reader_learns_nothing(world: Any) -> None:
    chain, _ = world

    async def run() -> list[tuple[int, Any]]:
        async with TestClient(TestServer(_app(chain))) as client:
            path = f"/v1/documents/{document('INV-1001').hex()}"
            answers = []
            for org in ("bigauto", "fuel-co"):
                response = await client.put(path, json={}, headers={"X-Test-Org": org})
                answers.append((response.status, (await response.json())["error"]["code"]))
            return answers

    assert asyncio.run(run()) == [(403, "NOT_ENTITLED"), (404, "NOT_FOUND")]


def test_escrows_and_netting_windows_are_read_by_those_taking_part(world: Any) -> None:
    chain, ids = world
    escrow = f"/v1/escrows/{ids['escrow']}"
    assert _statuses(chain, escrow, ["bigauto", "fuel-co", "bank-a", "acme-steel", "cn-reg"]) == {
        "bigauto": 200, "fuel-co": 200, "bank-a": 200, "acme-steel": 404, "cn-reg": 200,
    }  # fmt: skip
    window = f"/v1/netting/{ids['window']}"
    assert _statuses(chain, window, ["bank-a", "bank-b", "bank-c", "bigauto", "audit-co"]) == {
        "bank-a": 200, "bank-b": 200, "bank-c": 404, "bigauto": 404, "audit-co": 200,
    }  # fmt: skip
    (_, theirs), (_, mine) = _get(
        chain, [("acme-steel", "/v1/escrows?org=bigauto"), ("fuel-co", "/v1/escrows?org=bigauto")]
    )
    assert theirs["escrows"] == [] and [e["id"] for e in mine["escrows"]] == [ids["escrow"]]
