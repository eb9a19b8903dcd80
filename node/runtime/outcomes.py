"""What clients wait for beside the driver: a tx's receipt (or why it left), and each commit.

The driver settles outcomes as blocks commit or txs leave the mempool; API handlers wait on
receipts (`?wait=commit`) and follow commits (the live stream) here, without reaching into the
driver's state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ledger.chain import ChainStore
from ledger.types import Block, Certificate, ErrorInfo, Receipt


@dataclass(frozen=True, slots=True)
class CommittedNotice:
    """What subscribers (the live stream) hear after each commit."""

    block: Block
    block_hash: bytes
    certificate: Certificate
    receipts: tuple[Receipt, ...]
    first_event_seq: int  # sequence number of the block's first event (if any)


class _Waiter:
    """One request waiting for several txs' receipts; resolved once all are in."""

    __slots__ = ("future", "receipts", "remaining")

    def __init__(self, ids: set[bytes]) -> None:
        self.remaining = ids
        self.receipts: dict[bytes, Receipt | ErrorInfo] = {}
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def settle(self, tx_id: bytes, outcome: Receipt | ErrorInfo) -> None:
        self.receipts[tx_id] = outcome
        self.remaining.discard(tx_id)
        if not self.remaining and not self.future.done():
            self.future.set_result(None)


class Outcomes:
    """Receipt waiters by tx id, and the queues of commit subscribers."""

    def __init__(self, store: ChainStore) -> None:
        self._store = store
        self._waiters: dict[bytes, list[_Waiter]] = {}
        self._subscribers: list[asyncio.Queue[CommittedNotice | None]] = []

    def settle(self, tx_id: bytes, outcome: Receipt | ErrorInfo) -> None:
        """`tx_id` committed (a receipt) or left the mempool unordered (why)."""
        waiters = self._waiters.pop(tx_id, None)
        if waiters:
            for waiter in waiters:
                waiter.settle(tx_id, outcome)

    def committed(self, notice: CommittedNotice) -> None:
        """Settle the block's receipts and tell every subscriber."""
        if self._waiters:
            for receipt in notice.receipts:
                self.settle(receipt.tx, receipt)
        for queue in list(self._subscribers):
            if not _offer(queue, notice):
                self._subscribers.remove(queue)

    async def wait_for(
        self, tx_ids: list[bytes], timeout: float
    ) -> dict[bytes, Receipt | ErrorInfo]:
        """Receipts (or why a tx was dropped) for `tx_ids`, as many as arrive within `timeout`.

        Call without awaiting anything between admitting the txs and this call, or check the
        store first, so no commit slips by unseen.
        """
        waiter = _Waiter(set(tx_ids))
        for tx_id in tx_ids:
            location = self._store.tx_location(tx_id)
            if location is not None:
                receipt = self._store.receipt(*location)
                if receipt is not None:
                    waiter.settle(tx_id, receipt)
                    continue
            self._waiters.setdefault(tx_id, []).append(waiter)
        if waiter.remaining:
            try:
                await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
            except TimeoutError:
                pass
            finally:
                self._forget(waiter)
        return waiter.receipts

    def _forget(self, waiter: _Waiter) -> None:
        for tx_id in waiter.remaining:
            listed = self._waiters.get(tx_id)
            if listed is not None and waiter in listed:
                listed.remove(waiter)
                if not listed:
                    del self._waiters[tx_id]

    def subscribe(self, max_backlog: int = 1024) -> asyncio.Queue[CommittedNotice | None]:
        """A queue of commit notices; a subscriber that falls `max_backlog` behind is dropped
        (it receives None) rather than let memory grow."""
        queue: asyncio.Queue[CommittedNotice | None] = asyncio.Queue(max_backlog)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[CommittedNotice | None]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def close(self) -> None:
        """End every subscriber's stream (each receives None)."""
        for queue in self._subscribers:
            _offer(queue, None)


def _offer(queue: asyncio.Queue[CommittedNotice | None], item: CommittedNotice | None) -> bool:
    """Put without waiting; a full queue loses its oldest item to a final None, and False."""
    try:
        queue.put_nowait(item)
        return True
    except asyncio.QueueFull:
        queue.get_nowait()
        queue.put_nowait(None)
        return False
