"""The explorer's dashboard counts "… ago" on the chain's clock, which a development chain may
have moved ahead (`tally localnet time`): its snapshot's `now_ms` adds the node's offset."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts.devclock import DAY_MS
from explorer.app import make_app
from ledger.genesis import genesis_from_value
from node.ops.devnet import make_devnet

GENESIS = genesis_from_value(make_devnet(1, seed=b"explorer-clock").genesis)
OFFSET_MS = 100 * DAY_MS


def _fake_node() -> web.Application:
    """A node with an empty chain whose clock runs 100 days ahead."""

    async def status(request: web.Request) -> web.Response:
        answer = {"chain": GENESIS.chain, "height": 0, "view": 0, "clock_offset_ms": OFFSET_MS}
        return web.json_response({**answer, "time_ms": GENESIS.time_ms})

    async def blocks(request: web.Request) -> web.Response:
        return web.json_response({"blocks": [], "next": None, "height": 0})

    app = web.Application()
    app.router.add_get("/v1/status", status)
    app.router.add_get("/v1/blocks", blocks)
    return app


async def _snapshot() -> dict[str, Any]:
    node_server = TestServer(_fake_node())
    await node_server.start_server()
    app = make_app(str(node_server.make_url("")), GENESIS, genesis_verified=True, follow=False)
    try:
        async with TestClient(TestServer(app)) as client:
            assert (await client.get("/")).status == 200  # the dashboard reads the status
            response = await client.get("/live/snapshot")
            assert response.status == 200
            snapshot: dict[str, Any] = await response.json()
            return snapshot
    finally:
        await node_server.close()


def test_the_dashboard_counts_time_on_the_chains_moved_clock() -> None:
    before = int(time.time() * 1000)
    with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever this thread runs
        snapshot = pool.submit(asyncio.run, _snapshot()).result()
    after = int(time.time() * 1000)
    assert before + OFFSET_MS <= snapshot["now_ms"] <= after + OFFSET_MS
