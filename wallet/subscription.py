"""A checkpointed subscription to the chain's committed events (issue 17), for the synchronous
`Client` (`client.subscribe(after)`) and the `AsyncClient` (`client.subscribe(after, nodes=)`).

It delivers every committed event after the checkpoint exactly once, in order, with no hole,
however often the connection breaks or the node goes down: each `Event` carries its
`checkpoint`, which the consumer stores and passes back as `after` when it starts again.

How: each session first opens the live stream (`GET /v1/stream`) of the node in use, so the node
holds on to every later commit for it; then pages through `GET /v1/events?after=` from the
checkpoint until a page is empty; then reads the stream. Events are placed by their chain-wide
`seq` (wallet/checkpoint.py): one already delivered (the stream repeats what the pages gave) is
skipped, one past a hole sends the session back to paging. When the stream ends or breaks, or
the node stops answering, the next node of the list is used (a `FailoverClient`'s nodes, or
`nodes=`), after a pause that grows while nothing works, and the session starts again from the
checkpoint: pages first, then live. A node's coded refusal (a 4xx other than busy) is raised.

Exactly once across restarts of the consumer needs one thing of it: store an event's effect and
its checkpoint together (one database transaction), so a crash cannot keep one without the
other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import aiohttp

from ledger.errors import TallyError
from wallet import routes
from wallet.checkpoint import (
    EVENTS_MISSING,
    Checkpoint,
    Cursor,
    Event,
    Placement,
    check_resumed,
    fresh_events,
)
from wallet.errors import NODE_UNREACHABLE, ApiError
from wallet.sse import STREAM_IDLE_S, STREAM_LOST, LiveStream, SseParser, live_event

PAGE_LIMIT = 500  # events asked per page (the node also stops a page at its byte budget)
FIRST_PAUSE_S = 0.1  # the pause before the second try in a row; the first is at once
MAX_PAUSE_S = 2.0
RECONNECT = frozenset({NODE_UNREACHABLE, STREAM_LOST, EVENTS_MISSING})
BUSY_STATUS = 503

Notice = Callable[[str], None]


class EventSource(Protocol):
    """What `Subscription` needs of a client (`wallet.client.Client` has it)."""

    url: str

    def get_list(self, path: str, key: str) -> list[dict[str, Any]]: ...
    def open_stream(self, idle_timeout: float = ...) -> LiveStream: ...


class AsyncEventSource(Protocol):
    """What `AsyncSubscription` needs of a client (`wallet.async_client.AsyncClient` has it)."""

    url: str

    async def get_list(self, path: str, key: str) -> list[dict[str, Any]]: ...
    def open_stream(
        self, idle_timeout: float = ...
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]: ...


def _quiet(_: str) -> None:
    pass


def reconnects(error: TallyError) -> bool:
    """Whether a session that failed with `error` is started again (on the next node)."""
    return error.code in RECONNECT or getattr(error, "status", 0) in (BUSY_STATUS, 502, 504)


class Reconnects:
    """Which node the next session uses, and the pause before it: none after a session that
    delivered or caught up, then doubling from FIRST_PAUSE_S up to MAX_PAUSE_S."""

    def __init__(self, nodes: Sequence[str], on_switch: Notice) -> None:
        self.nodes = tuple(url.rstrip("/") for url in nodes)
        self.on_switch = on_switch
        self.pause = 0.0

    def worked(self) -> None:
        self.pause = 0.0

    def after(self, failed_url: str, error: TallyError) -> tuple[str, float]:
        """The node to use after a session on `failed_url` ended with `error`, and the pause."""
        here = self.nodes.index(failed_url) if failed_url in self.nodes else -1
        url = self.nodes[(here + 1) % len(self.nodes)]
        self.on_switch(f"events from {failed_url}: {error.code} ({error}); reading from {url}")
        pause = self.pause
        self.pause = min(max(self.pause * 2, FIRST_PAUSE_S), MAX_PAUSE_S)
        return url, pause


class _Core:
    """What both drivers share: the cursor, the resume check and the node list."""

    def __init__(
        self, after: Checkpoint | None, nodes: Sequence[str], on_switch: Notice, page_limit: int
    ) -> None:
        if not nodes:
            raise TallyError("NO_NODE", "no node to read events from")
        self.cursor = Cursor(after or Checkpoint())
        self.resume_checked = self.cursor.checkpoint.seq == 0
        self.reconnects = Reconnects(nodes, on_switch)
        self.page_limit = page_limit
        self.closed = False
        self.live_node: str | None = None  # the node whose stream is open, while one is

    @property
    def checkpoint(self) -> Checkpoint:
        """The last event delivered (where a new subscription would resume)."""
        return self.cursor.checkpoint

    def resume_path(self) -> str | None:
        """The page that holds the checkpoint's own event, while it is not yet checked."""
        if self.resume_checked:
            return None
        return routes.events(self.cursor.checkpoint.seq - 1, 1)

    def check_resume(self, records: list[Any]) -> None:
        check_resumed(self.cursor, records)
        self.resume_checked = any(record.get("seq") == self.checkpoint.seq for record in records)

    def page_path(self) -> str:
        return routes.events(self.cursor.checkpoint.seq, self.page_limit)

    def live(self, message: tuple[str, str]) -> tuple[Event | None, bool]:
        """A stream message's event to deliver (or None), and whether a catch-up must run first
        (the event is past a hole: the pages bring what lies between)."""
        event = live_event(message)
        if event is None:
            return None, False
        return event, self.cursor.place(event) is Placement.AHEAD

    def deliverable(self, event: Event) -> bool:
        """After any catch-up: True to deliver `event` (the cursor takes it), False to skip it;
        ApiError EVENTS_MISSING when the pages of the node in use did not reach it."""
        placement = self.cursor.place(event)
        if placement is Placement.AHEAD:
            raise ApiError(EVENTS_MISSING, f"no event {self.checkpoint.seq + 1} before {event.seq}")
        if placement is Placement.NEXT:
            self.take(event)
            return True
        return False

    def take(self, event: Event) -> None:
        """`event` is delivered now: the checkpoint moves to it."""
        self.cursor.advance(event)
        self.resume_checked = True


class Subscription(_Core):
    """Every committed event after `after` (default: from the first), exactly once, in order,
    across reconnects and failover: iterate it (it runs until `close()`), or take `backlog()`.

    `client`: a `Client`, or a `FailoverClient` whose nodes are tried in turn; the subscription
    points the client at the node it reads from. `on_switch` hears a line per reconnection.
    `idle_timeout`: seconds without a byte (the node sends a heartbeat every 15 s) before the
    node is taken as gone.
    """

    def __init__(
        self,
        client: EventSource,
        after: Checkpoint | None = None,
        *,
        on_switch: Notice = _quiet,
        idle_timeout: float = STREAM_IDLE_S,
        page_limit: int = PAGE_LIMIT,
    ) -> None:
        super().__init__(
            after, getattr(client, "urls", None) or (client.url,), on_switch, page_limit
        )
        self.client = client
        self.idle_timeout = idle_timeout
        self._stream: LiveStream | None = None

    def __iter__(self) -> Iterator[Event]:
        while not self.closed:
            try:
                yield from self._session()
            except (ApiError, TallyError) as error:
                if self.closed:
                    return
                if not reconnects(error):
                    raise
                url, pause = self.reconnects.after(self.client.url, error)
                self.client.url = url
                time.sleep(pause)

    def backlog(self) -> Iterator[Event]:
        """The events committed after the checkpoint until now, from pages only (a batch job
        that runs now and then); the client's retries and failover apply to each page."""
        while not self.closed:
            path = self.resume_path()
            if path is not None:
                self.check_resume(self.client.get_list(path, "events"))
            fresh = fresh_events(self.cursor, self.client.get_list(self.page_path(), "events"))
            if not fresh:
                return
            for event in fresh:
                if self.closed:
                    return
                self.take(event)
                yield event

    def close(self) -> None:
        """End the iteration, from any thread: a reader waiting on the stream wakes at once."""
        self.closed = True
        stream = self._stream
        if stream is not None:
            stream.interrupt()

    def _session(self) -> Iterator[Event]:
        stream = self.client.open_stream(self.idle_timeout)
        self._stream, self.live_node = stream, self.client.url
        try:
            if self.closed:
                return
            yield from self.backlog()
            self.reconnects.worked()
            for message in stream.messages():
                event, behind = self.live(message)
                if event is None:
                    continue
                if behind:
                    yield from self.backlog()
                if self.deliverable(event):
                    yield event
                self.reconnects.worked()
        finally:
            self._stream, self.live_node = None, None
            stream.close()


class AsyncSubscription(_Core):
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
        on_switch: Notice = _quiet,
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
            except (ApiError, TallyError) as error:
                if self.closed:
                    return
                if not reconnects(error):
                    raise
                url, pause = self.reconnects.after(self.client.url, error)
                self.client.url = url
                await asyncio.sleep(pause)

    async def backlog(self) -> AsyncIterator[Event]:
        """The events committed after the checkpoint until now, from pages only."""
        while not self.closed:
            path = self.resume_path()
            if path is not None:
                self.check_resume(await self.client.get_list(path, "events"))
            page = await self.client.get_list(self.page_path(), "events")
            fresh = fresh_events(self.cursor, page)
            if not fresh:
                return
            for event in fresh:
                if self.closed:
                    return
                self.take(event)
                yield event

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
