"""The per-peer send queue stays within its bounds by shedding the oldest messages."""

from __future__ import annotations

import pytest

from network.queue import SendQueue


def test_fifo_order() -> None:
    queue = SendQueue(max_messages=10, max_bytes=1000)
    for payload in (b"a", b"b", b"c"):
        queue.push(payload)
    assert [queue.pop(), queue.pop(), queue.pop(), queue.pop()] == [b"a", b"b", b"c", None]
    assert queue.bytes == 0


def test_count_bound_drops_the_oldest() -> None:
    queue = SendQueue(max_messages=3, max_bytes=1000)
    drops = [queue.push(bytes([n])) for n in range(5)]
    assert drops == [0, 0, 0, 1, 1]
    assert len(queue) == 3 and queue.dropped == 2
    assert [queue.pop(), queue.pop(), queue.pop()] == [b"\x02", b"\x03", b"\x04"]


def test_byte_bound_drops_as_many_as_needed() -> None:
    queue = SendQueue(max_messages=100, max_bytes=10)
    for _ in range(5):
        queue.push(b"xx")
    assert queue.push(b"y" * 7) == 4  # 10 bytes held; 7 more need four of them gone
    assert queue.bytes == 9 and len(queue) == 2


def test_bounds_hold_under_a_flood() -> None:
    queue = SendQueue(max_messages=50, max_bytes=4096)
    for n in range(10_000):
        queue.push(b"z" * (n % 200 + 1))
        assert len(queue) <= 50 and queue.bytes <= 4096
    assert queue.dropped == 10_000 - len(queue)


def test_a_message_larger_than_the_byte_bound_travels_alone() -> None:
    queue = SendQueue(max_messages=10, max_bytes=10)
    queue.push(b"a")
    assert queue.push(b"b" * 50) == 1
    assert len(queue) == 1 and queue.pop() == b"b" * 50


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SendQueue(0, 10)
