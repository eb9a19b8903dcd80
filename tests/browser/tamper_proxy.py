"""A node that lies: forwards to a real node's API but tampers with one block on the way.

`--mode header` changes one byte of block H's state_root inside the header encoding (the header
still decodes, so the explorer must notice the hash no longer matches the certificate);
`--mode agg_sig` flips one byte of block H's aggregate signature; `--mode value` leaves blocks
alone and lies in every state proof (GET /v1/state/proof): an integer value is raised by
1,000,000, any other value or an absent key becomes the integer 1,000,000. Prints "ready URL"
once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web

from ledger import codec
from ledger.types import Header
from tests.support.stall_proxy import signature_headers


def tamper_block(block: dict[str, Any], height: int, mode: str) -> None:
    if block.get("height") != height:
        return
    if mode == "header":
        header = Header.decode(bytes.fromhex(block["header"]))
        value = header.to_value()
        value["state_root"] = bytes([value["state_root"][0] ^ 0x01]) + value["state_root"][1:]
        block["header"] = Header.from_value(value).encode().hex()
    else:
        sig = bytearray.fromhex(block["certificate"]["agg_sig"])
        sig[-1] ^= 0x01
        block["certificate"]["agg_sig"] = sig.hex()


def tamper_state(answer: dict[str, Any]) -> None:
    """The proof stays as the node made it; only the value it claims changes."""
    held = None if answer["value"] is None else codec.decode(bytes.fromhex(answer["value"]))
    lie = held + 1_000_000 if type(held) is int else 1_000_000
    answer["value"] = codec.encode(lie).hex()
    answer["other"] = None  # a present key names no other leaf: the lie must look well formed


def tamper(answer: Any, height: int, mode: str) -> Any:
    if mode == "value":
        if isinstance(answer, dict) and "siblings" in answer and "value" in answer:
            tamper_state(answer)
        return answer
    if isinstance(answer, dict):
        if "header" in answer and "certificate" in answer:
            tamper_block(answer, height, mode)
        for block in answer.get("blocks", []) if isinstance(answer.get("blocks"), list) else []:
            tamper_block(block, height, mode)
    return answer


def make_proxy(upstream: str, height: int, mode: str) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        if request.path == "/v1/stream":  # no live stream through the liar: polling will do
            return web.json_response(
                {"error": {"code": "NOT_FOUND", "message": "Not Found"}}, status=404
            )
        signed = signature_headers(request)  # the caller's RFC 9421 signature, passed on
        async with (
            aiohttp.ClientSession() as session,
            session.get(upstream + request.path_qs, headers=signed) as response,
        ):
            body = await response.read()
            if "json" in response.content_type:
                answer = tamper(json.loads(body), height, mode)
                return web.json_response(answer, status=response.status)
            return web.Response(
                body=body, status=response.status, content_type=response.content_type
            )

    app = web.Application()
    app.router.add_get("/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--mode", choices=("header", "agg_sig", "value"), default="header")
    args = parser.parse_args()

    asyncio.run(_serve(make_proxy(args.upstream.rstrip("/"), args.height, args.mode), args.port))


async def _serve(app: web.Application, port: int) -> None:
    """Listen (port 0: any free port) and print "ready URL" once the socket is bound."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"ready http://127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    main()
