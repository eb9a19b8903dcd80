"""The chain reader: the SDK's async client of one node's API (DESIGN.md §9), in the explorer's
terms.

It only fetches; what it returns is unverified until `explorer.verify` has checked it. Every
read is the SDK's (`wallet.async_client.AsyncClient`, signed by its `request_signer`); what
this adds is the status a browser should see when a read fails, as `NodeError`: 404/400 when the
node says the thing does not exist or the id is malformed, 502 when the node cannot be reached
or answers nonsense. A node that lacks a route answers `RouteMissing`, so a page can say "not
served by this node" instead of "not found".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from wallet.async_client import NO_STREAM, AsyncClient
from wallet.errors import BAD_RESPONSE, NODE_UNREACHABLE, NOT_A_NODE_ERROR, ApiError
from wallet.request_signing import RequestSigner

# What the node's own middleware answers for a path it has no route for.
_NO_ROUTE_MESSAGES = ("Not Found", "Method Not Allowed")


class NodeError(Exception):
    """The node did not give us what we asked for; `status` is what the browser should see."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class RouteMissing(NodeError):
    """The node does not serve this route at all (an older or partial node)."""


def page_error(error: ApiError, path: str) -> NodeError:
    """The NodeError a page shows for the SDK's `error` on `path`."""
    if error.code == NODE_UNREACHABLE:
        return NodeError(502, error.code, error.message)
    if error.code == BAD_RESPONSE:
        return NodeError(502, "BAD_NODE_ANSWER", error.message)
    if error.code == NOT_A_NODE_ERROR or error.message in _NO_ROUTE_MESSAGES:
        if error.status in (404, 405):
            return RouteMissing(404, "ROUTE_MISSING", f"the node does not serve {path}")
        return NodeError(502, "BAD_NODE_ANSWER", f"HTTP {error.status} from {path}")
    if error.status == 404:
        return NodeError(404, error.code, error.message)
    if error.status == 401:  # a members node, and the explorer is not signed in (or its key left)
        return NodeError(
            502,
            error.code,
            f"the node refused the explorer's request ({error.message}); start it signed in: "
            "tally explorer --keystore FILE",
        )
    if 400 <= error.status < 500:
        return NodeError(400, error.code, error.message)
    return NodeError(502, error.code, f"the node failed: {error.message}")


class NodeReader(AsyncClient):
    """The SDK client against `base_url`, each failed read raised as the NodeError to show;
    every request signed by `request_signer` when the explorer is signed in."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10.0,
        *,
        request_signer: RequestSigner | None = None,
    ) -> None:
        super().__init__(base_url, timeout_s, request_signer=request_signer)

    @property
    def base_url(self) -> str:
        return self.url

    async def get(self, path: str) -> Any:
        """Every JSON read of the SDK comes through here."""
        return await self.get_json(path)

    async def get_json(self, path: str) -> Any:
        try:
            value = await super().get(path)
        except ApiError as error:
            raise page_error(error, path) from None
        if value is None:
            raise NodeError(502, "BAD_NODE_ANSWER", f"{path} did not answer JSON")
        return value

    async def get_record(self, path: str) -> dict[str, Any]:
        try:
            return await super().get_record(path)
        except ApiError as error:  # an answer of the wrong shape
            raise page_error(error, path) from None

    async def get_list(self, path: str, key: str) -> list[dict[str, Any]]:
        try:
            return await super().get_list(path, key)
        except ApiError as error:
            raise page_error(error, path) from None

    async def get_bytes(self, path: str) -> bytes:
        try:
            return await super().get_bytes(path)
        except ApiError as error:
            raise page_error(error, path) from None

    async def stream(self) -> AsyncIterator[str]:
        """Lines of the node's SSE stream (GET /v1/stream); RouteMissing if it has none."""
        try:
            async for line in super().stream():
                yield line
        except ApiError as error:
            if error.code == NO_STREAM:
                raise RouteMissing(404, "ROUTE_MISSING", error.message) from None
            raise NodeError(502, NODE_UNREACHABLE, error.message) from None
