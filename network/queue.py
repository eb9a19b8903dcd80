"""A bounded outgoing queue per peer: `send` never blocks, and a slow peer costs a fixed amount.

When the queue is full (by count or by bytes) the *oldest* messages go. Consensus traffic ages
badly — a prepare for a view that has moved on is worth less than the view change that follows
it — and PBFT recovers lost messages through retransmission, view change and state transfer,
so shedding the stale end keeps a lagging peer's backlog both bounded and useful.
"""

from __future__ import annotations

from collections import deque


class SendQueue:
    """FIFO of payloads bounded by `max_messages` and `max_bytes`, dropping the oldest."""

    __slots__ = ("_items", "bytes", "dropped", "max_bytes", "max_messages")

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        if max_messages < 1 or max_bytes < 1:
            raise ValueError("queue bounds must be positive")
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._items: deque[bytes] = deque()
        self.bytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, payload: bytes) -> int:
        """Append `payload`, first dropping the oldest entries it needs room for.

        Returns how many were dropped. A payload larger than `max_bytes` by itself still gets
        in (alone), so the bound is `max(max_bytes, one message)`.
        """
        dropped = 0
        while self._items and (
            len(self._items) >= self.max_messages or self.bytes + len(payload) > self.max_bytes
        ):
            self.bytes -= len(self._items.popleft())
            dropped += 1
        self._items.append(payload)
        self.bytes += len(payload)
        self.dropped += dropped
        return dropped

    def pop(self) -> bytes | None:
        """The oldest payload, or None when empty."""
        if not self._items:
            return None
        payload = self._items.popleft()
        self.bytes -= len(payload)
        return payload

    def clear(self) -> None:
        """Forget everything queued (the peer left the validator set)."""
        self._items.clear()
        self.bytes = 0
