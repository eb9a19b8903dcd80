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
from node.api import (
    access_check,
    blocks,
    chain,
    documents,
    escrows,
    openapi,
    orgs,
    payments,
    raw,
    receivables,
    state,
    statements,
    stream,
)
from node.api.access import ACCESS, MEMBERS_ACCESS, ApiAccess, signature_check
from node.api.context import NODE, SPEC, STORE, NodeHandle
from node.api.limits import DEFAULT_LIMITS, ApiLimits
from node.api.reads import LIMITS, READS, ReadPool
from node.api.responses import HttpError, code_of_status, json_response
from node.api.server import track_requests
from node.api.stream import STREAMS, StreamHub

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as error:
        return _error(error.status, error.code, error.message, error.headers)
    except TallyError as error:
        return _error(400, error.code, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = code_of_status(error.status)
        return _error(error.status, code, error.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        return _error(500, "INTERNAL", "internal error; the node logged it")


# What a node restoring its state by snapshot still answers: it holds no state to read yet.
OPEN_WHILE_SYNCING = frozenset({"/healthz", "/metrics", "/v1/status"})


@web.middleware
async def syncing_gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    snapshot = request.app[NODE].snapshot()
    if snapshot is not None and request.path not in OPEN_WHILE_SYNCING:
        message = (
            f"this node is restoring the state at height {snapshot['height']} by snapshot sync "
            f"({snapshot['keys']} keys so far); ask another node, or retry later"
        )
        raise HttpError(503, "SYNCING", message, {"Retry-After": "5"})
    return await handler(request)


# Every route family, in the order the OpenAPI document lists them: explicit, so the app and
# its spec name the same modules and neither discovers the other.
ROUTE_MODULES = (
    chain,
    blocks,
    stream,
    orgs,
    raw,
    receivables,
    documents,
    payments,
    statements,
    escrows,
    state,
)


def make_app(
    handle: NodeHandle, limits: ApiLimits = DEFAULT_LIMITS, access: ApiAccess = MEMBERS_ACCESS
) -> web.Application:
    app = web.Application(
        # read_policy last: it reads the Caller that the signature check stores (DESIGN.md §9)
        middlewares=[
            track_requests,
            error_middleware,
            signature_check,
            syncing_gate,
            access_check.read_policy,
        ],
        client_max_size=limits.max_body_bytes,
    )
    app[ACCESS] = access
    app[NODE] = handle
    app[STORE] = handle.driver.store
    app[LIMITS] = limits
    app[READS] = reads = ReadPool(limits)
    app[STREAMS] = StreamHub(limits.max_stream_clients)
    for module in ROUTE_MODULES:
        app.add_routes(module.ROUTES)
    app[SPEC] = openapi.build_spec(app, ROUTE_MODULES)

    async def close_reads(app: web.Application) -> None:
        # Waits (on a thread) for running reads: the store closes after the app.
        await asyncio.get_running_loop().run_in_executor(None, reads.close)

    app.on_cleanup.append(close_reads)
    return app
