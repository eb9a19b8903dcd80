"""A node that stops answering: forwards to a real node's API, but a request for raw blocks from
above `--height` hangs forever, so a follower behind it stops at exactly that height (and can
be killed there, deterministically). Prints "ready URL" once listening.
"""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
from aiohttp import web

# A signed request's RFC 9421 headers, passed on as they are: the signature covers the method,
# path and query, which a forwarding proxy keeps.
SIGNATURE_HEADERS = ("Signature", "Signature-Input", "Content-Digest")


def signature_headers(request: web.Request) -> dict[str, str]:
    return {name: request.headers[name] for name in SIGNATURE_HEADERS if name in request.headers}


def make_proxy(upstream: str, height: int) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/v1/raw/blocks"):
            start = request.query.get("from", request.match_info.get("tail", "").split("/")[-1])
            if start.isdigit() and int(start) > height:
                await asyncio.Event().wait()  # never answers
        if request.path == "/v1/stream":
            return web.json_response({"error": {"code": "NOT_FOUND", "message": "no"}}, status=404)
        async with (
            aiohttp.ClientSession() as session,
            session.get(upstream + request.path_qs, headers=signature_headers(request)) as response,
        ):
            body = await response.read()
            return web.Response(
                body=body, status=response.status, content_type=response.content_type
            )

    app = web.Application()
    app.router.add_get("/{tail:.*}", forward)
    return app


async def _serve(app: web.Application) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"ready http://127.0.0.1:{bound}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--height", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(make_proxy(args.upstream.rstrip("/"), args.height)))


if __name__ == "__main__":
    main()
