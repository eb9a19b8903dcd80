"""Blocks by hash between validators: the driver's `FetchBlock`, and serving peers who ask.

A NEW-VIEW names the blocks it re-proposes by hash. A replica that lacks one asks the driver
(`FetchBlock(height, hash, peers)`), which hands it here: our own executor and store are looked
in first, then the peers are asked in the order the replica gave (those that voted for the
block first), one at a time. An answer counts only if the block `matches` the name (its header
hashes to it and its txs to the header's root); a peer that sends another block costs a fault,
one that stays silent for `ANSWER_TIMEOUT_S` is skipped. The replica hears exactly one
`BlockFetched` per request: the block, or None once every peer was tried.

Serving: a GET_BLOCK is answered from what the replica holds (`Replica.known_block`), the
executor's pending blocks or the committed chain, with the encoded block or nil; each peer gets
at most `ANSWERS_PER_SECOND` answers, so a peer asking in a loop costs us little.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

from consensus.blocks import matches
from ledger.errors import TallyError
from ledger.types import Block, Height, ValidatorIndex
from network.envelope import (
    BlockAnswer,
    BlockRequest,
    decode_block_answer,
    decode_block_request,
    encode_block_answer,
    encode_block_request,
)
from node.runtime.driver import Driver
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 2.0
ANSWERS_PER_SECOND = 16


class BlockFetcher:
    def __init__(
        self, peers: PeerTransport, driver: Driver, *, timeout: float = ANSWER_TIMEOUT_S
    ) -> None:
        self.peers = peers
        self.driver = driver
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[int, int], asyncio.Future[bytes | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._served: dict[int, tuple[int, int]] = {}  # peer -> (second, answers in it)
        self.fetched = 0
        self.wrong = 0

    # -- fetching ----------------------------------------------------------------------------

    def find_block(self, height: Height, block_hash: bytes) -> Block | None:
        """A block this node holds by hash: the replica's, one we executed, or a committed one."""
        driver = self.driver
        found = driver.replica.known_block(height, block_hash)
        if found is not None:
            return found
        pending = driver.executor.pending.get(block_hash)
        if pending is not None:
            return pending.block
        header = driver.store.header(height)
        if header is not None and header.hash() == block_hash:
            return driver.store.block(height)
        return None

    def fetch_block(
        self, height: Height, block_hash: bytes, peers: tuple[ValidatorIndex, ...]
    ) -> None:
        local = self.find_block(height, block_hash)
        if local is not None:
            self.driver.block_fetched(height, block_hash, local)  # queued behind the action
            return
        task = asyncio.get_running_loop().create_task(
            self._fetch(height, block_hash, peers), name=f"fetch-block-{height}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _fetch(
        self, height: Height, block_hash: bytes, peers: tuple[ValidatorIndex, ...]
    ) -> None:
        found: Block | None = None
        for peer in peers:
            if not self.peers.is_up(peer):
                continue
            found = await self._ask(peer, height, block_hash)
            if found is not None:
                break
        if found is None:
            log.info("no peer gave block %s at height %d", block_hash.hex()[:12], height)
        else:
            self.fetched += 1
        if self.driver.running:
            self.driver.block_fetched(height, block_hash, found)

    async def _ask(self, peer: int, height: Height, block_hash: bytes) -> Block | None:
        request = BlockRequest(next(self._ids), height, block_hash)
        answer: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        key = (peer, request.request_id)
        self._waiting[key] = answer
        try:
            self.peers.send_payload(peer, encode_block_request(request))
            raw = await asyncio.wait_for(answer, self.timeout)
        except TimeoutError:
            return None
        finally:
            self._waiting.pop(key, None)
        if raw is None:
            return None
        try:
            block = Block.decode(raw)
        except TallyError as error:
            self._wrong(peer, f"undecodable block: {error.message}")
            return None
        if not matches(block, height, block_hash):
            self._wrong(peer, f"not the block asked for at height {height}")
            return None
        return block

    def _wrong(self, peer: int, reason: str) -> None:
        self.wrong += 1
        self.peers.fault(peer, f"block by hash: {reason}")

    def on_block(self, peer: int, body: memoryview) -> None:
        answer = decode_block_answer(body)
        waiting = self._waiting.get((peer, answer.request_id))
        if waiting is not None and not waiting.done():
            waiting.set_result(answer.block)

    # -- serving -----------------------------------------------------------------------------

    def on_get_block(self, peer: int, body: memoryview) -> None:
        request = decode_block_request(body)
        second = int(time.monotonic())
        since, count = self._served.get(peer, (second, 0))
        count = count + 1 if since == second else 1
        self._served[peer] = (second, count)
        if count > ANSWERS_PER_SECOND:
            return
        block = self.find_block(Height(request.height), request.block_hash)
        encoded = None if block is None else block.encode()
        self.peers.send_payload(peer, encode_block_answer(BlockAnswer(request.request_id, encoded)))
