"""The plumbing of the asyncio client (wallet/async_client.py): one shared aiohttp session,
each request signed as the client's organization (DESIGN.md §9), errors made `ApiError`.

Its own module so the client keeps to the calls. A request body is serialized here, once, so
the `Content-Digest` that the signature covers is of the very bytes sent. A node's 401
(UNAUTHENTICATED, STALE_SIGNATURE, DIGEST_MISMATCH) is an answer, not silence: it is raised
with the node's code and never retried or failed over as if the node were down.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import aiohttp

from ledger.genesis import Genesis
from wallet import routes
from wallet.errors import BAD_RESPONSE, NODE_UNREACHABLE, ApiError, error_of_answer
from wallet.request_signing import RequestSigner, signed_headers
from wallet.retry import RetryPolicy, retry_after_seconds, retrying_async
from wallet.sse import NO_STREAM, STREAM_IDLE_S

STREAM_READ_TIMEOUT_S = 60.0  # the node sends a heartbeat well within this
JSON = "application/json"


def encoded_body(body: Any) -> bytes | None:
    """A JSON request body as the bytes that are both signed and sent."""
    return None if body is None else json.dumps(body).encode()


class AsyncTransport:
    """Requests to one node (`url`, which a subscription may repoint) over one session."""

    retry_policy: RetryPolicy = RetryPolicy()  # per client: `client.retry_policy = NO_RETRY`

    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        *,
        connections: int = 16,
        session: aiohttp.ClientSession | None = None,
        genesis: Genesis | None = None,
        request_signer: RequestSigner | None = None,
    ) -> None:
        """`genesis`: the consortium's (a trusted copy), for the verified reads;
        `request_signer`: the organization this client reads and writes as (DESIGN.md §9)."""
        self.url = url.rstrip("/")
        self.genesis = genesis
        self.timeout = timeout
        self.connections = connections
        self.request_signer = request_signer
        self._session = session
        self._owns_session = session is None
        self._chain: str | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"Accept": JSON},
            )
        return self._session

    def signing(self, method: str, path: str, data: bytes | None = None) -> dict[str, str]:
        """The signature headers of one request to this client's node (none when unsigned)."""
        return signed_headers(self.request_signer, method, self.url + path, data or b"")

    async def _exchange(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> bytes:
        """One request; the raw body of a success, ApiError with the node's code otherwise."""
        session = self._client_session()
        limit = aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout)
        data = encoded_body(body)
        headers = {"Content-Type": JSON, **self.signing(method, path, data)}
        try:
            async with session.request(
                method, self.url + path, data=data, headers=headers, timeout=limit
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    refusal = error_of_answer(raw, response.status, path)
                    refusal.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                    raise refusal
                return raw
        except TimeoutError:
            raise ApiError(NODE_UNREACHABLE, f"{self.url}{path} timed out") from None
        except (aiohttp.ClientError, OSError) as error:
            raise ApiError(NODE_UNREACHABLE, f"cannot reach {self.url}: {error}") from None

    async def _retried(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> bytes:
        """`_exchange`, retried as `retry_policy` says for reads and tx submission (retry.py);
        each try is signed afresh, so a retry never carries a stale `created`."""
        if method != "GET" and path.split("?")[0] != "/v1/txs":
            return await self._exchange(method, path, body, timeout)
        return await retrying_async(
            self.retry_policy, lambda: self._exchange(method, path, body, timeout)
        )

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        """One JSON request; node errors become ApiError with the node's code."""
        raw = await self._retried(method, path, body, timeout)
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ApiError(BAD_RESPONSE, f"{path} did not answer JSON") from None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def get_record(self, path: str) -> dict[str, Any]:
        """A read that answers one JSON object (ApiError BAD_RESPONSE otherwise)."""
        return routes.record(await self.get(path), path)

    async def get_list(self, path: str, key: str) -> list[dict[str, Any]]:
        """A listing: the list under `key` of the answer (ApiError BAD_RESPONSE otherwise)."""
        return routes.listed(await self.get(path), key, path)

    async def get_bytes(self, path: str) -> bytes:
        """A document that is not JSON (ISO 20022 XML); errors as for `request`."""
        return await self._retried("GET", path)

    @asynccontextmanager
    async def open_stream(
        self, idle_timeout: float = STREAM_IDLE_S
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The node's live stream (GET /v1/stream), signed, once open (else ApiError NO_STREAM,
        NODE_UNREACHABLE or the node's); no total timeout, `idle_timeout` between bytes."""
        limit = aiohttp.ClientTimeout(total=None, sock_read=idle_timeout)
        headers = {"Accept": "text/event-stream", **self.signing("GET", routes.STREAM)}
        try:
            async with self._client_session().get(
                self.url + routes.STREAM, timeout=limit, headers=headers
            ) as response:
                if response.status >= 400:
                    raise error_of_answer(await response.read(), response.status, routes.STREAM)
                if response.status != 200 or "event-stream" not in response.content_type:
                    raise ApiError(NO_STREAM, "the node serves no SSE stream", response.status)
                yield response
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise ApiError(NODE_UNREACHABLE, f"stream lost: {error!r}") from None

    async def stream(self) -> AsyncIterator[str]:
        """The lines of the node's Server-Sent Events (GET /v1/stream), as they arrive.

        Ends when the node closes the stream; ApiError NO_STREAM when the node serves none,
        NODE_UNREACHABLE when it cannot be reached or goes silent past the heartbeat, and the
        node's code when it refuses the caller (401, 403).
        """
        try:
            async with self.open_stream(STREAM_READ_TIMEOUT_S) as response:
                async for line in response.content:
                    yield line.decode("utf-8", "replace").rstrip("\r\n")
        except ApiError as error:
            if error.status in (0, 401, 403):
                raise
            raise ApiError(NO_STREAM, "the node serves no SSE stream", error.status) from None
