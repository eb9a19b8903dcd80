"""Shared pieces of the HTTP API: the JSON error type, JSON rendering of ledger values, app keys.

Route modules (node/api*.py) raise `HttpError`; the error middleware renders it as
`{"error": {"code", "message"}}` with its status (DESIGN.md §9).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from ledger.chain import ChainStore

# Keys of objects shared through the aiohttp application.
STORE: web.AppKey[ChainStore] = web.AppKey("store", ChainStore)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> HttpError:
    return HttpError(404, "NOT_FOUND", f"{what} not found")


def bad_request(code: str, message: str) -> HttpError:
    return HttpError(400, code, message)


def to_json(value: Any) -> Any:
    """Ledger values as JSON: bytes become lowercase hex, tuples lists."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(value: Any, status: int = 200) -> web.Response:
    # json's `default` hook turns bytes into hex during the one encoding pass (tuples are
    # already lists to json), which is what `to_json` does, without copying the value first.
    return web.Response(
        text=json.dumps(value, separators=(",", ":"), default=_json_default),
        status=status,
        content_type="application/json",
    )


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request("BAD_QUERY", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise bad_request("BAD_QUERY", f"{name} must be from {lo} to {hi}")
    return value


def store(request: web.Request) -> ChainStore:
    return request.app[STORE]


_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


def hex_id(raw: str, what: str) -> str:
    """An object id from a URL: 64 lowercase hex characters, or 400 BAD_ID naming `what`."""
    if not _HEX_ID.match(raw):
        raise bad_request("BAD_ID", f"a {what} id is 64 lowercase hex characters")
    return raw


def state_or_404(chain: ChainStore, key: str, what: str) -> Any:
    """The state value at `key`, or the 404 that says which `what` was not found."""
    value = chain.state(key)
    if value is None:
        raise not_found(what)
    return value
