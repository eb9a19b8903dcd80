"""The event subscription of wallet/subscription.py for the `AsyncClient`: the same sessions
(stream first, then pages from the checkpoint, then live), over aiohttp. Its own module, so the
synchronous client and the CLI never import aiohttp."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiohttp

from ledger.errors import TallyError
from wallet.checkpoint import Checkpoint, Event
from wallet.errors import NODE_UNREACHABLE, ApiError
from wallet.sse import STREAM_IDLE_S, STREAM_LOST, SseParser
from wallet.subscription import PAGE_LIMIT, Notice, SubscriptionState, quiet

__all__ = ["AsyncEventSource", "AsyncSubscription", "Notice"]


class AsyncEventSource(Protocol):
    """What `AsyncSubscription` needs of a client (`wallet.async_client.AsyncClient` has it)."""

    url: str

    async def get_record(self, path: str) -> dict[str, Any]: ...
    def open_stream(
        self, idle_timeout: float = ...
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]: ...


class AsyncSubscription(SubscriptionState):
    """The same as `Subscription`, for the `AsyncClient`: `async for event in subscription`.

    `nodes`: the consortium's node URLs to fail over to (default: the client's one); the
    subscription points the client at the node it reads from.
    """

    def __init__(
        self,
        client: AsyncEventSource,
        after: Checkpoint | None = None,
        *,
        nodes: Sequence[str] | None = None,
        on_switch: Notice = quiet,
        idle_timeout: float = STREAM_IDLE_S,
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        super().__init__(after, nodes or (client.url,), on_switch, page_limit)
        self.client = client
        self.idle_timeout = idle_timeout
        self._response: aiohttp.ClientResponse | None = None

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        if self.client.url not in self.reconnects.nodes:
            self.client.url = self.reconnects.nodes[0]
        while not self.closed:
            try:
                async for event in self._session():
                    yield event
            except TallyError as error:
                step = self.recovery(error, self.client.url)
                if step is None:
                    return
                self.client.url, pause = step
                await asyncio.sleep(pause)

    async def backlog(self) -> AsyncIterator[Event]:
        """The events committed after the checkpoint until now, from pages only."""
        while not self.closed:
            before = self.cursor.covered
            fresh, upto = self.fresh_page(await self.client.get_record(self.page_path()))
            for event in self.handing_out(fresh, upto):
                yield event
            if self.cursor.covered <= before:
                return  # caught up

    def close(self) -> None:
        """End the iteration: a reader waiting on the stream wakes at once."""
        self.closed = True
        if self._response is not None:
            self._response.close()

    async def _session(self) -> AsyncIterator[Event]:
        async with self.client.open_stream(self.idle_timeout) as response:
            self._response, self.live_node = response, self.client.url
            try:
                async for earlier in self.backlog():
                    yield earlier
                self.reconnects.worked()
                async for message in _messages(response):
                    event, behind = self.live(message)
                    if event is None:
                        continue
                    if behind:
                        async for missed in self.backlog():
                            yield missed
                    if self.deliverable(event):
                        yield event
                    self.reconnects.worked()
            finally:
                self._response, self.live_node = None, None


async def _messages(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    """The SSE messages of an open stream; ApiError STREAM_LOST at its end, NODE_UNREACHABLE
    when it breaks or goes silent past its read timeout."""
    parser = SseParser()
    try:
        async for raw in response.content:
            message = parser.feed(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if message is not None:
                yield message
    except (TimeoutError, aiohttp.ClientError, OSError) as error:
        raise ApiError(NODE_UNREACHABLE, f"stream lost: {error!r}") from None
    raise ApiError(STREAM_LOST, "the node ended the stream")
