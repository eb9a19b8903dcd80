"""What every page of the explorer shares: the application's keys, rendering, and `PageError`.

The pages import this module and the application (`explorer.app`) imports the pages, so the
imports run one way: app -> pages -> web.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from explorer.chain import ChainView
from explorer.live import ChainFollower
from explorer.sign_in import SignInState

VIEW: web.AppKey[ChainView] = web.AppKey("view", ChainView)
FOLLOWER: web.AppKey[ChainFollower] = web.AppKey("follower", ChainFollower)
TEMPLATES: web.AppKey[jinja2.Environment] = web.AppKey("templates", jinja2.Environment)
SETTINGS: web.AppKey[dict[str, Any]] = web.AppKey("settings", dict)
SIGN_IN: web.AppKey[SignInState] = web.AppKey("sign_in", SignInState)


class PageError(Exception):
    """A page that cannot be shown; `status` and a sentence for the reader."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


def verification_words(genesis_verified: bool) -> dict[str, str]:
    """How a passed check is shown: green "verified" only against a genesis the user supplied;
    against the node's own genesis amber, saying it proves consistency, not authenticity."""
    if genesis_verified:
        return {"vok": "ok", "vword": "verified", "vnote": ""}
    return {"vok": "warn", "vword": "consistent", "vnote": " (against the node's own genesis)"}


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
            **verification_words(chain_view.genesis_verified),
            genesis_hash=chain_view.genesis.hash().hex(),
            node_url=chain_view.reader.base_url,
            settings=settings,
            sign_in=app[SIGN_IN].current,
            decimals=chain_view.decimals,
            **context,
        )
    )


def raw_toggle(request: web.Request) -> tuple[bool, str]:
    """Whether the page shows raw values (`?raw=1`), and the link that switches it."""
    raw = request.query.get("raw") == "1"
    query = {k: v for k, v in request.query.items() if k != "raw"}
    if not raw:
        query["raw"] = "1"
    return raw, str(request.rel_url.with_query(query))


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    raw, raw_url = raw_toggle(request)
    html = render_text(
        request.app, template, query=request.query.get("q", ""), raw=raw, raw_url=raw_url,
        **context,
    )  # fmt: skip
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
