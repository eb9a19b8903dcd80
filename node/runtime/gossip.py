"""Transaction gossip: what a client gave this node reaches every other validator.

The primary needs the transactions to order them, and backups need them to notice a primary
that never does (censorship). Txs admitted over HTTP are batched for `flush_ms` (or until a
batch is full) and broadcast in one message; a peer admits them through its own mempool checks
(signer and share included) and never forwards them again, so there are no loops and each tx
crosses each link once. A peer that gossips txs with bad signatures or bad encodings is faulty:
each costs a fault.

Sends go to connected peers only, so a tx accepted while no peer was connected would be
stranded (DESIGN.md §7). This node therefore re-announces the txs its clients gave it, while
they are still in its mempool (not committed, not expired): all of them to a peer that
(re)connects, and each again to everyone after `REANNOUNCE_FIRST_S`, then at doubling intervals
up to `REANNOUNCE_MAX_S`, a bounded batch per tick. A peer that already holds a tx drops the
copy unseen (`Mempool.needs_no_look`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ledger.types import SignedTx
from network.envelope import decode_txs, encode_txs
from node.runtime.driver import Driver
from node.runtime.metrics import Metrics
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

FLUSH_MS = 2
MAX_BATCH_TXS = 1000
MAX_BATCH_BYTES = 2 * 1024 * 1024
# Codes that an honest peer never gossips (it checked them on admission itself).
FAULTY_CODES = frozenset(
    {"BAD_SIGNATURE", "BAD_ENCODING", "NON_CANONICAL", "BAD_TX", "WRONG_CHAIN"}
)
# Re-announcement: the first after this long pending (well past a commit under load, so a busy
# network is not sent everything twice), then doubling up to the maximum.
REANNOUNCE_FIRST_S = 10.0
REANNOUNCE_MAX_S = 120.0
REANNOUNCE_TICK_S = 1.0
# Bounds: batches re-announced per tick, txs sent to a peer that connects, txs tracked.
REANNOUNCE_BATCHES_PER_TICK = 1
MAX_ON_CONNECT = 10_000
MAX_HELD = 200_000


@dataclass(slots=True)
class _Held:
    """A tx this node's clients gave it, and when it is next announced again."""

    raw: bytes
    interval: float


class TxGossip:
    def __init__(
        self,
        peers: PeerTransport,
        driver: Driver,
        metrics: Metrics,
        *,
        flush_ms: int = FLUSH_MS,
        catching_up: Callable[[], bool] = lambda: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`catching_up()` true means we are behind (state transfer): gossiped txs are then
        dropped, since most are committed already and the others reach the primary anyway."""
        self.peers = peers
        self.driver = driver
        self.metrics = metrics
        self.flush_ms = flush_ms
        self.catching_up = catching_up
        self.clock = clock
        self._batch: list[bytes] = []
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._admitting: set[asyncio.Task[None]] = set()
        self._held: dict[bytes, _Held] = {}  # tx id -> held tx, in the order clients gave them
        self._due: list[tuple[float, int, bytes]] = []  # heap of (when, tie-break, tx id)
        self._seq = itertools.count()
        self._ticker: asyncio.TimerHandle | None = None

    # -- out ---------------------------------------------------------------------------------

    def forward(self, txs: list[SignedTx]) -> None:
        """Queue txs a client gave us; they leave within `flush_ms`, or at once when full, and
        are held for re-announcement."""
        for tx in txs:
            raw = tx.encode()
            self._batch.append(raw)
            self._bytes += len(raw)
            if len(self._batch) >= MAX_BATCH_TXS or self._bytes >= MAX_BATCH_BYTES:
                self.flush()
            self._hold(tx.id, raw)
        if self._batch and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.flush_ms / 1000, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._batch:
            return
        batch, self._batch, self._bytes = self._batch, [], 0
        self.peers.broadcast_payload(encode_txs(batch), connected_only=True)
        self.metrics.gossip_txs.labels("out").inc(len(batch))

    # -- re-announcing -----------------------------------------------------------------------

    def _hold(self, tx_id: bytes, raw: bytes) -> None:
        if tx_id in self._held or len(self._held) >= MAX_HELD:
            return
        self._held[tx_id] = _Held(raw, REANNOUNCE_FIRST_S)
        heapq.heappush(self._due, (self.clock() + REANNOUNCE_FIRST_S, next(self._seq), tx_id))
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().call_later(REANNOUNCE_TICK_S, self._tick)

    def held(self) -> int:
        """Txs tracked for re-announcement (some may have committed since the last tick)."""
        return len(self._held)

    def _tick(self) -> None:
        self._ticker = None
        self.reannounce_due()
        if self._held:
            self._ticker = asyncio.get_running_loop().call_later(REANNOUNCE_TICK_S, self._tick)

    def reannounce_due(self) -> int:
        """Broadcast the held txs whose time has come, a bounded amount; drop those that left
        the mempool. Returns how many were sent."""
        now = self.clock()
        pending = self.driver.mempool.contains
        batches: list[list[bytes]] = [[]]
        size = 0
        while self._due and self._due[0][0] <= now:
            _, _, tx_id = self._due[0]
            held = self._held.get(tx_id)
            if held is None or not pending(tx_id):
                heapq.heappop(self._due)
                self._held.pop(tx_id, None)
                continue
            if len(batches[-1]) >= MAX_BATCH_TXS or size + len(held.raw) > MAX_BATCH_BYTES:
                if len(batches) >= REANNOUNCE_BATCHES_PER_TICK:
                    break
                batches.append([])
                size = 0
            heapq.heappop(self._due)
            batches[-1].append(held.raw)
            size += len(held.raw)
            held.interval = min(2 * held.interval, REANNOUNCE_MAX_S)
            heapq.heappush(self._due, (now + held.interval, next(self._seq), tx_id))
        sent = 0
        for batch in batches:
            if batch:
                self.peers.broadcast_payload(encode_txs(batch), connected_only=True)
                sent += len(batch)
        if sent:
            self.metrics.gossip_txs.labels("reannounced").inc(sent)
        return sent

    def peer_changed(self, peer: int, connected: bool) -> None:
        """A peer (re)connected: send it every held tx still pending (up to a bound) now."""
        if not connected or not self._held:
            return
        pending = self.driver.mempool.contains
        gone = [tx_id for tx_id in self._held if not pending(tx_id)]
        for tx_id in gone:
            del self._held[tx_id]  # its heap entry is dropped when it comes due
        raws = [held.raw for held in itertools.islice(self._held.values(), MAX_ON_CONNECT)]
        for start in range(0, len(raws), MAX_BATCH_TXS):
            chunk = raws[start : start + MAX_BATCH_TXS]
            self.peers.send_payload(peer, encode_txs(chunk), connected_only=True)
        if raws:
            self.metrics.gossip_txs.labels("reannounced").inc(len(raws))
            log.info("re-announced %d pending txs to %s", len(raws), self.peers.name(peer))

    # -- in ----------------------------------------------------------------------------------

    def on_txs(self, peer: int, body: memoryview) -> None:
        known = self.driver.mempool.needs_no_look
        raws = [raw for raw in decode_txs(body) if not known(raw)]
        if not raws:
            return
        if self.catching_up():
            self.metrics.gossip_txs.labels("dropped").inc(len(raws))
            return
        self.metrics.gossip_txs.labels("in").inc(len(raws))
        task = asyncio.get_running_loop().create_task(self._admit(peer, raws))
        self._admitting.add(task)
        task.add_done_callback(self._admitting.discard)

    async def _admit(self, peer: int, raws: list[bytes]) -> None:
        admissions = await self.driver.mempool.submit(raws)
        accepted = []
        for admission in admissions:
            if admission.error is None:
                if admission.id is not None:
                    accepted.append(admission.id)
            elif admission.error.code in FAULTY_CODES:
                self.peers.fault(peer, f"gossiped a tx refused with {admission.error.code}")
        if self.driver.running:
            self.driver.txs_arrived(accepted, forward=False)

    async def admitted(self) -> None:
        """Wait until every gossiped batch received so far has been through the mempool."""
        while self._admitting:
            await asyncio.gather(*self._admitting, return_exceptions=True)

    async def close(self) -> None:
        for handle in (self._timer, self._ticker):
            if handle is not None:
                handle.cancel()
        self._ticker = None
        for task in list(self._admitting):
            task.cancel()
        await asyncio.gather(*self._admitting, return_exceptions=True)
