"""The chain reader: an async client of one node's HTTP API (DESIGN.md §9), read-only.

It only fetches; what it returns is unverified until `explorer.verify` has checked it. Errors
come back as `NodeError` with the HTTP status the explorer should show: 404/400 when the node
says the thing does not exist or the id is malformed, 502 when the node cannot be reached or
answers nonsense. A node that lacks an optional route answers `RouteMissing`, so the explorer
can say "not served by this node" instead of "not found".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp


class NodeError(Exception):
    """The node did not give us what we asked for; `status` is what the browser should see."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class RouteMissing(NodeError):
    """The node does not serve this route at all (an older or partial node)."""


def _segment(value: str) -> str:
    return quote(value, safe="")


class NodeReader:
    """One shared aiohttp session against `base_url`; every method is one GET."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def get_json(self, path: str) -> Any:
        try:
            async with self._client().get(self.base_url + path) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise NodeError(
                502, "NODE_UNREACHABLE", f"cannot reach {self.base_url}: {error or 'timeout'}"
            ) from None
        try:
            value = json.loads(body) if body else None
        except ValueError:
            value = None
        if status == 200:
            if value is None:
                raise NodeError(502, "BAD_NODE_ANSWER", f"{path} did not answer JSON")
            return value
        detail = value.get("error") if isinstance(value, dict) else None
        if not isinstance(detail, dict) or detail.get("message") in (
            "Not Found",
            "Method Not Allowed",
        ):
            if status in (404, 405):
                raise RouteMissing(404, "ROUTE_MISSING", f"the node does not serve {path}")
            raise NodeError(502, "BAD_NODE_ANSWER", f"HTTP {status} from {path}")
        code = str(detail.get("code", "ERROR"))
        message = str(detail.get("message", ""))
        if status == 404:
            raise NodeError(404, code, message)
        if 400 <= status < 500:
            raise NodeError(400, code, message)
        raise NodeError(502, code, f"the node failed: {message}")

    # -- §9 routes ------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json("/v1/status")
        return result

    async def genesis(self) -> Any:
        return await self.get_json("/v1/raw/genesis")

    async def blocks(self, start: int, limit: int) -> list[dict[str, Any]]:
        answer = await self.get_json(f"/v1/blocks?from={start}&limit={limit}")
        blocks = answer.get("blocks", answer) if isinstance(answer, dict) else answer
        return list(blocks) if isinstance(blocks, list) else []

    async def block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/blocks/{height}")
        return result

    async def raw_block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/raw/blocks/{height}")
        return result

    async def raw_blocks(self, start: int, limit: int) -> list[dict[str, Any]]:
        answer = await self.get_json(f"/v1/raw/blocks?from={start}&limit={limit}")
        return list(answer.get("blocks", []))

    async def height_of_hash(self, block_hash: str) -> int:
        answer = await self.get_json(f"/v1/blocks/{_segment(block_hash)}")
        return int(answer["height"])

    async def tx(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/txs/{_segment(tx_id)}")
        return result

    async def proof(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/txs/{_segment(tx_id)}/proof")
        return result

    async def orgs(self) -> list[dict[str, Any]]:
        answer = await self.get_json("/v1/orgs")
        orgs = answer.get("orgs", answer) if isinstance(answer, dict) else answer
        return list(orgs) if isinstance(orgs, list) else []

    async def org(self, org_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/orgs/{_segment(org_id)}")
        return result

    async def currencies(self) -> list[dict[str, Any]]:
        answer = await self.get_json("/v1/currencies")
        items = answer.get("currencies", answer) if isinstance(answer, dict) else answer
        return list(items) if isinstance(items, list) else []

    async def receivable(self, receivable_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/receivables/{_segment(receivable_id)}")
        return result

    async def receivable_trace(self, receivable_id: str) -> dict[str, Any]:
        path = f"/v1/receivables/{_segment(receivable_id)}/trace"
        result: dict[str, Any] = await self.get_json(path)
        return result

    async def receivables(self, **query: str) -> list[dict[str, Any]]:
        params = "&".join(f"{k}={_segment(v)}" for k, v in query.items())
        answer = await self.get_json(f"/v1/receivables?{params}")
        items = answer.get("items", answer) if isinstance(answer, dict) else answer
        return list(items) if isinstance(items, list) else []

    async def payment(self, payment_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get_json(f"/v1/payments/{_segment(payment_id)}")
        return result

    async def payments(self, org_id: str) -> list[dict[str, Any]]:
        answer = await self.get_json(f"/v1/payments?org={_segment(org_id)}")
        if isinstance(answer, dict):
            items = answer.get("items", answer.get("payments", []))
        else:
            items = answer
        return list(items) if isinstance(items, list) else []

    async def payment_xml(self, payment_id: str) -> bytes:
        path = f"/v1/payments/{_segment(payment_id)}/iso20022"
        try:
            async with self._client().get(self.base_url + path) as response:
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise NodeError(502, "NODE_UNREACHABLE", f"cannot reach the node: {error}") from None
        if status != 200:
            raise NodeError(404 if status == 404 else 502, "NO_XML", f"HTTP {status} from {path}")
        return body

    async def stream(self) -> AsyncIterator[str]:
        """Lines of the node's SSE stream (GET /v1/stream); RouteMissing if it has none."""
        timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
        try:
            async with self._client().get(
                self.base_url + "/v1/stream", timeout=timeout
            ) as response:
                if response.status != 200 or "event-stream" not in response.content_type:
                    raise RouteMissing(404, "ROUTE_MISSING", "the node serves no SSE stream")
                async for line in response.content:
                    yield line.decode("utf-8", "replace").rstrip("\r\n")
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise NodeError(502, "NODE_UNREACHABLE", f"stream lost: {error}") from None
