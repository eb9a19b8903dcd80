"""GET /v1/state/proof (DESIGN.md §6) served by a one-validator node in this process: answers
that verify offline against the genesis for present and absent keys at the tip and at an older
height, and a stable code for every bad question (key, height, unknown height, pruned height)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from ledger import codec
from ledger.chain import ChainStore
from ledger.genesis import Genesis, genesis_from_value
from ledger.state_keys import balance_key, piece_key
from ledger.store import MemoryStore
from node.api.access import OPEN_ACCESS
from node.api.app import make_app
from node.api.context import NODE, STORE
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor
from tests.support.solo_node import solo_handle
from wallet.async_client import AsyncClient
from wallet.client import ApiError, Client
from wallet.state_proofs import verify_state_proof
from wallet.txbuilder import build_tx
from wallet.verified_state import StateNotVerified, verify_balance_answer

DEVNET = make_devnet(1, seed=b"state-api-tests")
GENESIS: Genesis = genesis_from_value({**DEVNET.genesis, "params": {"batch_ms": 5}})
BALANCE = "cash/bal/CNY/bigauto"

Check = Callable[[TestClient[Any, Any]], Awaitable[None]]


def _run(test: Check) -> None:
    async def main() -> None:
        store = ChainStore(MemoryStore())
        executor = Executor(store, GENESIS)
        handle = solo_handle(store, executor, GENESIS, DEVNET.validators[0])
        driver = handle.driver
        app = make_app(handle, access=OPEN_ACCESS)
        async with TestClient(TestServer(app)) as client:
            driver.start()
            try:
                await test(client)
            finally:
                driver.stop()

    asyncio.run(main())


async def _issue(client: TestClient[Any, Any], amount: int) -> int:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount}
    tx = build_tx(DEVNET.key("bank-a"), GENESIS.chain, "cash", "issue", args, 50)
    answer = await client.post("/v1/txs?wait=commit", json={"txs": [tx.encode().hex()]})
    body = await answer.json()
    assert body["results"][0]["receipt"]["status"] == "ok", body
    return int(body["results"][0]["receipt"]["height"])


async def _proof(client: TestClient[Any, Any], query: str) -> tuple[int, Any]:
    response = await client.get(f"/v1/state/proof?{query}")
    return response.status, await response.json()


def test_a_balance_proof_verifies_offline_at_the_tip_and_at_an_older_height() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        first = await _issue(client, 1_500)
        await _issue(client, 25)
        status, answer = await _proof(client, f"key={BALANCE}")
        assert status == 200
        assert set(answer) == {"key", "height", "value", "siblings", "other", "header",
                               "certificate"}  # fmt: skip
        verdict = verify_state_proof(answer, GENESIS, BALANCE)
        assert verdict.ok, verdict.failures
        assert (verdict.value, verdict.present) == (1_525, True)
        assert codec.decode(bytes.fromhex(answer["value"])) == 1_525
        status, old = await _proof(client, f"key={BALANCE}&height={first}")
        assert status == 200 and old["height"] == first
        verdict = verify_state_proof(old, GENESIS, BALANCE, first)
        assert verdict.ok and verdict.value == 1_500

    _run(check)


def test_an_absent_key_proves_absent() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _issue(client, 3)
        for key in ("cash/bal/CNY/nobody", "rcv/piece/" + "0" * 64):
            status, answer = await _proof(client, f"key={key}")
            assert status == 200 and answer["value"] is None
            verdict = verify_state_proof(answer, GENESIS, key)
            assert verdict.ok and not verdict.present, verdict.failures

    _run(check)


def test_a_proof_of_one_key_is_not_accepted_for_another() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _issue(client, 3)
        _, answer = await _proof(client, f"key={BALANCE}")
        verdict = verify_state_proof(answer, GENESIS, "cash/bal/CNY/acme-steel")
        assert not verdict.ok and [c.name for c in verdict.failures] == ["key"]

    _run(check)


def test_bad_questions_get_stable_codes() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        tip = await _issue(client, 3)
        cases = {
            "": (400, "BAD_STATE_KEY"),
            "key=": (400, "BAD_STATE_KEY"),
            "key=" + "k" * 1025: (400, "BAD_STATE_KEY"),
            f"key={BALANCE}&height=abc": (400, "BAD_HEIGHT"),
            f"key={BALANCE}&height=-1": (400, "BAD_HEIGHT"),
            f"key={BALANCE}&height=0": (400, "BAD_HEIGHT"),
            f"key={BALANCE}&height=99999999999999999999": (400, "BAD_HEIGHT"),
            f"key={BALANCE}&height={tip + 1}": (404, "NOT_FOUND"),
        }
        for query, (want_status, want_code) in cases.items():
            status, answer = await _proof(client, query)
            assert (status, answer["error"]["code"]) == (want_status, want_code), query

    _run(check)


def test_a_pruned_height_is_410_state_pruned() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        first = await _issue(client, 1)
        await _issue(client, 2)
        tip = await _issue(client, 3)
        client.server.app[STORE].tree.prune(tip)
        status, answer = await _proof(client, f"key={BALANCE}&height={first}")
        assert status == 410 and answer["error"]["code"] == "STATE_PRUNED"
        status, answer = await _proof(client, f"key={BALANCE}&height={tip}")
        assert status == 200 and verify_state_proof(answer, GENESIS, BALANCE, tip).ok

    _run(check)


def test_the_route_is_in_the_openapi_document() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        spec = await (await client.get("/openapi.json")).json()
        operation = spec["paths"]["/v1/state/proof"]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"key", "height"}
        assert {"200", "400", "404", "410"} <= set(operation["responses"])
        assert client.server.app[NODE].name == DEVNET.validators[0].name

    _run(check)


def test_the_sdk_clients_return_verified_balances_and_pieces() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        height = await _issue(client, 123_456)
        url = str(client.make_url("")).rstrip("/")
        sync = Client(url, genesis=GENESIS)
        balance = await asyncio.to_thread(sync.verified_balance, "bigauto", "CNY")
        assert (balance.value, balance.height, balance.present) == (123_456, height, True)
        assert balance.signers == (DEVNET.validators[0].name,) and balance.quorum == 1
        assert balance.key == balance_key("CNY", "bigauto") == BALANCE
        none = await asyncio.to_thread(sync.verified_balance, "acme-steel", "CNY")
        assert (none.value, none.present) == (0, False)
        async with AsyncClient(url, genesis=GENESIS) as async_client:
            again = await async_client.verified_balance("bigauto", "CNY", height)
            piece = await async_client.verified_piece("ab" * 32)
        assert again.value == 123_456 and again.state_root == balance.state_root
        assert (piece.key, piece.value, piece.present) == (piece_key("ab" * 32), None, False)

    _run(check)


def test_a_tampered_answer_is_not_believed() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _issue(client, 10)
        response = await client.get(f"/v1/state/proof?key={BALANCE}")
        answer = await response.json()
        assert verify_balance_answer(answer, GENESIS, "bigauto", "CNY").value == 10
        lying = {**answer, "value": codec.encode(10_000_000).hex()}
        with pytest.raises(StateNotVerified) as failed:
            verify_balance_answer(lying, GENESIS, "bigauto", "CNY")
        assert failed.value.code == "STATE_NOT_VERIFIED"
        assert [c.name for c in failed.value.check.failures] == ["state_root"]
        hiding = {**answer, "value": None}
        with pytest.raises(StateNotVerified):
            verify_balance_answer(hiding, GENESIS, "bigauto", "CNY")

    _run(check)


def test_a_client_without_a_trusted_genesis_refuses_to_verify() -> None:
    with pytest.raises(ApiError) as refused:
        Client("http://127.0.0.1:1").verified_balance("bigauto", "CNY")
    assert refused.value.code == "NO_GENESIS"
