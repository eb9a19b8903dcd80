"""The explorer's state badges (issue 13): an organization's balances and a receivable piece are
shown as true only once their state proofs verify here against the trusted genesis.

The node is a fake aiohttp app in this process, but what it serves as proofs is real: a
`StateTree` over a MemoryStore, its proofs, a header over its root, and a BLS certificate by the
devnet's validators. Lies are made the way a lying node would make them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import unescape
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from explorer import state_view
from explorer.app import make_app
from explorer.reader import NodeReader
from ledger import codec
from ledger.crypto import bls
from ledger.genesis import Genesis, genesis_from_value
from ledger.smt_store import StateTree, encode_writes
from ledger.store import MemoryStore
from ledger.types import Certificate, Header, commit_digest, signer_bitmap
from node.ops.devnet import make_devnet

DEVNET = make_devnet(4, seed=b"explorer-state-tests")
GENESIS: Genesis = genesis_from_value(DEVNET.genesis)
HEIGHT = 9
PIECE = "ab" * 32
PIECE_RECORD = {
    "id": PIECE, "invoice_no": "INV-7", "creditor": "acme-steel", "debtor": "bigauto",
    "currency": "CNY", "face": 500_000, "amount": 500_000, "holder": "bank-b",
    "status": "financed", "issue_date": "2026-01-01", "due_date": "2026-06-30",
}  # fmt: skip
STATE: dict[str, Any] = {
    "cash/bal/CNY/bigauto": 123_456,
    "cash/bal/EUR/bigauto": 700,
    "rcv/piece/" + PIECE: PIECE_RECORD,
}


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _hex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex(v) for v in value]
    return value


def _tree() -> StateTree:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(HEIGHT, encode_writes(STATE)))
    return tree


TREE = _tree()


def proof_answer(key: str, signers: tuple[int, ...] = (0, 1, 3)) -> dict[str, Any]:
    """What an honest node answers to GET /v1/state/proof?key=K&height=HEIGHT."""
    header = Header(
        chain=GENESIS.chain, height=HEIGHT, prev=b"\x01" * 32, time_ms=1_767_225_600_000,
        proposer=GENESIS.validators[0].ed25519, view=0, txs_root=b"\x03" * 32,
        receipts_root=b"\x04" * 32, state_root=TREE.root(HEIGHT),
        validators_hash=GENESIS.validators_hash(),
    )  # fmt: skip
    digest = commit_digest(header.chain, header.height, header.hash())
    agg = bls.aggregate([DEVNET.validators[i].bls.sign(digest) for i in signers])
    certificate = Certificate(HEIGHT, 0, header.hash(), signer_bitmap(list(signers), 4), agg)
    return {
        **_hex(TREE.prove(key, HEIGHT).to_value()),
        "height": HEIGHT,
        "header": header.encode().hex(),
        "certificate": _hex(certificate.to_value()),
    }


def lie_about_value(answer: dict[str, Any]) -> dict[str, Any]:
    """The tampering proxy's --mode value: the proof as made, a bigger value claimed."""
    held = None if answer["value"] is None else codec.decode(bytes.fromhex(answer["value"]))
    lie = held + 1_000_000 if type(held) is int else 1_000_000
    return {**answer, "value": codec.encode(lie).hex(), "other": None}


@dataclass
class FakeNode:
    """How the fake node answers: `proofs` is "honest", "lie", "weak" (2 of 4 signers),
    "garbage" or "absent" (no such route); the org listing may disagree with the state."""

    proofs: str = "honest"
    listed_cny: int = 123_456
    asked: list[tuple[str, str | None]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/status", self.status)
        app.router.add_get("/v1/currencies", self.currencies)
        app.router.add_get("/v1/orgs/{id}", self.org)
        app.router.add_get("/v1/receivables", self.listing)
        app.router.add_get("/v1/payments", self.payments)
        app.router.add_get("/v1/receivables/{id}", self.piece)
        app.router.add_get("/v1/receivables/{id}/trace", self.trace)
        if self.proofs != "absent":
            app.router.add_get("/v1/state/proof", self.state_proof)
        return app

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"chain": GENESIS.chain, "height": HEIGHT, "view": 0})

    async def currencies(self, request: web.Request) -> web.Response:
        listed = [{"code": c.code, "decimals": c.decimals} for c in GENESIS.currencies]
        return web.json_response({"currencies": listed})

    async def org(self, request: web.Request) -> web.Response:
        balances = {"CNY": self.listed_cny, "EUR": 700}
        return web.json_response(
            {"id": "bigauto", "name": "BigAuto", "kind": "corporate", "balances": balances}
        )

    async def listing(self, request: web.Request) -> web.Response:
        return web.json_response({"items": []})

    async def payments(self, request: web.Request) -> web.Response:
        return web.json_response({"payments": []})

    async def piece(self, request: web.Request) -> web.Response:
        return web.json_response({**PIECE_RECORD, "doc_hash": "00" * 32})

    async def trace(self, request: web.Request) -> web.Response:
        return web.json_response({"pieces": [], "steps": []})

    async def state_proof(self, request: web.Request) -> web.Response:
        key = request.query["key"]
        self.asked.append((key, request.query.get("height")))
        if self.proofs == "garbage":
            return web.json_response(["not", "a", "proof"])
        answer = proof_answer(key, (0, 1) if self.proofs == "weak" else (0, 1, 3))
        return web.json_response(lie_about_value(answer) if self.proofs == "lie" else answer)


Page = Callable[[TestClient[Any, Any]], Awaitable[None]]


def _run_isolated(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: safe even when this thread already runs a loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run(node: FakeNode, check: Page, genesis_verified: bool = True) -> None:
    async def main() -> None:
        node_server = TestServer(node.app())
        await node_server.start_server()
        url = str(node_server.make_url(""))
        app = make_app(url, GENESIS, genesis_verified=genesis_verified, follow=False)
        async with TestClient(TestServer(app)) as client:
            await check(client)
        await node_server.close()

    _run_isolated(main())


async def _page(client: TestClient[Any, Any], path: str) -> str:
    response = await client.get(path)
    text = await response.text()
    assert response.status == 200, (path, response.status, text[:400])
    assert "Traceback" not in text
    return text


def _row(page: str, currency: str) -> str:
    found = re.search(rf'<tr data-currency="{currency}".*?</tr>', page, re.S)
    assert found, f"no balance row for {currency}"
    return found.group(0)


def _verdict(page: str) -> str:
    found = re.search(r'<div class="verdict[^"]*" data-testid="state-verdict".*?</div>', page, re.S)
    assert found, "no state verdict on the page"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", found.group(0))))


def test_an_org_page_proves_every_currency_at_one_height() -> None:
    node = FakeNode()

    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, "/org/bigauto")
        verdict = _verdict(html)
        assert "State verified at height 9" in verdict
        assert "Bank A, Bank B, Bank D (3 of 4 validators, quorum 3)" in verdict
        assert f"block #{HEIGHT}" in verdict
        assert html.count('data-status="verified"') == 1 + len(GENESIS.currencies)
        assert "1,234.56 CNY" in _row(html, "CNY") and "verified @9" in _row(html, "CNY")
        assert "0 JPY" in _row(html, "JPY")  # absent key: proved to hold none

    run(node, check)
    codes = {c.code for c in GENESIS.currencies}
    assert {key for key, _ in node.asked} == {f"cash/bal/{c}/bigauto" for c in codes}
    assert {height for _, height in node.asked} == {str(HEIGHT)}  # all at the status height


def test_a_lying_node_gets_a_red_verdict_and_its_values_marked_unverified() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, "/org/bigauto")
        verdict = _verdict(html)
        assert "state NOT verified at height 9" in verdict
        assert "do not hash to the block's state root" in verdict
        row = _row(html, "CNY")
        assert 'data-status="failed"' in row and "NOT verified" in row
        assert '<span class="unverified">1,234.56 CNY</span>' in row
        assert "its proof claims 11,234.56 CNY" in row  # the lie, named as a claim only
        assert "Block #9 itself is certified" in verdict  # the block is fine; the value is not
        assert 'class="proved"' not in html
        assert "<details open>" in html  # the failing check is shown

    run(FakeNode(proofs="lie"), check)


def test_a_certificate_below_quorum_is_named() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        verdict = _verdict(await _page(client, f"/receivable/{PIECE}"))
        assert "state NOT verified" in verdict
        assert "the block's certificate does not verify" in verdict and "quorum is 3" in verdict
        assert "itself is certified" not in verdict

    run(FakeNode(proofs="weak"), check)


def test_a_node_without_the_proof_route_shows_unavailable_not_an_error_page() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, "/org/bigauto")
        assert "state proof unavailable" in _verdict(html)
        assert "does not serve GET /v1/state/proof" in _verdict(html)
        assert '<span class="unverified">1,234.56 CNY</span>' in _row(html, "CNY")
        piece = await _page(client, f"/receivable/{PIECE}")
        assert "state proof unavailable" in _verdict(piece)
        assert '<span class="unverified">bank-b</span>' in piece

    run(FakeNode(proofs="absent"), check)


def test_an_answer_that_is_no_proof_is_not_verified() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        verdict = _verdict(await _page(client, "/org/bigauto"))
        assert "state NOT verified" in verdict and "not a state proof" in verdict

    run(FakeNode(proofs="garbage"), check)


def test_the_proved_balance_is_shown_when_the_nodes_listing_disagrees() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        row = _row(await _page(client, "/org/bigauto"), "CNY")
        assert '<span class="proved">1,234.56 CNY</span>' in row
        assert "the node's listing says 9,999.99 CNY" in row

    run(FakeNode(listed_cny=999_999), check)


def test_a_receivable_page_proves_holder_amount_and_status() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, f"/receivable/{PIECE}")
        verdict = _verdict(html)
        assert "State verified at height 9" in verdict
        assert "this piece's holder, amount and status" in verdict
        holder = re.search(r'data-testid="holder">(.*?)</td>', html, re.S)
        assert holder and "bank-b" in holder.group(1) and "verified @9" in holder.group(1)

    run(FakeNode(), check)


def test_a_receivable_from_a_lying_node_is_unverified() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, f"/receivable/{PIECE}")
        assert "state NOT verified" in _verdict(html)
        assert '<span class="unverified">bank-b</span>' in html
        assert '<span class="unverified">financed</span>' in html

    run(FakeNode(proofs="lie"), check)


def test_proofs_are_fetched_concurrently_but_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_view, "PROOF_CONCURRENCY", 3)
    in_flight = {"now": 0, "most": 0}
    release = asyncio.Event()

    async def slow_proof(request: web.Request) -> web.Response:
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        if in_flight["most"] >= 3:
            release.set()
        await release.wait()
        in_flight["now"] -= 1
        return web.json_response(proof_answer(request.query["key"]))

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/v1/state/proof", slow_proof)
        server = TestServer(app)
        await server.start_server()
        reader = NodeReader(str(server.make_url("")))
        prover = state_view.StateProver(reader, GENESIS)
        badges = await prover.balances("bigauto", [f"C{i:02d}" for i in range(10)], HEIGHT)
        await reader.close()
        await server.close()
        assert all(badge.ok and badge.value == 0 for badge in badges.values())

    _run_isolated(main())
    assert in_flight["most"] == 3  # more than one at a time, never more than the bound


def test_a_node_that_does_not_answer_in_time_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state_view, "PROOF_TIMEOUT_S", 0.05)
    never = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response({})

    async def main() -> state_view.StateBadge:
        app = web.Application()
        app.router.add_get("/v1/state/proof", silent)
        server = TestServer(app)
        await server.start_server()
        reader = NodeReader(str(server.make_url("")))
        badge = await state_view.StateProver(reader, GENESIS).piece(PIECE)
        never.set()
        await reader.close()
        await server.close()
        return badge

    badge = _run_isolated(main())
    assert badge.status == state_view.UNAVAILABLE and "no answer within" in badge.reason


def test_a_piece_the_state_does_not_hold_is_shown_as_absent_not_as_listed() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, "/receivable/" + "cd" * 32)  # listed by the node, not stored
        assert 'data-status="absent"' in html
        assert "holds no piece" in _verdict(html)
        assert '<span class="unverified">bank-b</span>' in html

    run(FakeNode(), check)


def test_a_page_checks_a_bounded_number_of_proofs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_view, "MAX_PROOFS_PER_PAGE", 2)
    node = FakeNode()

    async def check(client: TestClient[Any, Any]) -> None:
        html = await _page(client, "/org/bigauto")
        assert html.count("<tr data-currency=") == len(GENESIS.currencies)  # every row shown
        assert html.count('data-status="verified"') == 1 + 2
        assert "not fetched: a page checks at most 2 proofs" in html

    run(node, check)
    first_two = {c.code for c in GENESIS.currencies[:2]}  # the chain's own currencies first
    assert {key for key, _ in node.asked} == {f"cash/bal/{c}/bigauto" for c in first_two}


def test_against_the_nodes_own_genesis_the_badge_says_so() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        verdict = _verdict(await _page(client, f"/receivable/{PIECE}"))
        assert "State verified at height 9" in verdict
        assert "checked against the node's own genesis only" in verdict

    run(FakeNode(), check, genesis_verified=False)
