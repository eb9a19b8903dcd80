"""The event subscription (wallet/checkpoint.py, wallet/sse.py, wallet/subscription.py): the pure
cursor and parser, then the sync and async drivers against local HTTP servers that answer as
nodes would, scripted to do what real nodes rarely do on cue: repeat events on the stream, skip
past a hole, hold no events below a snapshot, end the stream, refuse.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ledger.errors import TallyError
from wallet.async_client import AsyncClient
from wallet.async_subscription import AsyncSubscription
from wallet.checkpoint import Checkpoint, Cursor, Event, Placement, check_resumed, fresh_events
from wallet.client import Client
from wallet.errors import ApiError
from wallet.failover import FailoverClient
from wallet.sse import SseParser, live_event
from wallet.subscription import Reconnects, Subscription


def record(seq: int) -> dict[str, Any]:
    """Event `seq` of a made-up chain: two events per tx, two txs per block."""
    tx = (seq - 1) // 2
    return {
        "seq": seq,
        "height": tx // 2 + 1,
        "index": tx % 2,
        "tx": f"{tx:064x}",
        "event": {"contract": "cash", "type": "moved", "n": seq},
    }


# -- the pure core ---------------------------------------------------------------------------


def test_a_checkpoint_survives_its_text_and_bad_text_is_refused() -> None:
    point = Event.of(record(7)).checkpoint
    assert Checkpoint.decode(point.encode()) == point == Checkpoint(7, 2, 1)
    for bad in (
        "",
        "[1,2,3]",
        '{"seq": 1}',
        '{"seq": -1, "height": 1, "index": 0}',
        '{"seq": true, "height": 1, "index": 0}',
        '{"seq": 0, "height": 4, "index": 0}',
    ):
        with pytest.raises(TallyError) as refused:
            Checkpoint.decode(bad)
        assert refused.value.code == "BAD_CHECKPOINT"


def test_an_event_record_without_what_orders_it_is_refused() -> None:
    for bad in ({}, {**record(1), "seq": 0}, {**record(1), "event": "x"}, "text"):
        with pytest.raises(TallyError) as refused:
            Event.of(bad)
        assert refused.value.code == "BAD_EVENT"


def test_the_cursor_places_each_event_and_never_takes_one_twice() -> None:
    cursor = Cursor(Checkpoint(2, 1, 0))
    assert [cursor.place(Event.of(record(n))) for n in (1, 2, 3, 4)] == [
        Placement.SEEN, Placement.SEEN, Placement.NEXT, Placement.AHEAD,
    ]  # fmt: skip
    with pytest.raises(ValueError):
        cursor.advance(Event.of(record(2)))  # delivered already
    cursor.advance(Event.of(record(3)))
    assert cursor.checkpoint == Checkpoint(3, 1, 1) and cursor.covered == 3


def test_a_page_skips_what_was_delivered_and_refuses_disorder() -> None:
    cursor = Cursor(Checkpoint(2, 1, 0))
    assert [e.seq for e in fresh_events(cursor, [record(n) for n in (2, 3, 5)])] == [3, 5]
    with pytest.raises(TallyError) as disorder:
        fresh_events(cursor, [record(5), record(4)])
    assert disorder.value.code == "BAD_EVENT"
    cursor.cover(9)  # a page vouched for everything readable up to 9
    assert cursor.place(Event.of(record(10))) is Placement.NEXT
    assert cursor.checkpoint == Checkpoint(2, 1, 0)  # still the last event delivered


def test_a_checkpoint_of_another_chain_is_not_resumed() -> None:
    cursor = Cursor(Checkpoint(5, 9, 0))
    check_resumed(cursor, [])  # a node that does not hold it yet says nothing
    with pytest.raises(TallyError) as other:
        check_resumed(cursor, [record(5)])  # event 5 is at height 2 here
    assert other.value.code == "CHECKPOINT_MISMATCH"


def test_sse_lines_make_messages() -> None:
    parser = SseParser()
    lines = [": heartbeat", "", "event: event", 'data: {"a":', "data: 1}", "", "data: x", ""]
    assert [m for line in lines if (m := parser.feed(line))] == [
        ("event", '{"a":\n1}'),
        ("message", "x"),
    ]
    assert live_event(("block", "{}")) is None
    assert live_event(("event", json.dumps(record(3)))) == Event.of(record(3))
    with pytest.raises(ApiError) as dropped:
        live_event(("overflow", "{}"))
    assert dropped.value.code == "STREAM_LOST"


def test_reconnects_go_round_the_list_with_a_pause_that_grows_while_nothing_works() -> None:
    heard: list[str] = []
    ring = Reconnects(["http://a", "http://b/", "http://c"], heard.append)
    lost = ApiError("NODE_UNREACHABLE", "gone")
    steps = [ring.after(url, lost) for url in ("http://a", "http://b", "http://c", "http://a")]
    assert steps == [("http://b", 0.0), ("http://c", 0.1), ("http://a", 0.2), ("http://b", 0.4)]
    for _ in range(10):
        ring.after("http://a", lost)
    assert ring.after("http://a", lost)[1] == 2.0 and len(heard) == 15
    ring.worked()
    assert ring.after("http://a", lost)[1] == 0.0


# -- the drivers against scripted nodes --------------------------------------------------------


@dataclass
class Node:
    """A node's event log up to `events` (or, page request by page request, `tips` in turn,
    as the chain grows), from `lowest` (the first it holds, as after a snapshot), less the
    `hidden` events its read policy keeps from this caller; and, per stream connection in turn,
    the events that connection tells before it ends (None: it ends at once; "hang": it stays
    open, telling nothing more). Pages answer as node/api/blocks.py: `next` passes hidden
    events, and a page that would start below `lowest` is 410 HISTORY_ABSENT."""

    events: int = 0
    tips: list[int] = field(default_factory=list)
    lowest: int = 1
    hidden: frozenset[int] = frozenset()
    streams: list[list[int] | str | None] = field(default_factory=list)
    refuse_stream: int = 0  # a status to answer the stream with, instead (0: none)
    seen: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def page(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        after, limit = int(query["after"][0]), int(query["limit"][0])
        if self.tips:
            self.events = self.tips.pop(0)
        if after + 1 < self.lowest <= self.events:
            return 410, {"error": {"code": "HISTORY_ABSENT", "message": "below the snapshot"}}
        seqs = list(range(after + 1, min(self.events, after + limit) + 1))
        shown = [record(n) for n in seqs if n not in self.hidden]
        return 200, {"events": shown, "next": seqs[-1] if seqs else after}


def serve(node: Node) -> tuple[str, http.server.ThreadingHTTPServer]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urllib.parse.urlparse(self.path)
            node.seen.append(parts.path)
            if parts.path == "/v1/events":
                self._json(*node.page(urllib.parse.parse_qs(parts.query)))
            elif node.refuse_stream:
                self._json(node.refuse_stream, {"error": {"code": "NO", "message": "refused"}})
            else:
                self._stream(node.streams.pop(0) if node.streams else "hang")

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, script: list[int] | str | None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b": heartbeat\n\nevent: block\ndata: {}\n\n")
            for seq in script if isinstance(script, list) else []:
                self.wfile.write(f"event: event\ndata: {json.dumps(record(seq))}\n\n".encode())
            self.wfile.flush()
            if script == "hang":
                node.release.wait(10)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture
def nodes() -> Iterator[list[tuple[str, Node]]]:
    made: list[tuple[Node, http.server.ThreadingHTTPServer]] = []
    found: list[tuple[str, Node]] = []
    for _ in range(2):
        node = Node()
        url, server = serve(node)
        made.append((node, server))
        found.append((url, node))
    yield found
    for node, server in made:
        node.release.set()
        server.shutdown()
        server.server_close()


def take(subscription: Subscription, count: int) -> list[int]:
    got: list[int] = []
    for event in subscription:
        got.append(event.seq)
        if len(got) == count:
            subscription.close()
    return got


def test_pages_then_live_with_repeats_and_a_hole_each_event_once(
    nodes: list[tuple[str, Node]],
) -> None:
    (url, node), _ = nodes
    node.tips = [6, 6, 10]  # the pages reach 6; later 7..10 are committed
    node.streams = [[5, 6, 9, 7, 10], "hang"]  # repeats 5 and 6, then 9 past a hole
    assert take(Subscription(Client(url)), 10) == list(range(1, 11))
    assert node.seen[:2] == ["/v1/stream", "/v1/events"]  # live first, then the pages


def test_a_resumed_subscription_starts_after_its_checkpoint_across_a_stream_that_ends(
    nodes: list[tuple[str, Node]],
) -> None:
    (url, node), _ = nodes
    node.tips = [6, 6, 6, 8]  # 7 and 8 commit while the first stream is down
    node.streams = [None, [8], "hang"]  # the first stream ends at once; reconnect, pages again
    resumed = Checkpoint.decode(Event.of(record(4)).checkpoint.encode())
    assert take(Subscription(Client(url), resumed), 4) == [5, 6, 7, 8]
    assert node.seen.count("/v1/stream") >= 2


def test_a_node_without_the_events_sends_the_subscription_to_the_next(
    nodes: list[tuple[str, Node]],
) -> None:
    (first_url, first), (second_url, second) = nodes
    first.events, first.lowest = 9, 6  # joined by snapshot: nothing below event 6
    second.events = 9
    heard: list[str] = []
    client = FailoverClient([first_url, second_url])
    subscription = Subscription(client, Event.of(record(2)).checkpoint, on_switch=heard.append)
    assert take(subscription, 7) == [3, 4, 5, 6, 7, 8, 9]
    assert client.url == second_url and "HISTORY_ABSENT" in heard[0]


def test_events_no_node_holds_are_reported_not_awaited_for_ever(
    nodes: list[tuple[str, Node]],
) -> None:
    (first_url, first), (second_url, second) = nodes
    for node in (first, second):
        node.events, node.lowest = 9, 6  # both joined by snapshot past event 5
    client = FailoverClient([first_url, second_url])
    with pytest.raises(TallyError) as missing:
        next(iter(Subscription(client, Event.of(record(2)).checkpoint)))
    assert missing.value.code == "HISTORY_ABSENT"


def test_a_caller_that_may_read_only_some_events_gets_those_once_in_order(
    nodes: list[tuple[str, Node]],
) -> None:
    """The read policy leaves events out of pages and streams (seq numbers jump); a page's
    `next` vouches for the gaps, and a stream event past a gap waits for the pages."""
    (url, node), _ = nodes
    node.hidden = frozenset({2, 3, 6, 7, 8})
    node.tips = [5, 5, 10]  # the pages reach 5; later 6..10 commit
    node.streams = [[4, 9, 10], "hang"]  # 9 comes past the hidden 6..8
    assert take(Subscription(Client(url)), 5) == [1, 4, 5, 9, 10]


def test_a_refused_stream_is_raised_not_retried(nodes: list[tuple[str, Node]]) -> None:
    (url, node), _ = nodes
    node.refuse_stream = 401
    with pytest.raises(ApiError) as refused:
        next(iter(Subscription(Client(url))))
    assert refused.value.code == "NO" and node.seen == ["/v1/stream"]


def test_a_checkpoint_the_node_places_elsewhere_is_refused(nodes: list[tuple[str, Node]]) -> None:
    (url, node), _ = nodes
    node.events = 5
    with pytest.raises(TallyError) as other:
        next(iter(Subscription(Client(url), Checkpoint(4, 7, 0))))
    assert other.value.code == "CHECKPOINT_MISMATCH"


def test_the_async_subscription_fails_over_and_delivers_each_event_once(
    nodes: list[tuple[str, Node]],
) -> None:
    (first_url, first), (second_url, second) = nodes
    first.events, first.streams = 3, [[2, 3, 3]]  # then it ends: the next node serves
    second.events, second.streams = 7, [[6, 4, 7], "hang"]

    async def run() -> list[int]:
        got: list[int] = []
        async with AsyncClient(first_url) as client:
            subscription: AsyncSubscription = client.subscribe(nodes=[first_url, second_url])
            async for event in subscription:
                got.append(event.seq)
                if len(got) == 7:
                    subscription.close()
        return got

    assert asyncio.run(run()) == [1, 2, 3, 4, 5, 6, 7]
