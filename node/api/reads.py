"""Heavy reads off the event loop, a bounded number at a time, and answers bounded in bytes.

The loop that serves HTTP also runs consensus: a page of 100 large blocks is ~0.3 s of decoding
and encoding, and two dozen of them at once stalled the loop long enough for a view change
(issue 11, finding 4). So a handler whose answer grows with block size or row count hands its
store reads and JSON encoding to `offload`, which runs them on a few threads (plyvel releases
the GIL while LevelDB reads; the loop thread keeps its turn at the GIL for the rest) and admits
at most `max_heavy_reads` at once: beyond that the client gets 503 BUSY with Retry-After at
once, instead of a queue that grows without bound. Listing answers are built as a `Page` that
stops adding rows at a byte budget, so what one answer holds in memory is bounded too.

Committed blocks, receipts and events never change, so a read thread sees the same bytes the
loop would. State reads on a thread may straddle a commit (the loop commits while the thread
reads): an answer of several records, such as a trace or a page of payments, can then join two
consecutive committed states. Each record is whole (a block's writes land in one batch); a
LevelDB snapshot per answer would make the whole answer one state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from aiohttp import web

from node.api.limits import DEFAULT_LIMITS, ApiLimits
from node.api.responses import busy, encode_json

P = ParamSpec("P")
T = TypeVar("T")


class Slots:
    """A count of places that is taken without waiting: either there is one, or the answer is
    no. Used only on the event loop's thread, so it needs no lock."""

    __slots__ = ("capacity", "refused", "taken")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.taken = 0
        self.refused = 0

    def try_take(self) -> bool:
        if self.taken >= self.capacity:
            self.refused += 1
            return False
        self.taken += 1
        return True

    def release(self) -> None:
        self.taken -= 1


class ReadPool:
    """The read threads and the admission count in front of them."""

    def __init__(self, limits: ApiLimits) -> None:
        self.slots = Slots(limits.max_heavy_reads)
        self._threads = limits.read_threads
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work(*args)` on a read thread; 503 BUSY at once when `max_heavy_reads` are in."""
        if not self.slots.try_take():
            raise busy("the node is serving as many heavy reads as it allows; retry shortly")
        try:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="api-read")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, lambda: work(*args, **kwargs))
        finally:
            self.slots.release()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


READS: web.AppKey[ReadPool] = web.AppKey("reads", ReadPool)
LIMITS: web.AppKey[ApiLimits] = web.AppKey("limits", ApiLimits)
_shared: ReadPool | None = None


def read_pool(request: web.Request) -> ReadPool:
    """The app's pool; route modules mounted on their own (unit tests) share a default one."""
    global _shared
    pool = request.app.get(READS)
    if pool is not None:
        return pool
    if _shared is None:
        _shared = ReadPool(DEFAULT_LIMITS)
    return _shared


def limits(request: web.Request) -> ApiLimits:
    return request.app.get(LIMITS, DEFAULT_LIMITS)


async def offload(
    request: web.Request, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run `work` for this request on a read thread (see the module docstring)."""
    return await read_pool(request).run(work, *args, **kwargs)


ENVELOPE_BYTES = 512  # what a listing holds beside its rows: a cursor, a height or two


@dataclass(slots=True)
class Page:
    """JSON rows of a listing, added while the whole answer stays within `budget` bytes
    (always at least one row, however large)."""

    budget: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0

    def add(self, row: Any) -> bool:
        """Encode and keep `row`; False, keeping nothing, if it would pass the budget."""
        part = encode_json(row)
        if self.parts and self.size + len(part) + 1 > self.budget - ENVELOPE_BYTES:
            return False
        self.parts.append(part)
        self.size += len(part) + 1
        return True

    def __len__(self) -> int:
        return len(self.parts)

    def body(self, key: str, rest: dict[str, Any]) -> bytes:
        """`{key: [rows], **rest}`, encoded."""
        rows = b'{"' + key.encode() + b'":[' + b",".join(self.parts) + b"]"
        tail = encode_json(rest)
        return rows + (b"," + tail[1:] if rest else b"}")
