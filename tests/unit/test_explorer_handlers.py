"""The explorer's pages for bad input: friendly HTML with the right status, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from explorer.app import make_app
from ledger.genesis import genesis_from_value
from node.ops.devnet import make_devnet

GENESIS = genesis_from_value(make_devnet(1, seed=b"explorer-handlers").genesis)


def _node_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def fake_node() -> web.Application:
    """A node with an empty chain that knows nothing else."""

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"chain": GENESIS.chain, "height": 0, "view": 0})

    async def blocks(request: web.Request) -> web.Response:
        return web.json_response({"blocks": [], "next": None, "height": 0})

    async def missing(request: web.Request) -> web.Response:
        return _node_error(404, "NOT_FOUND", f"{request.path} not found")

    app = web.Application()
    app.router.add_get("/v1/status", status)
    app.router.add_get("/v1/blocks", blocks)
    app.router.add_get("/{tail:.*}", missing)
    return app


def run(check: Callable[[TestClient[Any, Any]], Awaitable[None]], node_up: bool = True) -> None:
    async def main() -> None:
        node_server = TestServer(fake_node())
        await node_server.start_server()
        url = str(node_server.make_url("")) if node_up else "http://127.0.0.1:9"
        app = make_app(url, GENESIS, genesis_verified=True, follow=False)
        async with TestClient(TestServer(app)) as client:
            await check(client)
        await node_server.close()

    _run_isolated(main())


async def _expect(client: TestClient[Any, Any], path: str, status: int, words: str) -> None:
    response = await client.get(path, allow_redirects=False)
    text = await response.text()
    assert response.status == status, (path, response.status, text[:300])
    assert response.content_type == "text/html"
    assert words in text and "Traceback" not in text


def test_malformed_ids_are_400_pages() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _expect(client, "/block/abc", 400, "Malformed block reference")
        await _expect(client, "/block/-1", 400, "Malformed block reference")
        await _expect(client, "/tx/123", 400, "Malformed transaction id")
        await _expect(client, "/org/Not_An_Org", 400, "Malformed organization id")
        await _expect(client, "/receivable/xyz", 400, "Malformed receivable id")
        await _expect(client, "/payment/" + "g" * 64, 400, "Malformed payment id")
        await _expect(client, "/blocks?before=tomorrow", 400, "Bad cursor")

    run(check)


def test_unknown_ids_are_404_pages() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _expect(client, "/block/5", 404, "not found")
        await _expect(client, "/tx/" + "ab" * 32, 404, "not found")
        await _expect(client, "/org/nobody", 404, "not found")
        await _expect(client, "/receivable/" + "cd" * 32, 404, "not found")
        await _expect(client, "/payment/" + "ef" * 32, 404, "not found")
        await _expect(client, "/search?q=INV-404", 404, "Nothing found")
        await _expect(client, "/no/such/page", 404, "There is no such page")

    run(check)


def test_an_unreachable_node_is_a_502_page() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        await _expect(client, "/block/1", 502, "cannot reach")
        await _expect(client, "/", 502, "cannot reach")

    run(check, node_up=False)


def test_search_redirects_and_genesis_page() -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.get("/search?q=", allow_redirects=False)
        assert response.status == 302
        await _expect(client, "/block/0", 200, GENESIS.hash().hex())
        await _expect(client, "/blocks", 200, "No blocks yet")

    run(check)


def _run_isolated(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: safe even when this thread already runs a loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
