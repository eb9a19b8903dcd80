"""OpenAPI 3.0 description of every mounted route, core and extension alike.

Core routes are described here; extension modules add theirs through `OPENAPI_PATHS`; any
route still undescribed gets a minimal entry, so the document never omits a live route.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from aiohttp import web

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or {"type": "object"}}},
    }


def _text(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def _op(
    summary: str,
    params: list[dict[str, Any]] | None = None,
    ok: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": ok or _json("success"),
            "400": _json("bad input", ERROR),
            "404": _json("not found", ERROR),
        },
    }
    if params:
        operation["parameters"] = params
    operation.update(extra)
    return operation


def route_parameter(
    name: str,
    where: str,
    description: str,
    required: bool = False,
    integer: tuple[str, ...] = ("limit",),
) -> dict[str, Any]:
    """An OpenAPI parameter of a route module's spec: a path parameter is always required, and
    the names in `integer` are numbers (a page size, a height cursor), the rest strings."""
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": {"type": "integer" if name in integer else "string"},
    }


def _q(name: str, description: str, kind: str = "integer") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": kind},
    }


def _p(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


WAIT = [_q("wait", "'commit' waits for receipts", "string"), _q("timeout_ms", "wait at most")]

CORE_PATHS: dict[str, dict[str, Any]] = {
    "/v1/status": {
        "get": _op(
            "Chain id, node, height, last hash, block time, clock offset, view, primary, the "
            "validator set in force with liveness, voting (false while this node is in no set "
            "in force), peers, mempool, snapshot ({height, keys, chunks} while restoring the "
            "state by snapshot sync, else null)"
        )
    },
    "/v1/txs": {
        "post": _op(
            "Submit signed txs (hex of their canonical encoding); results in order",
            WAIT,
            requestBody={
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["txs"],
                            "properties": {"txs": {"type": "array", "items": {"type": "string"}}},
                        }
                    }
                },
            },
        )
    },
    "/v1/txs/{id}": {
        "get": _op(
            "A tx: status pending/committed/unknown, body, receipt", [_p("id", "tx id, hex"), *WAIT]
        )
    },
    "/v1/txs/{id}/proof": {
        "get": _op(
            "Inclusion proof: tx, receipt, header, RFC 6962 paths, certificate",
            [_p("id", "tx id, hex")],
        )
    },
    "/v1/blocks": {
        "get": _op(
            "Blocks ascending from `from`, or newest first below `before`; a page stops at the "
            "node's byte budget too, and `next` is where the following one starts",
            [_q("from", "first height"), _q("before", "heights below"), _q("limit", "at most 100")],
        )
    },
    "/v1/blocks/{ref}": {"get": _op("One block by height or hash", [_p("ref", "height or hash")])},
    "/v1/orgs": {
        "get": _op(
            "Organizations with balances, by id",
            [_q("after", "last id seen", "string"), _q("limit", "at most 500")],
        )
    },
    "/v1/orgs/{id}": {"get": _op("One organization with balances", [_p("id", "org id")])},
    "/v1/events": {
        "get": _op(
            "Committed events after a sequence number (a page stops at the byte budget; `next`: "
            "every event up to it the caller may read is in the page; 410 HISTORY_ABSENT when "
            "this node lacks the next one, below its snapshot)",
            [_q("after", "last seq seen"), _q("limit", "at most 1000")],
        )
    },
    "/v1/stream": {
        "get": _op(
            "Server-Sent Events: `block` per commit, `event` per event (subscribers are capped)",
            ok=_text("an endless event stream", "text/event-stream"),
        )
    },
    "/v1/validators": {
        "get": _op("The validator set in force at the next height, with Ed25519 and BLS keys")
    },
    "/v1/currencies": {"get": _op("Currencies: code, decimals, issuers")},
    "/healthz": {"get": _op("Liveness")},
    "/metrics": {
        "get": _op(
            "Prometheus text format, names prefixed tally_",
            ok=_text("Prometheus text exposition format", "text/plain"),
        )
    },
    "/openapi.json": {"get": _op("This document")},
}


BUSY = _json(
    "BUSY: a bound of the node is reached, or SYNCING: the node is restoring its state by "
    "snapshot sync; retry after Retry-After seconds",
    ERROR,
)
BODY_LIMITS = {
    "408": _json("BODY_TIMEOUT: the body did not arrive in time", ERROR),
    "413": _json("BODY_TOO_LARGE: the body is over the node's limit", ERROR),
    "415": _json("UNSUPPORTED_MEDIA_TYPE: the body is not application/json", ERROR),
}


def _add_limit_answers(method: str, operation: dict[str, Any]) -> None:
    """The answers every route can give when a bound of node/api/limits.py is reached."""
    responses = operation.setdefault("responses", {})
    responses.setdefault("503", BUSY)
    if method in ("post", "put", "patch"):
        for status, answer in BODY_LIMITS.items():
            responses.setdefault(status, answer)


def build_spec(app: web.Application, modules: Iterable[ModuleType]) -> dict[str, Any]:
    """The document for `app`, with each route module's own `OPENAPI_PATHS` merged in."""
    paths: dict[str, dict[str, Any]] = {path: dict(ops) for path, ops in CORE_PATHS.items()}
    for module in modules:
        for path, ops in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(ops)
    for resource in app.router.resources():
        path = resource.canonical
        for route in resource:
            method = route.method.lower()
            if method == "head" or method == "*":
                continue
            entry = paths.setdefault(path, {})
            if method not in entry:
                params = [_p(name, name) for name in re.findall(r"{(\w+)", path)]
                entry[method] = _op(f"{route.method} {path}", params)
    paths = copy.deepcopy(paths)  # the module-level descriptions stay as they are
    for operations in paths.values():
        for method, operation in operations.items():
            _add_limit_answers(method, operation)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tallychain node API", "version": "1"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
