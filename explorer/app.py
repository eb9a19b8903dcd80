"""The explorer's aiohttp application: setup, templates, the pages' routes and the error pages.

Handlers live in `pages_dashboard` (the dashboard and its live updates), `pages_chain` (blocks,
txs, search), `pages_business` (organizations, receivables, payments) and `pages_escrow`
(escrows); what they share is in `explorer.web`. Whatever goes wrong reaches the browser as a
short HTML page with the right status — 400 for a malformed id, 404 for an unknown one, 502 when
the node cannot be reached or answers nonsense — never as a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import jinja2
from aiohttp import web

from explorer import (
    pages_business,
    pages_chain,
    pages_dashboard,
    pages_documents,
    pages_escrow,
    pages_index,
)
from explorer.chain import ChainView
from explorer.format import FILTERS
from explorer.index.service import IndexService
from explorer.live import ChainFollower
from explorer.reader import NodeError, NodeReader
from explorer.sign_in import SignInState
from explorer.values import shown_field, shown_record
from explorer.web import FOLLOWER, SETTINGS, SIGN_IN, TEMPLATES, VIEW, PageError, render
from ledger.crypto import Ed25519Key
from ledger.genesis import Genesis
from wallet.request_signing import RequestSigner

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PAGE_MODULES = (
    pages_dashboard,
    pages_chain,
    pages_business,
    pages_escrow,
    pages_index,
    pages_documents,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

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
        sign_in = request.app[SIGN_IN].current
        if status == 404 and sign_in is not None and sign_in.org and sign_in.members:
            title = f"Not visible to {sign_in.org}"
            return error_page(request, 404, sign_in.not_visible(error.message), title)
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


@web.middleware
async def sign_in_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Learn whom the explorer reads as before the first page that says it."""
    state = request.app[SIGN_IN]
    if state.current is None and not request.path.startswith("/static/"):
        with contextlib.suppress(NodeError):  # the page itself then says what failed
            await state.resolve()
    return await handler(request)


def _templates() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(FILTERS)
    environment.filters["record"] = shown_record
    environment.filters["field"] = shown_field
    return environment


def make_app(
    node_url: str,
    genesis: Genesis,
    *,
    genesis_verified: bool,
    genesis_source: str = "",
    follow: bool = True,
    index_db: str = "",
    document_key: Ed25519Key | None = None,
    request_signer: RequestSigner | None = None,
    sign_in_org: str = "",
) -> web.Application:
    """The explorer for `node_url`, verifying against `genesis`.

    `genesis_verified` is False when the genesis came from the node itself: every page then says
    so, because checks against a node's own genesis prove consistency, not authenticity.
    `document_key`: an organization's key (a keystore's) that opens the invoice documents
    shared with it (explorer/pages_documents.py). `request_signer`: the organization every
    request to the node is signed as (`sign_in_org`, when known; else found by its key) —
    by default the document key's: one key signs the explorer in.
    """
    if request_signer is None and document_key is not None:
        request_signer = RequestSigner.of(document_key)
    app = web.Application(middlewares=[error_middleware, sign_in_middleware])
    reader = NodeReader(node_url, request_signer=request_signer)
    chain_view = ChainView(reader, genesis, genesis_verified)
    app[VIEW] = chain_view
    public_hex = "" if request_signer is None else request_signer.public_key.hex()
    app[SIGN_IN] = SignInState(chain_view, public_hex, sign_in_org)
    app[FOLLOWER] = ChainFollower(chain_view)
    app[TEMPLATES] = _templates()
    app[SETTINGS] = {"genesis_source": genesis_source}
    app[pages_index.INDEX] = IndexService(node_url, genesis, index_db, request_signer)
    if document_key is not None:
        app[pages_documents.DOCUMENT_KEY] = document_key
    for module in PAGE_MODULES:
        app.add_routes(module.ROUTES)
    app.add_routes([web.static("/static", str(HERE / "static"))])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if follow:
            app[FOLLOWER].start()
        app[pages_index.INDEX].start(follow)
        yield
        await app[FOLLOWER].stop()
        await app[pages_index.INDEX].stop()
        with contextlib.suppress(Exception):
            await reader.close()

    async def end_streams(app: web.Application) -> None:
        app[FOLLOWER].end_subscriptions()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(end_streams)
    return app
