"""A checkpointed subscription to the chain's committed events (issue 17), for the synchronous
`Client` (`client.subscribe(after)`) and, in wallet/async_subscription.py, the `AsyncClient`
(`client.subscribe(after, nodes=)`).

It delivers every committed event after the checkpoint exactly once, in order, with no hole,
however often the connection breaks or the node goes down: each `Event` carries its
`checkpoint`, which the consumer stores and passes back as `after` when it starts again.

How: each session first opens the live stream (`GET /v1/stream`) of the node in use, so the node
holds on to every later commit for it; then pages through `GET /v1/events?after=` from the
checkpoint until a page brings nothing new; then reads the stream. Events are placed by their
chain-wide `seq` (wallet/checkpoint.py): one already delivered (the stream repeats what the
pages gave) is skipped, one past a gap sends the session back to the pages, which deliver what
lies between or vouch (`next`) that nothing there is for this caller (the read policy). When
the stream ends or breaks, or the node stops answering, the next node of the list is used (a
`FailoverClient`'s nodes, or `nodes=`), after a pause that grows while nothing works, and the
session starts again from the checkpoint: pages first, then live. A node's coded refusal (a
4xx other than busy) is raised.

Exactly once across restarts of the consumer needs one thing of it: store an event's effect and
its checkpoint together (one database transaction), so a crash cannot keep one without the
other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from ledger.errors import TallyError
from wallet import routes
from wallet.checkpoint import (
    HISTORY_ABSENT,
    Checkpoint,
    Cursor,
    Event,
    Placement,
    check_resumed,
    fresh_events,
    page_end,
)
from wallet.errors import NODE_UNREACHABLE, ApiError
from wallet.sse import STREAM_IDLE_S, STREAM_LOST, LiveStream, live_event

PAGE_LIMIT = 500  # events asked per page (the node also stops a page at its byte budget)
FIRST_PAUSE_S = 0.1  # the pause before the second try in a row; the first is at once
MAX_PAUSE_S = 2.0
RECONNECT = frozenset({NODE_UNREACHABLE, STREAM_LOST, HISTORY_ABSENT})
BUSY_STATUS = 503

Notice = Callable[[str], None]


class EventSource(Protocol):
    """What `Subscription` needs of a client (`wallet.client.Client` has it)."""

    url: str

    def get_record(self, path: str) -> dict[str, Any]: ...
    def open_stream(self, idle_timeout: float = ...) -> LiveStream: ...


def quiet(_: str) -> None:
    pass


def reconnects(error: TallyError) -> bool:
    """Whether a session that failed with `error` is started again (on the next node)."""
    return error.code in RECONNECT or getattr(error, "status", 0) in (BUSY_STATUS, 502, 504)


class Reconnects:
    """Which node the next session uses, and the pause before it: none after a session that
    delivered or caught up, then doubling from FIRST_PAUSE_S up to MAX_PAUSE_S. Every node
    lacking the next event (HISTORY_ABSENT from each in turn, as when all joined by snapshot)
    is final: no later try can find it."""

    def __init__(self, nodes: Sequence[str], on_switch: Notice) -> None:
        self.nodes = tuple(url.rstrip("/") for url in nodes)
        self.on_switch = on_switch
        self.pause = 0.0
        self.missing = 0  # sessions in a row that ended with HISTORY_ABSENT

    def worked(self) -> None:
        self.pause = 0.0
        self.missing = 0

    def after(self, failed_url: str, error: TallyError) -> tuple[str, float]:
        """The node to use after a session on `failed_url` ended with `error`, and the pause;
        `error` raised again once every node has answered HISTORY_ABSENT."""
        if error.code == HISTORY_ABSENT:
            self.missing += 1
            if self.missing >= len(self.nodes):
                raise error
        here = self.nodes.index(failed_url) if failed_url in self.nodes else -1
        url = self.nodes[(here + 1) % len(self.nodes)]
        self.on_switch(f"events from {failed_url}: {error.code} ({error}); reading from {url}")
        pause = self.pause
        self.pause = min(max(self.pause * 2, FIRST_PAUSE_S), MAX_PAUSE_S)
        return url, pause


class SubscriptionState:
    """What the sync and the async subscription share: the cursor, the resume check, the node
    list and the rules that place each page and stream message."""

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

    def page_path(self) -> str:
        """The next page to ask for; until the checkpoint is checked on a node, from one event
        before it, so the page shows the checkpoint's own event too."""
        after = self.cursor.covered - (0 if self.resume_checked else 1)
        return routes.events(after, self.page_limit)

    def fresh_page(self, answer: dict[str, Any]) -> tuple[list[Event], int]:
        """A page's events to deliver, and how far the page vouches (its `next`);
        CHECKPOINT_MISMATCH when it places the resumed checkpoint's event elsewhere."""
        records = routes.listed(answer, "events", "/v1/events")
        if not self.resume_checked:
            check_resumed(self.cursor, records)
            self.resume_checked = any(
                record.get("seq") == self.checkpoint.seq for record in records
            )
        fresh = fresh_events(self.cursor, records)
        return fresh, page_end(answer, fresh, self.cursor.covered)

    def handing_out(self, fresh: list[Event], upto: int) -> Iterator[Event]:
        """`fresh`'s events one by one, each taken by the cursor as it is handed out, then the
        page's reach (`upto`) covered; stops at `close()`."""
        for event in fresh:
            if self.closed:
                return
            self.take(event)
            yield event
        self.cursor.cover(upto)

    def recovery(self, error: TallyError, url: str) -> tuple[str, float] | None:
        """After a session on `url` ended with `error`: the node for the next session and the
        pause before it; None once closed; `error` raised again when it is final."""
        if self.closed:
            return None
        if not reconnects(error):
            raise error
        return self.reconnects.after(url, error)

    def live(self, message: tuple[str, str]) -> tuple[Event | None, bool]:
        """A stream message's event to deliver (or None), and whether a catch-up must run first
        (the event is past a hole: the pages bring what lies between)."""
        event = live_event(message)
        if event is None:
            return None, False
        return event, self.cursor.place(event) is Placement.AHEAD

    def deliverable(self, event: Event) -> bool:
        """After any catch-up: True to deliver `event` (the cursor takes it), False to skip it;
        ApiError STREAM_LOST when the pages did not reach it (start the session again).

        A stream event right after what is covered is delivered at once; one past a gap waits
        for the pages (the gap may hold events the caller may not read, which only a page can
        vouch for), which deliver it or cover it."""
        placement = self.cursor.place(event)
        if placement is Placement.AHEAD:  # the pages came from a node behind this stream's
            raise ApiError(STREAM_LOST, f"the pages stop before {event.seq}; reconnecting")
        if placement is Placement.NEXT:
            self.take(event)
            return True
        return False

    def take(self, event: Event) -> None:
        """`event` is delivered now: the checkpoint moves to it."""
        self.cursor.advance(event)
        self.resume_checked = True


class Subscription(SubscriptionState):
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
        on_switch: Notice = quiet,
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
            except TallyError as error:
                step = self.recovery(error, self.client.url)
                if step is None:
                    return
                self.client.url, pause = step
                time.sleep(pause)

    def backlog(self) -> Iterator[Event]:
        """The events committed after the checkpoint until now, from pages only (a batch job
        that runs now and then); the client's retries and failover apply to each page."""
        while not self.closed:
            before = self.cursor.covered
            fresh, upto = self.fresh_page(self.client.get_record(self.page_path()))
            yield from self.handing_out(fresh, upto)
            if self.cursor.covered <= before:
                return  # caught up

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
