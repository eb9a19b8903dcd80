"""Snapshot sync, the fetching side (DESIGN.md §7): a node far behind restores the state at a
certified height from its peers, then replays only the blocks after it.

It runs once at start, before the replica: the node asks every connected peer for an offer (its
tip: block and certificate), keeps those whose certificate holds a quorum of BLS signatures of
the set in force there and whose block hashes to the certified name, and if the highest is more than
`behind` heights above our tip, fetches that height's state in chunks, from the peers that
offered it or more, in turn: none is trusted. Each chunk is checked before it is written
(ledger.snapshot_build); a chunk that fails costs its peer (log, `tally_snapshot_peer_faults`,
a transport fault) and that peer is left out; the same range goes to the next one. A peer that
times out twice, or no longer holds the height, is left out too. When the last chunk rebuilds
the certified root, the state is installed and becomes the tip; the replica then starts there
and state transfer replays the rest. Until then nothing is voted or answered (`active`).

A joining validator takes this same path (node/runtime/follower.py): the certificate check is
the one place that names the validator set, the set in force at the offered height as the
node's own state knows it (genesis's for an empty node).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from consensus.blocks import matches
from ledger.certificates import verify_certificate
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.genesis import Genesis, ValidatorInfo
from ledger.snapshot import SnapshotChunk
from ledger.snapshot_build import (
    REBUILT,
    BadChunk,
    SnapshotBuilder,
    SnapshotProgress,
    SnapshotTarget,
    abandon,
    install,
    load_progress,
    start_progress,
)
from ledger.types import Block, Certificate
from network.snapshot_wire import (
    ChunkAnswer,
    ChunkAsk,
    SnapshotOffer,
    decode_chunk,
    decode_offer,
    encode_chunk_ask,
    encode_snapshot_ask,
)
from node.runtime.metrics import Metrics
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0  # an offer or a chunk not answered in this long counts as a timeout
CONNECT_WAIT_S = 3.0  # at start, how long to wait for a first peer before going on alone
SETTLE_S = 1.0  # after the first peer, how long the others get to connect
MAX_TIMEOUTS = 2  # a peer that times out this often is left out of the snapshot
MAX_ROUNDS = 5  # rounds of offers tried before the node gives up and replays instead
RETRY_S = 2.0
LOG_EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class _Asked:
    """A chunk asked of `peer` for the range after `after`, its answer to come from `task`."""

    peer: int
    after: int | None
    task: asyncio.Task[object | None]


class BadOffer(Exception):
    """An offer whose block or certificate does not hold."""


@dataclass(frozen=True, slots=True)
class SnapshotStats:
    """The last snapshot installed here, for the logs, tests and the measured catch-up rate."""

    height: int
    keys: int
    chunks: int
    size: int
    seconds: float


class SnapshotSync:
    def __init__(
        self,
        peers: PeerTransport,
        store: ChainStore,
        genesis: Genesis,
        metrics: Metrics,
        *,
        behind: int,
        answer_timeout: float = ANSWER_TIMEOUT_S,
        connect_wait: float = CONNECT_WAIT_S,
        validators_at: Callable[[int], Sequence[ValidatorInfo]] | None = None,
    ) -> None:
        """`behind`: how far a peer's tip must be above ours for a snapshot (0: never).
        `validators_at(height)`: the set an offer's certificate is checked against, as our
        own state knows it (default: genesis's). An offer above a change we have not seen is
        refused, and the node replays blocks instead: it never trusts a set it cannot derive."""
        self.peers = peers
        self.store = store
        self.genesis = genesis
        self.metrics = metrics
        self.behind = behind
        self.answer_timeout = answer_timeout
        self.connect_wait = connect_wait
        self.validators_at = validators_at or (lambda height: genesis.validators)
        self.active = False  # fetching or installing: the node answers no reads, votes nothing
        self.progress: SnapshotProgress | None = None
        self.stats: SnapshotStats | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[int, int], asyncio.Future[object]] = {}

    # -- answers -------------------------------------------------------------------------------

    def on_offer(self, peer: int, body: memoryview) -> None:
        offer = decode_offer(body)
        self._answered(peer, offer.request_id, offer)

    def on_chunk(self, peer: int, body: memoryview) -> None:
        answer = decode_chunk(body)
        self._answered(peer, answer.request_id, answer)

    def _answered(self, peer: int, request_id: int, answer: object) -> None:
        waiting = self._waiting.get((peer, request_id))
        if waiting is not None and not waiting.done():
            waiting.set_result(answer)

    async def _ask(self, peer: int, chunk: ChunkAsk | None) -> object | None:
        """Send an offer ask (`chunk` None) or a chunk ask; the answer, or None on timeout."""
        request_id = next(self._ids)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiting[(peer, request_id)] = future
        try:
            if chunk is not None:
                ask = ChunkAsk(request_id, chunk.height, chunk.after)
                self.peers.send_payload(peer, encode_chunk_ask(ask))
            else:
                self.peers.send_payload(peer, encode_snapshot_ask(request_id))
            return await asyncio.wait_for(future, self.answer_timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop((peer, request_id), None)

    # -- the run at start ----------------------------------------------------------------------

    async def run(self) -> bool:
        """Snapshot if a peer is far enough ahead (or resume one a crash interrupted); True
        when the state was replaced. Any failure leaves the store at a consistent tip."""
        if self.behind <= 0:
            abandon(self.store)
            return False
        progress = load_progress(self.store)
        if progress is not None and progress.phase == REBUILT:  # stopped before installing
            return await self._fetch(progress, [])
        for _ in range(MAX_ROUNDS):
            peers = await self._connected_peers()
            if not peers:
                break
            offers = await self._offers(peers)
            progress = self._target(offers)
            if progress is None:
                break
            sources = [peer for peer, offer in offers.items() if offer.height >= progress.height]
            if await self._fetch(progress, sources):
                return True
            await asyncio.sleep(RETRY_S)
        if load_progress(self.store) is not None:
            log.warning("snapshot sync gave up; the node will replay blocks from its tip")
            abandon(self.store)
        return False

    async def _connected_peers(self) -> list[int]:
        """The peers connected once the first is (or `connect_wait` passed), and the others
        had up to `SETTLE_S` to follow; the network reports connections by callback, polled."""
        deadline = time.monotonic() + self.connect_wait
        while not self.peers.connected() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        settled = time.monotonic() + SETTLE_S
        others = self.peers.peer_count()
        while 0 < len(self.peers.connected()) < others and time.monotonic() < settled:
            await asyncio.sleep(0.05)
        return sorted(self.peers.connected())

    async def _offers(self, peers: Sequence[int]) -> dict[int, SnapshotOffer]:
        """The peers' offers that hold (a certified block at the height they claim)."""
        answers = await asyncio.gather(*(self._ask(peer, None) for peer in peers))
        offers: dict[int, SnapshotOffer] = {}
        for peer, answer in zip(peers, answers, strict=True):
            if not isinstance(answer, SnapshotOffer):
                continue
            try:
                self._check_offer(answer)
            except BadOffer as error:
                self._peer_fault(peer, "bad_offer", str(error))
                continue
            offers[peer] = answer
        return offers

    def _check_offer(self, offer: SnapshotOffer) -> None:
        if offer.block is None or offer.certificate is None:
            raise BadOffer(f"an offer at height {offer.height} without its block")
        try:
            block = Block.decode(offer.block)
            certificate = Certificate.decode(offer.certificate)
        except TallyError as error:
            raise BadOffer(f"undecodable: {error.message}") from None
        block_hash = block.header.hash()
        if not matches(block, offer.height, block_hash):
            raise BadOffer(f"the block offered is not the one of height {offer.height}")
        validators = self.validators_at(offer.height)
        if not verify_certificate(
            validators, self.genesis.chain, block_hash, certificate, height=offer.height
        ):
            raise BadOffer(f"no valid certificate for height {offer.height}")
        if offer.event_seq >= 2**62:
            raise BadOffer("an event count out of range")

    def _target(self, offers: dict[int, SnapshotOffer]) -> SnapshotProgress | None:
        """The snapshot to fetch: the one in progress if a peer still offers its height or
        more, else the highest offer if it is more than `behind` above our tip."""
        progress = load_progress(self.store)
        highest = max(offers.values(), key=lambda offer: offer.height, default=None)
        if progress is not None:
            if highest is not None and highest.height >= progress.height:
                return progress
            abandon(self.store)
        tip = self.store.tip()
        if highest is None or highest.height - tip.height <= self.behind:
            return None
        target = SnapshotTarget(highest.block or b"", highest.certificate or b"", highest.event_seq)
        log.info(
            "snapshot sync: our tip is %d, a peer's %d: fetching the state at %d",
            tip.height,
            highest.height,
            highest.height,
        )
        return start_progress(self.store, highest.height, target)

    # -- fetching ------------------------------------------------------------------------------

    async def _fetch(self, progress: SnapshotProgress, sources: list[int]) -> bool:
        """Chunks from `sources` in turn until the state is rebuilt and installed."""
        builder = SnapshotBuilder.on(self.store, progress)
        self.active, self.progress = True, progress
        self.metrics.snapshot_height.set(progress.height)
        started = time.monotonic()
        try:
            await self._fetch_chunks(builder, list(sources))
            if not builder.complete:
                return False
            self.progress = builder.progress
            log.info("snapshot sync: state rebuilt at %d, installing", progress.height)
            await asyncio.to_thread(install, self.store, builder.progress)
        finally:
            self.active = False
            self.metrics.snapshot_height.set(0)
        done = builder.progress
        self.stats = SnapshotStats(
            done.height, done.keys, done.chunks, done.size, time.monotonic() - started
        )
        self.metrics.snapshot_installed.inc()
        log.info(
            "snapshot sync: installed height %d (%d keys, %d chunks, %d bytes) in %.2f s",
            done.height,
            done.keys,
            done.chunks,
            done.size,
            self.stats.seconds,
        )
        return True

    async def _fetch_chunks(self, builder: SnapshotBuilder, rotation: list[int]) -> None:
        """Ask the peers of `rotation` in turn; while one chunk is checked and written, the
        next range (it starts after the chunk's last key) is already asked of the next peer.
        A prefetched answer is used only if the chunk it follows was accepted."""
        timeouts: dict[int, int] = {}
        turn = itertools.count()
        height = builder.progress.height
        ahead: _Asked | None = None
        logged = time.monotonic()
        try:
            while not builder.complete and rotation:
                after = builder.progress.after
                asked = ahead if ahead and ahead.after == after and ahead.peer in rotation else None
                if asked is None:
                    if ahead is not None:
                        ahead.task.cancel()
                    asked = self._ask_chunk(rotation[next(turn) % len(rotation)], height, after)
                ahead = None
                chunk = self._usable(asked.peer, await asked.task, rotation, timeouts)
                if chunk is None:
                    continue
                if chunk.more and chunk.leaves:
                    upto = int.from_bytes(hashlib.sha256(chunk.leaves[-1][0]).digest(), "big")
                    ahead = self._ask_chunk(rotation[next(turn) % len(rotation)], height, upto)
                if await self._apply(builder, asked.peer, chunk, rotation):
                    logged = self._log_progress(builder.progress, logged)
        finally:
            if ahead is not None:
                ahead.task.cancel()

    def _ask_chunk(self, peer: int, height: int, after: int | None) -> _Asked:
        task = asyncio.get_running_loop().create_task(
            self._ask(peer, ChunkAsk(0, height, after)), name="snapshot-chunk"
        )
        return _Asked(peer, after, task)

    def _usable(
        self, peer: int, answer: object, rotation: list[int], timeouts: dict[int, int]
    ) -> SnapshotChunk | None:
        """The chunk in `answer`, or None (a timeout, or a height the peer cannot serve)."""
        if not isinstance(answer, ChunkAnswer):
            timeouts[peer] = timeouts.get(peer, 0) + 1
            self._peer_fault(peer, "timeout", f"no chunk in {self.answer_timeout} s")
            if timeouts[peer] >= MAX_TIMEOUTS and peer in rotation:
                rotation.remove(peer)
            return None
        if answer.error is not None:
            name, height = self._name(peer), answer.chunk.height
            log.info("snapshot sync: %s cannot serve %d: %s", name, height, answer.error)
            if peer in rotation:
                rotation.remove(peer)
            return None
        return answer.chunk

    async def _apply(
        self, builder: SnapshotBuilder, peer: int, chunk: SnapshotChunk, rotation: list[int]
    ) -> bool:
        try:
            self.progress = await asyncio.to_thread(builder.apply, chunk)
        except BadChunk as error:
            self.peers.fault(peer, f"snapshot: {error.message}")
            self._peer_fault(peer, "bad_chunk", error.message)
            if peer in rotation:
                rotation.remove(peer)
            return False
        self._count(chunk.leaves, chunk.size())
        return True

    @staticmethod
    def _log_progress(progress: SnapshotProgress, logged: float) -> float:
        if time.monotonic() - logged < LOG_EVERY_S:
            return logged
        log.info(
            "snapshot sync at %d: %d keys in %d chunks so far",
            progress.height,
            progress.keys,
            progress.chunks,
        )
        return time.monotonic()

    def _count(self, leaves: Sequence[object], size: int) -> None:
        self.metrics.snapshot_keys.inc(len(leaves))
        self.metrics.snapshot_chunks.inc()
        self.metrics.snapshot_bytes.inc(size)

    def _peer_fault(self, peer: int, reason: str, detail: str) -> None:
        log.warning("snapshot sync: %s: %s (%s)", self._name(peer), detail, reason)
        self.metrics.snapshot_peer_faults.labels(reason).inc()

    def _name(self, peer: int) -> str:
        return self.peers.name(peer)

    def close(self) -> None:
        for future in self._waiting.values():
            future.cancel()
