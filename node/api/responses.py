"""Responses of the HTTP API: the JSON error type and JSON rendering.

Route modules raise `HttpError`; the error middleware renders it as
`{"error": {"code", "message"}}` with its status (DESIGN.md §9).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


class HttpError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


RETRY_AFTER_S = 1

# The code of an error that has only an HTTP status (aiohttp's own, or the connection guard's).
HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "BODY_TIMEOUT",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    503: "BUSY",
}


def code_of_status(status: int) -> str:
    return HTTP_CODES.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL")


def busy(message: str) -> HttpError:
    """503 BUSY with Retry-After: the node refuses work it cannot take now, rather than queue it."""
    return HttpError(503, "BUSY", message, {"Retry-After": str(RETRY_AFTER_S)})


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


def encode_json(value: Any) -> bytes:
    """Compact JSON of a ledger value; json's `default` hook turns bytes into hex during the one
    encoding pass (tuples are already lists to json), as `to_json` would, without a copy."""
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


def json_response(
    value: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return json_body_response(encode_json(value), status, headers)


def json_body_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A response of JSON already encoded (e.g. off the loop, by a read thread)."""
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")


def error_body(code: str, message: str) -> bytes:
    """The §9 error object, encoded."""
    return encode_json({"error": {"code": code, "message": message}})
