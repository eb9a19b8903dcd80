"""State transfer: fetch certified blocks from peers, check them, re-execute, commit.

The replica asks (`FetchBlocks(from, to, peers)`) when it is behind; this module asks those
peers in turn for the blocks, in pieces of a bounded size, and trusts none of them: each block
must carry a certificate of a quorum of the validators in force at its height
(`ledger.certificates`) and extend our tip, and re-executing it must give the roots in its
header. The block is replayed (`node.runtime.replay`): its tx signatures and admission are not
checked again, since the certificate proves a quorum (so at least f+1 honest validators) checked
them before voting, while the txs_root, the execution and the roots after it still are. A peer
that times out or sends a block that fails any check is left for the next one.
Whatever is reached, the replica is told `CaughtUp` (even if nothing changed), then
`TxsRemoved` for the transactions those blocks held.

Serving is the other half: a FETCH is answered from the store, at most `MAX_SERVE_BLOCKS`
blocks, in pieces of at most `max_piece_bytes` and never more than a frame holds (one block
always fits in a piece: genesis validation makes sure a block with its certificate fits in a
frame, ledger.message_bounds).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ledger.certificates import verify_certificate
from ledger.errors import TallyError
from ledger.genesis import Genesis, ValidatorInfo
from ledger.message_bounds import frame_budget
from ledger.types import Block, Certificate
from network.envelope import (
    BlocksPiece,
    FetchRequest,
    decode_blocks,
    decode_fetch,
    encode_blocks,
    encode_fetch,
)
from node.runtime.driver import Driver
from node.runtime.metrics import Metrics
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

MAX_SERVE_BLOCKS = 64  # blocks one FETCH is answered with, at most
READ_AHEAD = 32  # blocks asked for past a fetch's end, for the next one
# Small pieces so a catching-up node starts executing after the first blocks arrive, while the
# peer (another core) encodes and sends the rest; one block always fits in a piece.
PIECE_BYTES = 512 * 1024
PIECE_TIMEOUT_S = 5.0  # a peer silent this long between pieces is skipped


@dataclass(slots=True)
class _Stream:
    """A FETCH whose answer is still arriving: the blocks of its pieces not yet taken, from
    height `next` on. It outlives the fetch that opened it, so the next fetch (the replica asks
    again after each checkpoint) starts with the blocks already here instead of a round trip."""

    peer: int
    request_id: int
    queue: asyncio.Queue[BlocksPiece]
    next: int
    held: deque[tuple[bytes, bytes]] = field(default_factory=deque)
    ended: bool = False

    async def take(self, timeout: float) -> tuple[bytes, bytes] | None:
        """The (block, certificate) encodings at height `next`, unchecked; None once the peer
        has sent all it had. TimeoutError if it stays silent `timeout` seconds."""
        while not self.held:
            if self.ended:
                return None
            piece = await asyncio.wait_for(self.queue.get(), timeout)
            self.held.extend(piece.blocks)
            self.ended = piece.end
        self.next += 1
        return self.held.popleft()


class BadBlock(Exception):
    """A fetched block fails a check: the peer that sent it is not to be believed."""


@dataclass(frozen=True, slots=True)
class SyncStats:
    """Totals since start, for tests and the catch-up rate in the docs."""

    blocks: int
    txs: int
    seconds: float


def check_certified(
    genesis: Genesis,
    tip_height: int,
    tip_hash: bytes,
    raw_block: bytes,
    raw_cert: bytes,
    validators: Sequence[ValidatorInfo] | None = None,
) -> tuple[Block, Certificate]:
    """Decode a fetched (block, certificate) and check it extends our tip and is certified by
    `validators`, the set in force at its height (default: the genesis set)."""
    try:
        block = Block.decode(raw_block)
        certificate = Certificate.decode(raw_cert)
    except TallyError as error:
        raise BadBlock(f"undecodable: {error.message}") from None
    header = block.header
    if header.height != tip_height + 1:
        raise BadBlock(f"height {header.height} does not follow our tip {tip_height}")
    if header.prev != tip_hash:
        raise BadBlock(f"block {header.height} does not link to our tip")
    signers = genesis.validators if validators is None else validators
    if not verify_certificate(
        signers, genesis.chain, header.hash(), certificate, height=header.height
    ):
        raise BadBlock(f"block {header.height} has no valid certificate")
    return block, certificate


class StateSync:
    def __init__(
        self,
        peers: PeerTransport,
        driver: Driver,
        genesis: Genesis,
        metrics: Metrics,
        *,
        piece_timeout: float = PIECE_TIMEOUT_S,
        max_piece_bytes: int = PIECE_BYTES,
    ) -> None:
        self.peers = peers
        self.driver = driver
        self.genesis = genesis
        self.metrics = metrics
        self.piece_timeout = piece_timeout
        self.max_piece_bytes = min(max_piece_bytes, frame_budget(genesis.params))
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._waiting: tuple[int, int, asyncio.Queue[BlocksPiece]] | None = None
        self._stream: _Stream | None = None  # the answer _waiting reads, kept between fetches
        self._tasks: set[asyncio.Task[None]] = set()
        self.blocks = 0
        self.txs = 0
        self.seconds = 0.0

    @property
    def active(self) -> bool:
        """A transfer is running: this node is behind the others."""
        return self._lock.locked()

    def stats(self) -> SyncStats:
        return SyncStats(self.blocks, self.txs, self.seconds)

    # -- fetching ----------------------------------------------------------------------------

    def fetch_blocks(self, from_height: int, to_height: int, peers: tuple[int, ...]) -> None:
        """The replica's FetchBlocks: runs in a task; requests are served one at a time."""
        task = asyncio.get_running_loop().create_task(
            self._fetch(to_height, peers), name=f"statesync-{from_height}-{to_height}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def follow(self, to_height: int, peers: Sequence[int]) -> None:
        """Fetch certified blocks up to `to_height` from `peers` in turn, now (a follower,
        node/runtime/follower.py: no replica asks on its behalf)."""
        await self._fetch(to_height, peers)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _fetch(self, to_height: int, peers: Sequence[int]) -> None:
        async with self._lock:
            started = time.monotonic()
            before = self.driver.executor.tip.height
            removed: list[bytes] = []
            self.metrics.statesync_target.set(to_height)
            try:
                for peer in peers:
                    if self.driver.executor.tip.height >= to_height or not self.driver.running:
                        break
                    await self._fetch_from(peer, to_height, removed)
            finally:
                if self._stream is None:
                    self._waiting = None
                self.metrics.statesync_target.set(0)
                self.seconds += time.monotonic() - started
            if not self.driver.running:
                return
            tip = self.driver.executor.tip
            if tip.height > before:
                log.info(
                    "state transfer: heights %d..%d in %.2f s",
                    before + 1,
                    tip.height,
                    time.monotonic() - started,
                )
            self.driver.caught_up()
            self.driver.txs_removed(removed)

    async def _fetch_from(self, peer: int, to_height: int, removed: list[bytes]) -> None:
        """Take blocks from one peer until `to_height`, its end, a timeout or a bad block."""
        name = self.peers.name(peer)
        stream = self._stream_from(peer, to_height)
        while self.driver.executor.tip.height < to_height:
            try:
                entry = await stream.take(self.piece_timeout)
            except TimeoutError:
                self._failed("timeout", f"{name} sent nothing for {self.piece_timeout} s")
                entry = None
            if entry is None or not self._commit(peer, name, entry, removed):
                self._stream = None
                return
            await asyncio.sleep(0)  # let the API and the network breathe between blocks

    def _stream_from(self, peer: int, to_height: int) -> _Stream:
        """The answer already arriving from `peer` if it goes on from our tip, else a new FETCH
        up to `to_height` and READ_AHEAD blocks past it (within what a peer serves)."""
        first = self.driver.executor.tip.height + 1
        stream = self._stream
        if stream is not None and stream.peer == peer and stream.next == first:
            return stream
        last = min(to_height + READ_AHEAD, first + MAX_SERVE_BLOCKS - 1)
        request = FetchRequest(next(self._ids), first, max(last, to_height))
        stream = _Stream(peer, request.request_id, asyncio.Queue(), first)
        self._stream, self._waiting = stream, (peer, request.request_id, stream.queue)
        self.peers.send_payload(peer, encode_fetch(request))
        return stream

    def _commit(
        self, peer: int, name: str, entry: tuple[bytes, bytes], removed: list[bytes]
    ) -> bool:
        """Check one fetched block against our tip and replay it; False if it fails."""
        tip = self.driver.executor.tip
        try:
            block, certificate = check_certified(
                self.genesis,
                tip.height,
                tip.block_hash,
                *entry,
                self.driver.executor.validators_at(tip.height + 1),
            )
            ids = self.driver.commit_certified(block, certificate, replay=True)
        except BadBlock as error:
            self.peers.fault(peer, f"state transfer: {error}")
            self._failed("bad block", f"from {name}: {error}")
            return False
        except TallyError as error:
            self._failed("execution", f"block from {name}: {error.message}")
            return False
        removed.extend(ids)
        self.blocks += 1
        self.txs += len(ids)
        self.metrics.statesync_blocks.inc()
        return True

    async def fetch_raw(
        self, peer: int, from_height: int, to_height: int
    ) -> list[tuple[bytes, bytes]] | None:
        """The (block, certificate) encodings a peer gives for [from, to], unchecked and not
        committed (the caller checks them); None if it falls silent. Only while no transfer
        runs (snapshot sync, before the replica starts)."""
        request = FetchRequest(next(self._ids), from_height, to_height)
        queue: asyncio.Queue[BlocksPiece] = asyncio.Queue()
        self._stream, self._waiting = None, (peer, request.request_id, queue)
        got: list[tuple[bytes, bytes]] = []
        try:
            self.peers.send_payload(peer, encode_fetch(request))
            while True:
                piece = await asyncio.wait_for(queue.get(), self.piece_timeout)
                got.extend(piece.blocks)
                if piece.end or len(got) > to_height - from_height:
                    return got
        except TimeoutError:
            return None
        finally:
            self._waiting = None

    def _failed(self, reason: str, detail: str) -> None:
        log.warning("state transfer at height %d: %s", self.driver.executor.tip.height, detail)
        self.metrics.statesync_failures.labels(reason).inc()

    def on_blocks(self, peer: int, body: memoryview) -> None:
        piece = decode_blocks(body)
        waiting = self._waiting
        if waiting is None or waiting[0] != peer or waiting[1] != piece.request_id:
            return  # a late answer to a request we gave up on
        waiting[2].put_nowait(piece)

    # -- serving -----------------------------------------------------------------------------

    def on_fetch(self, peer: int, body: memoryview) -> None:
        request = decode_fetch(body)
        for piece in self._pieces(request):  # each piece goes out as soon as it is read
            self.peers.send_payload(peer, encode_blocks(piece))

    def pieces(self, request: FetchRequest) -> list[BlocksPiece]:
        """Our certified blocks for `request` (as many as we hold, capped), in pieces."""
        return list(self._pieces(request))

    def _pieces(self, request: FetchRequest) -> Iterator[BlocksPiece]:
        store = self.driver.store
        last = min(
            request.to_height,
            request.from_height + MAX_SERVE_BLOCKS - 1,
            self.driver.executor.tip.height,
        )
        current: list[tuple[bytes, bytes]] = []
        size = 0
        for height in range(request.from_height, last + 1):
            block = store.block(height)
            certificate = store.certificate(height)
            if block is None or certificate is None:
                break
            entry = (block.encode(), certificate.encode())
            entry_size = len(entry[0]) + len(entry[1]) + 32
            if current and size + entry_size > self.max_piece_bytes:
                yield BlocksPiece(request.request_id, tuple(current), False)
                current, size = [], 0
            current.append(entry)
            size += entry_size
        yield BlocksPiece(request.request_id, tuple(current), True)
