"""Responses of the HTTP API: the JSON error type and JSON rendering.

Route modules raise `HttpError`; the error middleware renders it as
`{"error": {"code", "message"}}` with its status (DESIGN.md §9).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


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
