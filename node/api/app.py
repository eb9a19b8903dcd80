"""The node's aiohttp application: the error middleware and the route modules it mounts.

Handlers are thin: parse, read the store or the node, render. Every error leaves as
`{"error": {"code", "message"}}`; nothing leaks a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ledger.errors import TallyError
from node.api import chain, openapi, orgs, payments, raw, receivables
from node.api.context import NODE, SPEC, STORE, NodeHandle
from node.api.responses import HttpError, json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status=status)


_HTTP_CODES = {
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as error:
        return _error(error.status, error.code, error.message)
    except TallyError as error:
        return _error(400, error.code, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = _HTTP_CODES.get(error.status, "BAD_REQUEST" if error.status < 500 else "INTERNAL")
        return _error(error.status, code, error.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return _error(500, "INTERNAL", "internal error; the node logged it")


# Every route family, in the order the OpenAPI document lists them: explicit, so the app and
# its spec name the same modules and neither discovers the other.
ROUTE_MODULES = (chain, orgs, raw, receivables, payments)


def make_app(handle: NodeHandle, *, max_body_bytes: int = 16 * 1024 * 1024) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=max_body_bytes)
    app[NODE] = handle
    app[STORE] = handle.driver.store
    for module in ROUTE_MODULES:
        app.add_routes(module.ROUTES)
    app[SPEC] = openapi.build_spec(app, ROUTE_MODULES)
    return app
