"""node/api/access.py's middleware on its own: what it does before any handler runs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from ledger.chain import ChainStore
from ledger.crypto import Ed25519Key
from ledger.httpsig import sign_headers
from ledger.store import MemoryStore
from node.api.access import ACCESS, MEMBERS_ACCESS, ApiAccess, signature_check
from node.api.app import error_middleware
from node.api.context import NODE, STORE, NodeHandle
from node.api.limits import ApiLimits
from node.api.reads import LIMITS

BODY_TIMEOUT_S = 0.3


async def _echo(request: web.Request) -> web.Response:
    return web.json_response({"bytes": len(await request.read())})


def _serve(
    test: Callable[[TestServer], Awaitable[None]],
    access: ApiAccess = MEMBERS_ACCESS,
    snapshot: dict[str, int] | None = None,
) -> None:
    """Only the error and signature middlewares: an unsigned or slow request never gets past
    them, so no node (store, driver) is needed behind."""

    async def main() -> None:
        app = web.Application(middlewares=[error_middleware, signature_check])
        app[ACCESS] = access
        app[LIMITS] = ApiLimits(body_timeout_s=BODY_TIMEOUT_S)
        app[STORE] = ChainStore(MemoryStore())  # a registry that holds no key yet
        # only `snapshot` is read before a handler runs
        parts: Any = None
        app[NODE] = NodeHandle("validator-0", parts, parts, parts, dict, lambda: snapshot)
        app.router.add_post("/v1/txs", _echo)
        app.router.add_get("/healthz", _echo)
        app.router.add_get("/v1/status", _echo)
        server = TestServer(app)
        await server.start_server()
        try:
            await asyncio.wait_for(test(server), timeout=10)
        finally:
            await server.close()

    asyncio.run(main())


async def _exchange(server: TestServer, request: bytes, more: bytes = b"") -> tuple[int, Any]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 100"):  # the node began serving: trickle, then stop
            writer.write(more)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        return int(head.split()[1]), json.loads(await reader.readexactly(length))
    finally:
        writer.close()


def test_a_trickled_body_times_out_before_the_signature_is_checked() -> None:
    key = Ed25519Key.generate()
    body = b'{"txs": []}' + b" " * 89
    signed = sign_headers(key.public, key.sign, "POST", "/v1/txs", body, int(time.time()))
    head = "".join(f"{name}: {value}\r\n" for name, value in signed.items())
    request = (
        "POST /v1/txs HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n{head}\r\n"
    ).encode()

    async def test(server: TestServer) -> None:
        started = time.monotonic()
        status, answer = await _exchange(server, request, body[:10])
        assert (status, answer["error"]["code"]) == (408, "BODY_TIMEOUT")
        assert time.monotonic() - started < 5  # the body timeout, not the test's safety net

    _serve(test)


def test_unsigned_post_is_401_and_the_probe_answers() -> None:
    async def test(server: TestServer) -> None:
        post = b"POST /v1/txs HTTP/1.1\r\nHost: node\r\nContent-Length: 2\r\n\r\n{}"
        status, answer = await _exchange(server, post)
        assert (status, answer["error"]["code"]) == (401, "UNAUTHENTICATED")
        probe = b"GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"
        assert (await _exchange(server, probe))[0] == 200

    _serve(test)


def test_closed_probes_ask_for_a_signature_too() -> None:
    async def test(server: TestServer) -> None:
        probe = b"GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"
        status, answer = await _exchange(server, probe)
        assert (status, answer["error"]["code"]) == (401, "UNAUTHENTICATED")

    _serve(test, ApiAccess(open_probes=False))


def _signed_get(target: str) -> bytes:
    key = Ed25519Key.generate()
    signed = sign_headers(key.public, key.sign, "GET", target, b"", int(time.time()))
    head = "".join(f"{name}: {value}\r\n" for name, value in signed.items())
    return f"GET {target} HTTP/1.1\r\nHost: node\r\n{head}\r\n".encode()


def test_an_unknown_key_is_401_but_503_syncing_while_a_snapshot_restores() -> None:
    async def unknown(server: TestServer) -> None:
        status, answer = await _exchange(server, _signed_get("/v1/status"))
        assert (status, answer["error"]["code"]) == (401, "UNAUTHENTICATED")

    async def syncing(server: TestServer) -> None:
        status, answer = await _exchange(server, _signed_get("/v1/status"))
        assert (status, answer["error"]["code"]) == (503, "SYNCING")

    _serve(unknown)
    _serve(syncing, snapshot={"height": 120, "keys": 40, "chunks": 2})
