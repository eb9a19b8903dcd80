"""Request parameters: query integers, ids in paths, JSON bodies; each bad one a stable code."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from node.api.responses import HttpError, bad_request


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


_HEX_ID = re.compile(r"^[0-9a-f]{64}$")


def hex_id(raw: str, what: str) -> str:
    """An object id from a URL: 64 lowercase hex characters, or 400 BAD_ID naming `what`."""
    if not _HEX_ID.match(raw):
        raise bad_request("BAD_ID", f"a {what} id is 64 lowercase hex characters")
    return raw


async def read_json(request: web.Request) -> Any:
    content_type = request.headers.get("Content-Type", "application/json")
    if not content_type.startswith("application/json"):
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("BAD_JSON", "the body is not valid JSON") from None


def tx_id_param(request: web.Request) -> bytes:
    text = request.match_info["id"]
    if len(text) != 64:
        raise bad_request("BAD_ID", "a tx id is 64 hex characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise bad_request("BAD_ID", "a tx id is 64 hex characters") from None
