"""The pure core of the event subscription (issue 17): where a consumer is in the chain's event
log, the committed events it receives, and the one rule that keeps their order.

Every committed contract event has a sequence number `seq`, 1, 2, 3... in commit order (block
height, then the tx's index in its block, then the event's place in its receipt). Every node
numbers the same events the same way, since each executes the same blocks; `GET
/v1/events?after=SEQ` pages from any of them and `GET /v1/stream` tells each event with its
`seq` as it commits. So a consumer's position is the `seq` of the last event it handled: a
`Checkpoint`, which also names that event's height and index so it can be checked on resume and
read by people. `Cursor.place` decides, for each record that arrives from a page or the live
stream, whether it is the next one (deliver), one already delivered (skip) or past a gap (ask
the pages what lies between first: events the caller may not read, or ones not yet paged).
No I/O here; the drivers are in wallet/subscription.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ledger.errors import TallyError

BAD_CHECKPOINT = "BAD_CHECKPOINT"  # a saved checkpoint that cannot be read
BAD_EVENT = "BAD_EVENT"  # a node's event record without its seq, height, index or tx
HISTORY_ABSENT = "HISTORY_ABSENT"  # a node without the next event (below its snapshot): 410
CHECKPOINT_MISMATCH = "CHECKPOINT_MISMATCH"  # the node's event at the checkpoint is another


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The last event a consumer handled: its `seq`, and the `height` and `index` (the tx's
    place in its block) it was committed at. `Checkpoint()` is the start of the chain."""

    seq: int = 0
    height: int = 0
    index: int = 0

    def encode(self) -> str:
        """A short text to store (`Checkpoint.decode` reads it back)."""
        return json.dumps({"seq": self.seq, "height": self.height, "index": self.index})

    @classmethod
    def decode(cls, text: str) -> Checkpoint:
        """A checkpoint saved by `encode`; TallyError BAD_CHECKPOINT when it is not one."""
        try:
            fields = json.loads(text)
            values = (fields["seq"], fields["height"], fields["index"])
        except (ValueError, TypeError, KeyError):
            raise TallyError(BAD_CHECKPOINT, f"not a saved checkpoint: {text[:80]!r}") from None
        if not all(type(value) is int and value >= 0 for value in values):
            raise TallyError(BAD_CHECKPOINT, "a checkpoint holds three non-negative integers")
        if (values[0] == 0) != (values[1] == 0):
            raise TallyError(BAD_CHECKPOINT, "a checkpoint past an event names its height")
        return cls(*values)


@dataclass(frozen=True, slots=True)
class Event:
    """One committed contract event: `event` is what the contract emitted (`contract`, `type`
    and its fields), committed by tx `tx` at (`height`, `index`), number `seq` of the chain."""

    seq: int
    height: int
    index: int
    tx: str
    event: dict[str, Any]

    @property
    def checkpoint(self) -> Checkpoint:
        """Where a consumer that has handled this event resumes from."""
        return Checkpoint(self.seq, self.height, self.index)

    @property
    def kind(self) -> str:
        """`contract.type`, e.g. `cash.transfer`."""
        return f"{self.event.get('contract', '')}.{self.event.get('type', '')}"

    @classmethod
    def of(cls, record: Any) -> Event:
        """A node's event record (a page item or a stream message); TallyError BAD_EVENT when it
        lacks what ordering needs."""
        try:
            seq, height, index = (int(record[name]) for name in ("seq", "height", "index"))
            tx, event = str(record["tx"]), record["event"]
        except (KeyError, TypeError, ValueError):
            raise TallyError(BAD_EVENT, f"not an event record: {str(record)[:120]}") from None
        if seq < 1 or height < 1 or index < 0 or not isinstance(event, dict):
            raise TallyError(BAD_EVENT, f"not an event record: {str(record)[:120]}")
        return cls(seq, height, index, tx, event)


class Placement(Enum):
    NEXT = "next"  # the event right after what the cursor covers: deliver it
    SEEN = "seen"  # within what the cursor covers: delivered already (or not for us), skip it
    AHEAD = "ahead"  # past a gap: the pages say what lies between first


@dataclass(slots=True)
class Cursor:
    """A consumer's place in the event log: `checkpoint`, the last event delivered, and
    `covered`, the seq up to which every event the caller may read has been delivered.

    `covered` runs ahead of the checkpoint when a page's `next` passes events the node's read
    policy keeps from this caller (DESIGN.md §9): then the seq numbers a caller sees jump, and
    only a page, which vouches for everything up to its `next`, can say a gap is no loss.
    Invariant: the events delivered are exactly the readable ones with seq in (start,
    covered], in order; nothing enters out of turn, whatever order and repetition the pages and
    streams of several nodes bring.
    """

    checkpoint: Checkpoint
    covered: int = -1  # (set from the checkpoint)

    def __post_init__(self) -> None:
        self.covered = max(self.covered, self.checkpoint.seq)

    def place(self, event: Event) -> Placement:
        if event.seq <= self.covered:
            return Placement.SEEN
        if event.seq == self.covered + 1:
            return Placement.NEXT
        return Placement.AHEAD

    def advance(self, event: Event) -> None:
        """Take `event` as delivered: the NEXT one, or one a page vouches for."""
        if event.seq <= self.covered:
            raise ValueError(f"event {event.seq} is within what is covered ({self.covered})")
        self.checkpoint = event.checkpoint
        self.covered = event.seq

    def cover(self, upto: int) -> None:
        """A page said no readable event lies in (covered, upto] beyond those it gave."""
        self.covered = max(self.covered, upto)

    def matches(self, event: Event) -> bool:
        """Whether `event`, the node's record at the checkpoint's seq, is the checkpoint's event
        (same height and index): a checkpoint from another chain, or edited, is not resumed."""
        return (event.seq, event.height, event.index) == (
            self.checkpoint.seq,
            self.checkpoint.height,
            self.checkpoint.index,
        )


def fresh_events(cursor: Cursor, records: list[Any]) -> list[Event]:
    """The events of a page of `GET /v1/events` to deliver, in order: those past what the cursor
    covers. The seq numbers may jump (events the caller may not read are left out); a node
    never steps over events it lacks (it answers 410 HISTORY_ABSENT instead). TallyError
    BAD_EVENT for a page out of order."""
    fresh: list[Event] = []
    last = cursor.covered
    for record in records:
        event = Event.of(record)
        if event.seq <= cursor.covered:
            continue
        if event.seq <= last:
            raise TallyError(BAD_EVENT, f"the page is not in order at event {event.seq}")
        fresh.append(event)
        last = event.seq
    return fresh


def page_end(answer: dict[str, Any], fresh: list[Event], covered: int) -> int:
    """How far a page vouches: its `next` (every readable event up to it is in the page), and
    at least its last event."""
    following = answer.get("next")
    upto = following if type(following) is int else covered
    return max(upto, fresh[-1].seq if fresh else covered)


def check_resumed(cursor: Cursor, records: list[Any]) -> None:
    """On resume, the node's page from `seq - 1` shows the checkpoint's own event: same
    height and index, or TallyError CHECKPOINT_MISMATCH (a checkpoint of another chain, or
    edited). A node that does not hold that event yet says nothing either way."""
    for record in records:
        event = Event.of(record)
        if event.seq == cursor.checkpoint.seq and not cursor.matches(event):
            raise TallyError(
                CHECKPOINT_MISMATCH,
                f"event {event.seq} is at height {event.height} index {event.index} on this node, "
                f"not at height {cursor.checkpoint.height} index {cursor.checkpoint.index}",
            )
