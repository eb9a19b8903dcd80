"""Following the chain for the dashboard: recent blocks, tx/s, and a push to every open browser.

One background task per explorer keeps a window of the last blocks (verified as they arrive) and
the latest status. It wakes on the node's SSE stream (GET /v1/stream) when the node has one and
polls /v1/status otherwise; either way the node is asked for new blocks only, never for the whole
chain. Browsers subscribe to the explorer's own SSE endpoint and get a snapshot per change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from explorer.chain import BlockRow, ChainView
from explorer.reader import NodeError

log = logging.getLogger(__name__)

WINDOW_BLOCKS = 600
CHART_BUCKET_S = 10
CHART_BUCKETS = 30  # five minutes
POLL_S = 1.0


@dataclass(slots=True)
class LiveState:
    status: dict[str, Any] = field(default_factory=dict)
    blocks: deque[BlockRow] = field(default_factory=lambda: deque(maxlen=WINDOW_BLOCKS))
    error: str = ""
    version: int = 0


def tps_series(blocks: list[BlockRow], now_ms: int) -> list[dict[str, float]]:
    """Committed tx/s per bucket over the last minutes, by block time (oldest bucket first)."""
    span = CHART_BUCKET_S * 1000
    end = now_ms
    buckets = [0] * CHART_BUCKETS
    for row in blocks:
        age = end - row.time_ms
        if 0 <= age < span * CHART_BUCKETS:
            buckets[CHART_BUCKETS - 1 - age // span] += row.txs
    return [
        {"t": end - (CHART_BUCKETS - 1 - i) * span, "tps": count / CHART_BUCKET_S}
        for i, count in enumerate(buckets)
    ]


CLOSING = -1  # what a subscriber's queue gets when the explorer shuts down


class ChainFollower:
    def __init__(self, view: ChainView) -> None:
        self.view = view
        self.state = LiveState()
        self._subscribers: set[asyncio.Queue[int]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stream_task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        self._stream_task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        for task in (self._task, self._stream_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def subscribe(self) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=8)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[int]) -> None:
        self._subscribers.discard(queue)

    def end_subscriptions(self) -> None:
        """Tell every browser stream to end (CLOSING): the server is shutting down, and a
        graceful shutdown waits for open handlers."""
        for queue in self._subscribers:
            while queue.full():
                queue.get_nowait()
            queue.put_nowait(CLOSING)

    # -- following ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        """Turn the node's SSE `block` events into wake-ups; without a stream, polling does it."""
        while True:
            try:
                async for line in self.view.reader.stream():
                    if line.startswith("event: block"):
                        self._wake.set()
            except NodeError:
                pass
            await asyncio.sleep(5.0)  # the node restarted or has no stream: try again later

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except NodeError as error:
                if self.state.error != error.message:
                    self.state.error = error.message
                    self._publish()
            except Exception:  # the follower must outlive any single bad answer
                log.exception("following the chain failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            self._wake.clear()

    async def refresh(self) -> None:
        """Fetch the status and any blocks newer than those we hold."""
        status = await self.view.reader.status()
        height = int(status.get("height", 0))
        known = self.state.blocks[-1].height if self.state.blocks else 0
        changed = status != self.state.status or bool(self.state.error)
        self.state.status = status
        self.state.error = ""
        if height > known:
            await self.view.refresh_orgs()
            start = max(known + 1, height - 200 + 1, 1)
            while start <= height:
                limit = min(100, height - start + 1)
                blocks = await self.view.reader.blocks(start, limit)
                rows = sorted((self.view.row(b) for b in blocks), key=lambda r: r.height)
                if not rows:
                    break
                self.state.blocks.extend(r for r in rows if r.height > known)
                known = max(known, rows[-1].height)
                start = known + 1
            changed = True
        if changed:
            self._publish()

    def _publish(self) -> None:
        self.state.version += 1
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(self.state.version)

    # -- what the dashboard shows ---------------------------------------------------------------

    def recent(self, count: int) -> list[BlockRow]:
        return list(self.state.blocks)[-count:][::-1]

    def chart(self) -> list[dict[str, float]]:
        now_ms = int(time.time() * 1000)
        latest = self.state.blocks[-1].time_ms if self.state.blocks else now_ms
        return tps_series(list(self.state.blocks), max(now_ms, latest))

    def recent_tx_ids(self, count: int) -> list[tuple[str, BlockRow]]:
        """The ids of the newest committed txs with their block, newest first."""
        found: list[tuple[str, BlockRow]] = []
        for row in reversed(self.state.blocks):
            for tx_id in reversed(row.tx_ids):
                found.append((tx_id, row))
                if len(found) >= count:
                    return found
        return found
