"""The core API and the driver in one process: a solo replica commits what the API admits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts import queries
from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.store import MemoryStore
from node.api.access import OPEN_ACCESS
from node.api.app import error_middleware, make_app
from node.api.context import NODE, NodeHandle
from node.api.limits import DEFAULT_LIMITS, ApiLimits
from node.ops.devnet import make_devnet
from node.runtime.admission import Signers
from node.runtime.driver import Driver
from node.runtime.executor import Executor
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics
from tests.support.solo import SoloReplica
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"api-tests")


def _app(
    limits: ApiLimits = DEFAULT_LIMITS,
    snapshot: Callable[[], dict[str, int] | None] = lambda: None,
) -> web.Application:
    genesis = genesis_from_value({**DEVNET.genesis, "params": {"batch_ms": 5}})
    store = ChainStore(MemoryStore())
    executor = Executor(store, genesis)
    mempool = Mempool(
        genesis,
        lambda t: store.tx_location(t) is not None,
        lambda: executor.tip.height,
        signers=Signers(store.state_trusted, lambda: queries.active_org_count(store)),
    )
    validator = DEVNET.validators[0]
    replica = SoloReplica(genesis.chain, validator.bls, 0, executor.tip.block_hash, 5)
    driver = Driver(
        replica, executor, mempool, store,
        proposer=validator.ed25519.public, validator_count=1, metrics=Metrics(),
    )  # fmt: skip
    handle = NodeHandle(validator.name, genesis, driver, driver.metrics, dict, snapshot)
    return make_app(handle, limits, OPEN_ACCESS)


def _run(
    test: Callable[[TestClient[Any, Any]], Awaitable[None]],
    limits: ApiLimits = DEFAULT_LIMITS,
    snapshot: Callable[[], dict[str, int] | None] = lambda: None,
) -> None:
    async def main() -> None:
        app = _app(limits, snapshot)
        async with TestClient(TestServer(app)) as client:
            app[NODE].driver.start()
            try:
                await test(client)
            finally:
                app[NODE].driver.stop()

    asyncio.run(main())


def _issue(amount: int) -> str:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount}
    return build_tx(DEVNET.key("bank-a"), "tally-dev", "cash", "issue", args, 50).encode().hex()


def test_a_node_restoring_a_snapshot_answers_only_status_health_and_metrics() -> None:
    restoring = {"height": 120, "keys": 40, "chunks": 2}

    async def check(client: TestClient[Any, Any]) -> None:
        for path in ("/v1/orgs", "/v1/blocks/0", "/v1/state/proof?key=x"):
            response = await client.get(path)
            assert response.status == 503, path
            assert (await response.json())["error"]["code"] == "SYNCING"
            assert response.headers["Retry-After"] == "5"
        posted = await client.post("/v1/txs", json={"txs": [_issue(1)]})
        assert posted.status == 503
        status = await (await client.get("/v1/status")).json()
        assert status["snapshot"] == restoring
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/metrics")).status == 200

    _run(check, snapshot=lambda: restoring)


def test_submitted_txs_commit_and_answer_with_receipts() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/v1/txs?wait=commit", json={"txs": [_issue(i + 1) for i in range(30)]}
        )
        answer = await response.json()
        assert response.status == 200
        assert all(r["accepted"] and r["receipt"]["status"] == "ok" for r in answer["results"])
        status = await (await client.get("/v1/status")).json()
        assert status["height"] >= 1 and status["mempool"] == 0
        org = await (await client.get("/v1/orgs/bigauto")).json()
        assert org["balances"] == {"CNY": sum(range(1, 31))}
        tx = await (await client.get(f"/v1/txs/{answer['results'][0]['id']}")).json()
        assert tx["status"] == "committed" and tx["tx"]["args"]["amount"] == 1
        blocks = await (await client.get("/v1/blocks?from=1&limit=5")).json()
        assert blocks["blocks"][0]["height"] == 1
        events = await (await client.get("/v1/events?after=0&limit=10")).json()
        assert len(events["events"]) == 10 and events["next"] == 10
        currencies = await (await client.get("/v1/currencies")).json()
        assert {"code": "JPY", "decimals": 0, "issuers": ["bank-d"]} in currencies["currencies"]

    _run(check)


def test_long_poll_returns_once_the_tx_commits() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post("/v1/txs", json={"txs": [_issue(5)]})
        tx_id = (await response.json())["results"][0]["id"]
        answer = await (await client.get(f"/v1/txs/{tx_id}?wait=commit&timeout_ms=30000")).json()
        assert answer["status"] == "committed" and answer["receipt"]["status"] == "ok"

    _run(check)


def test_unexpected_errors_become_500_json_without_a_traceback() -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    async def main() -> None:
        app = web.Application(middlewares=[error_middleware])
        app.router.add_get("/boom", boom)
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/boom")
            text = await response.text()
            assert response.status == 500
            assert "INTERNAL" in text and "secret" not in text and "Traceback" not in text
            missing = await client.get("/nowhere")
            assert missing.status == 404 and (await missing.json())["error"]["code"] == "NOT_FOUND"

    asyncio.run(main())


PAGE_BUDGET = 8192


def test_block_pages_stop_at_the_byte_budget_and_next_walks_every_block() -> None:
    async def walk(client: TestClient[Any, Any], first: str, key: str, cursor: str) -> list[int]:
        seen: list[int] = []
        pages: list[int] = []
        path: str | None = first
        while path is not None:
            response = await client.get(path)
            body = await response.read()
            answer = await response.json()
            assert response.status == 200 and answer["blocks"], "at least one block a page"
            assert len(body) <= PAGE_BUDGET or len(answer["blocks"]) == 1
            pages.append(len(answer["blocks"]))
            seen += [block["height"] for block in answer["blocks"]]
            following = answer["next"]
            path = None if following is None else f"{key}&{cursor}={following}"
        assert len(pages) > 1, "the budget split the walk into pages"
        return seen

    async def check(client: TestClient[Any, Any]) -> None:
        for batch in range(10):  # several blocks, each of a few txs
            txs = [_issue(100 * batch + i + 1) for i in range(3)]
            response = await client.post("/v1/txs?wait=commit", json={"txs": txs})
            assert response.status == 200
        tip = (await (await client.get("/v1/status")).json())["height"]
        up = await walk(client, "/v1/blocks?from=1&limit=100", "/v1/blocks?limit=100", "from")
        assert up == list(range(1, tip + 1))
        down = await walk(client, "/v1/blocks?limit=100", "/v1/blocks?limit=100", "before")
        assert down == list(range(tip, 0, -1))
        raw = await walk(
            client, "/v1/raw/blocks?from=1&limit=100", "/v1/raw/blocks?limit=100", "from"
        )
        assert raw == list(range(1, tip + 1))

    _run(check, ApiLimits(answer_max_bytes=PAGE_BUDGET))


def test_heavy_reads_beyond_the_admitted_number_get_busy() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post("/v1/txs?wait=commit", json={"txs": [_issue(9)]})
        assert response.status == 200
        answers = await asyncio.gather(
            *(client.get("/v1/raw/blocks?from=1&limit=100") for _ in range(40))
        )
        statuses = sorted({answer.status for answer in answers})
        assert 200 in statuses and set(statuses) <= {200, 503}
        for answer in answers:
            if answer.status == 503:
                assert answer.headers["Retry-After"] == "1"
                assert (await answer.json())["error"]["code"] == "BUSY"

    _run(check, ApiLimits(max_heavy_reads=1, read_threads=1))
