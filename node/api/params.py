"""Request parameters: query integers, ids in paths, JSON bodies; each bad one a stable code."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp import web

from node.api.reads import limits
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


async def read_json(request: web.Request, max_values: int) -> Any:
    """The JSON body: whole within the body timeout (408), at most `max_values` values (commas
    and colons counted before parsing: a 16 MiB `[0,0,...]` costs seconds of the loop to
    parse), nested at most `max_json_depth` deep (400 BAD_JSON, never a RecursionError)."""
    content_type = request.headers.get("Content-Type", "application/json")
    if not content_type.startswith("application/json"):
        raise HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")
    raw = await read_body(request)
    return parse_json(raw, max_values, limits(request).max_json_depth)


async def read_body(request: web.Request) -> bytes:
    """The whole body, within the body timeout (408 BODY_TIMEOUT: a client that trickles it
    holds a connection that the guard counts as serving, so no other deadline ends it).
    Whoever reads the body first must read it through here; later reads get aiohttp's copy."""
    timeout_s = limits(request).body_timeout_s
    try:
        async with asyncio.timeout(timeout_s):
            return await request.read()
    except TimeoutError:
        message = f"the body did not arrive within {timeout_s:g} s"
        raise HttpError(408, "BODY_TIMEOUT", message) from None


def parse_json(raw: bytes, max_values: int, max_depth: int) -> Any:
    """`raw` parsed, after bounds on its size in values and containers, then on its depth."""
    separators = raw.count(b",") + raw.count(b":")
    containers = raw.count(b"[") + raw.count(b"{")
    if separators > max_values or containers > max_values:
        raise bad_request("BAD_JSON", f"the body holds more than {max_values} values")
    try:
        value = json.loads(raw)
    except RecursionError:
        raise bad_request("BAD_JSON", f"the body nests deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise bad_request("BAD_JSON", "the body is not valid JSON") from None
    if containers > max_depth and nesting_depth(value) > max_depth:
        raise bad_request("BAD_JSON", f"the body nests deeper than {max_depth} levels")
    return value


def nesting_depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value (a scalar is 0), without
    recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def tx_id_param(request: web.Request) -> bytes:
    text = request.match_info["id"]
    if len(text) != 64:
        raise bad_request("BAD_ID", "a tx id is 64 hex characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise bad_request("BAD_ID", "a tx id is 64 hex characters") from None
