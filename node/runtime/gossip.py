"""Transaction gossip: what a client gave this node reaches every other validator.

The primary needs the transactions to order them, and backups need them to notice a primary
that never does (censorship). Txs admitted over HTTP are batched for `flush_ms` (or until a
batch is full) and broadcast in one message; a peer admits them through its own mempool checks
and never forwards them again, so there are no loops and each tx crosses each link once.
A peer that gossips txs with bad signatures or bad encodings is faulty: each costs a fault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

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


class TxGossip:
    def __init__(
        self,
        peers: PeerTransport,
        driver: Driver,
        metrics: Metrics,
        *,
        flush_ms: int = FLUSH_MS,
        catching_up: Callable[[], bool] = lambda: False,
    ) -> None:
        """`catching_up()` true means we are behind (state transfer): gossiped txs are then
        dropped, since most are committed already and the others reach the primary anyway."""
        self.peers = peers
        self.driver = driver
        self.metrics = metrics
        self.flush_ms = flush_ms
        self.catching_up = catching_up
        self._batch: list[bytes] = []
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._admitting: set[asyncio.Task[None]] = set()

    # -- out ---------------------------------------------------------------------------------

    def forward(self, txs: list[SignedTx]) -> None:
        """Queue txs a client gave us; they leave within `flush_ms`, or at once when full."""
        for tx in txs:
            raw = tx.encode()
            self._batch.append(raw)
            self._bytes += len(raw)
            if len(self._batch) >= MAX_BATCH_TXS or self._bytes >= MAX_BATCH_BYTES:
                self.flush()
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

    # -- in ----------------------------------------------------------------------------------

    def on_txs(self, peer: int, body: memoryview) -> None:
        raws = decode_txs(body)
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

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._admitting):
            task.cancel()
        await asyncio.gather(*self._admitting, return_exceptions=True)
