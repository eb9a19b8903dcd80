"""The explorer's aiohttp application: setup, templates, the error pages, and live updates.

Handlers live in `pages_chain` (dashboard, blocks, txs, search) and `pages_business`
(organizations, receivables, payments). Whatever goes wrong reaches the browser as a short HTML
page with the right status — 400 for a malformed id, 404 for an unknown one, 502 when the node
cannot be reached or answers nonsense — never as a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from explorer.chain import ChainView
from explorer.format import FILTERS
from explorer.live import ChainFollower
from explorer.reader import NodeError, NodeReader
from ledger.genesis import Genesis

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
VIEW: web.AppKey[ChainView] = web.AppKey("view", ChainView)
FOLLOWER: web.AppKey[ChainFollower] = web.AppKey("follower", ChainFollower)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
SETTINGS: web.AppKey[dict[str, Any]] = web.AppKey("settings", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PageError(Exception):
    """A page that cannot be shown; `status` and a sentence for the reader."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def view(request: web.Request) -> ChainView:
    return request.app[VIEW]


def follower(request: web.Request) -> ChainFollower:
    return request.app[FOLLOWER]


def render_text(app: web.Application, template: str, **context: Any) -> str:
    settings = app[SETTINGS]
    chain_view = app[VIEW]
    return (
        app[TEMPLATES]
        .get_template(template)
        .render(
            genesis=chain_view.genesis,
            genesis_verified=chain_view.genesis_verified,
            genesis_hash=chain_view.genesis.hash().hex(),
            node_url=chain_view.reader.base_url,
            settings=settings,
            decimals=chain_view.decimals,
            **context,
        )
    )


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = render_text(request.app, template, query=request.query.get("q", ""), **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


_TITLES = {400: "Bad request", 404: "Not found", 502: "Node unreachable", 500: "Internal error"}


def error_page(request: web.Request, status: int, message: str, title: str = "") -> web.Response:
    try:
        return render(
            request,
            "error.html",
            status=status,
            title=title or _TITLES.get(status, "Error"),
            message=message,
            code=status,
        )
    except Exception:  # the error page itself must never fail
        log.exception("rendering the error page failed")
        return web.Response(text=f"{status}: {message}", status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PageError as error:
        return error_page(request, error.status, error.message, error.title)
    except NodeError as error:
        status = error.status if error.status in (400, 404) else 502
        return error_page(request, status, error.message or error.code)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        message = "There is no such page." if error.status == 404 else error.reason
        return error_page(request, error.status, message)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s", request.path)
        return error_page(request, 500, "Something went wrong here; the explorer logged it.")


async def live_events(request: web.Request) -> web.StreamResponse:
    """SSE to the browser: a dashboard snapshot each time the chain moves."""
    from explorer.pages_chain import dashboard_snapshot

    chain_follower = follower(request)
    queue = chain_follower.subscribe()
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        snapshot = await dashboard_snapshot(request.app)
        await response.write(f"data: {json.dumps(snapshot)}\n\n".encode())
        while True:
            try:
                await asyncio.wait_for(queue.get(), 15.0)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            snapshot = await dashboard_snapshot(request.app)
            await response.write(f"data: {json.dumps(snapshot)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        chain_follower.unsubscribe(queue)
    return response


async def live_json(request: web.Request) -> web.Response:
    """The same snapshot for one request (a fallback for browsers without EventSource)."""
    from explorer.pages_chain import dashboard_snapshot

    return web.json_response(await dashboard_snapshot(request.app))


def make_app(
    node_url: str,
    genesis: Genesis,
    *,
    genesis_verified: bool,
    genesis_source: str = "",
    follow: bool = True,
) -> web.Application:
    """The explorer for `node_url`, verifying against `genesis`.

    `genesis_verified` is False when the genesis came from the node itself: every page then says
    so, because checks against a node's own genesis prove consistency, not authenticity.
    """
    from explorer import pages_business, pages_chain

    app = web.Application(middlewares=[error_middleware])
    reader = NodeReader(node_url)
    chain_view = ChainView(reader, genesis, genesis_verified)
    app[VIEW] = chain_view
    app[FOLLOWER] = ChainFollower(chain_view)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    app[TEMPLATES] = environment
    app[SETTINGS] = {"genesis_source": genesis_source}
    app.add_routes(pages_chain.ROUTES)
    app.add_routes(pages_business.ROUTES)
    app.add_routes(
        [
            web.get("/live/events", live_events),
            web.get("/live/snapshot", live_json),
            web.static("/static", str(HERE / "static")),
        ]
    )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if follow:
            app[FOLLOWER].start()
        yield
        await app[FOLLOWER].stop()
        with contextlib.suppress(Exception):
            await reader.close()

    app.cleanup_ctx.append(lifecycle)
    return app
