"""Snapshot sync, the serving side: offers of our tip, and chunks of the state at a height.

An offer is our committed tip as a snapshot target: its block and certificate (and our event
count). A chunk is cut from the state tree's version H (ledger.snapshot), which no later block
changes, so what we serve at H stays consistent while we go on committing; the walk runs on a
thread, not on the loop that drives consensus. One chunk per peer is cut at a time; an ask that
comes meanwhile waits its turn, and replaces any ask already waiting (the asker gave up on that
one: it prefetches the next range and re-asks when a chunk failed), so a peer costs us at most
two chunks' work however fast it asks. A height we no longer hold (pruned past `[state]
retain_heights`) is answered with its code.
"""

from __future__ import annotations

import asyncio
import logging

from ledger.chain import ChainStore
from ledger.errors import StoreError, TallyError
from ledger.message_bounds import frame_budget
from ledger.snapshot import SnapshotChunk, serve_chunk
from network.snapshot_wire import (
    ChunkAnswer,
    ChunkAsk,
    SnapshotOffer,
    decode_chunk_ask,
    decode_snapshot_ask,
    encode_chunk,
    encode_offer,
)
from node.runtime.metrics import Metrics
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20  # leaves per chunk, in bytes (a frame holds more: params.max_frame_bytes)
CHUNK_KEYS = 4096
PROOF_RESERVE = 16 * 1024  # the last leaf's proof (256 hashes at most) and the fields around


class SnapshotServer:
    def __init__(
        self, peers: PeerTransport, store: ChainStore, metrics: Metrics, frame_bytes: int
    ) -> None:
        self.peers = peers
        self.store = store
        self.metrics = metrics
        self.chunk_bytes = min(CHUNK_BYTES, frame_bytes - PROOF_RESERVE)
        self._serving: set[int] = set()  # peers whose chunk is being cut
        self._next: dict[int, ChunkAsk] = {}  # the ask each of them made meanwhile
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def for_params(
        peers: PeerTransport, store: ChainStore, metrics: Metrics, params: dict[str, int]
    ) -> SnapshotServer:
        return SnapshotServer(peers, store, metrics, frame_budget(params))

    def on_ask(self, peer: int, body: memoryview) -> None:
        request_id = decode_snapshot_ask(body)
        tip = self.store.tip()
        block = self.store.block(tip.height)
        certificate = self.store.certificate(tip.height)
        offer = SnapshotOffer(
            request_id,
            tip.height,
            None if block is None else block.encode(),
            None if certificate is None else certificate.encode(),
            tip.event_seq,
        )
        self.peers.send_payload(peer, encode_offer(offer))

    def on_chunk_ask(self, peer: int, body: memoryview) -> None:
        ask = decode_chunk_ask(body)
        if peer in self._serving:
            self._next[peer] = ask
            return
        self._start(peer, ask)

    def _start(self, peer: int, ask: ChunkAsk) -> None:
        self._serving.add(peer)
        task = asyncio.get_running_loop().create_task(
            self._serve(peer, ask.request_id, ask.height, ask.after), name="snapshot-serve"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, peer: int, request_id: int, height: int, after: int | None) -> None:
        try:
            await self._answer(peer, request_id, height, after)
        finally:
            self._serving.discard(peer)
            waiting = self._next.pop(peer, None)
            if waiting is not None:
                self._start(peer, waiting)

    async def _answer(self, peer: int, request_id: int, height: int, after: int | None) -> None:
        error: str | None = None
        try:
            chunk = await asyncio.to_thread(
                serve_chunk, self.store.tree, height, after, self.chunk_bytes, CHUNK_KEYS
            )
        except StoreError as failure:
            log.error("cannot serve the state at height %d: %s", height, failure.message)
            chunk, error = SnapshotChunk(height, (), False), failure.code
        except TallyError as refusal:  # a height pruned or not reached: the asker moves on
            chunk, error = SnapshotChunk(height, (), False), refusal.code
        self.metrics.snapshot_served.inc()
        self.peers.send_payload(peer, encode_chunk(ChunkAnswer(request_id, chunk, error)))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
