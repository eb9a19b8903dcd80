"""The driver's side of blocks by hash (node/runtime/blockfetch.py): our own blocks first, then
the peers in turn; a peer that answers with another block costs a fault, a silent one a
timeout; exactly one answer reaches the replica. Serving answers from the replica, the executor
or the store, and nil for what we do not hold, at a bounded rate per peer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.store import MemoryStore
from ledger.types import Block, Height
from network.envelope import (
    BlockAnswer,
    BlockRequest,
    decode_block_answer,
    decode_block_request,
    encode_block_answer,
    encode_block_request,
)
from node.ops.devnet import make_devnet
from node.runtime.blockfetch import ANSWERS_PER_SECOND, BlockFetcher
from node.runtime.executor import Executor
from wallet.txbuilder import build_tx

DEVNET = make_devnet(4, seed=b"blockfetch-tests")
GENESIS = genesis_from_value(DEVNET.genesis)
NOW = GENESIS.time_ms + 1000


def _built(amount: int) -> tuple[Executor, Block]:
    """An executor holding one executed, uncommitted block."""
    executor = Executor(ChainStore(MemoryStore()), GENESIS)
    bank = DEVNET.key("bank-a", "operator")
    tx = build_tx(bank, GENESIS.chain, "cash", "issue",
                  {"currency": "CNY", "to": "acme-steel", "amount": amount}, 500)  # fmt: skip
    block, _ = executor.build(
        0, 1, executor.tip.block_hash, [tx], DEVNET.validators[0].ed25519.public, NOW
    )
    return executor, block


@dataclass
class FakeReplica:
    blocks: dict[bytes, Block] = field(default_factory=dict)

    def known_block(self, height: int, block_hash: bytes) -> Block | None:
        return self.blocks.get(block_hash)


class FakeDriver:
    def __init__(self, executor: Executor) -> None:
        self.replica = FakeReplica()
        self.executor = executor
        self.store = executor.store
        self.running = True
        self.answers: list[tuple[int, bytes, Block | None]] = []

    def block_fetched(self, height: Height, block_hash: bytes, block: Block | None) -> None:
        self.answers.append((height, block_hash, block))


class FakePeers:
    """Peers that answer GET_BLOCK as told: a block, another block, nil, or nothing."""

    def __init__(self, up: set[int], answers: dict[int, bytes | str | None]) -> None:
        self.up = up
        self.answers = answers
        self.fetcher: BlockFetcher | None = None
        self.sent: list[tuple[int, bytes]] = []
        self.faults: dict[int, int] = {}

    def is_up(self, peer: int) -> bool:
        return peer in self.up

    def fault(self, peer: int, reason: str) -> None:
        self.faults[peer] = self.faults.get(peer, 0) + 1

    def send_payload(self, to: int, payload: bytes, **_: Any) -> None:
        self.sent.append((to, payload))
        if payload[:1] != b"G" or self.fetcher is None:
            return
        request = decode_block_request(memoryview(payload)[1:])
        answer = self.answers.get(to, "silent")
        if answer == "silent":
            return
        assert not isinstance(answer, str)
        reply = encode_block_answer(BlockAnswer(request.request_id, answer))
        fetcher = self.fetcher
        asyncio.get_running_loop().call_soon(fetcher.on_block, to, memoryview(reply)[1:])


def test_the_peers_are_asked_in_turn_and_only_the_named_block_is_taken() -> None:
    _, block = _built(1)
    _, other = _built(2)
    wrong_txs = Block(block.header, (b"\x00" * 10,)).encode()
    peers = FakePeers({1, 2, 3}, {0: block.encode(), 1: other.encode(), 2: wrong_txs})
    peers.answers[3] = block.encode()
    driver = FakeDriver(Executor(ChainStore(MemoryStore()), GENESIS))  # holds nothing itself

    async def run() -> None:
        fetcher = BlockFetcher(peers, driver, timeout=0.2)  # type: ignore[arg-type]
        peers.fetcher = fetcher
        fetcher.fetch_block(Height(1), block.hash, (0, 1, 2, 3))
        await asyncio.wait_for(asyncio.gather(*fetcher._tasks), 5)

    asyncio.run(run())
    assert driver.answers == [(1, block.hash, block)]
    assert [to for to, _ in peers.sent] == [1, 2, 3]  # 0 is down: not asked
    assert peers.faults == {1: 1, 2: 1}  # another block, the right header with other txs


def test_a_silent_peer_is_skipped_and_nobody_having_it_gives_one_none() -> None:
    _, block = _built(1)
    peers = FakePeers({1, 2}, {2: None})  # 1 never answers, 2 does not hold it
    driver = FakeDriver(Executor(ChainStore(MemoryStore()), GENESIS))

    async def run() -> None:
        fetcher = BlockFetcher(peers, driver, timeout=0.05)  # type: ignore[arg-type]
        peers.fetcher = fetcher
        fetcher.fetch_block(Height(1), block.hash, (1, 2))
        await asyncio.wait_for(asyncio.gather(*fetcher._tasks), 5)

    asyncio.run(run())
    assert driver.answers == [(1, block.hash, None)]
    assert not peers.faults


def test_our_own_executed_block_is_used_without_asking_anyone() -> None:
    executor, block = _built(1)
    peers = FakePeers({1, 2, 3}, {})
    driver = FakeDriver(executor)

    async def run() -> None:
        BlockFetcher(peers, driver).fetch_block(Height(1), block.hash, (1, 2, 3))  # type: ignore[arg-type]

    asyncio.run(run())
    assert driver.answers == [(1, block.hash, block)] and not peers.sent


def test_serving_answers_what_we_hold_nil_otherwise_and_at_a_bounded_rate() -> None:
    executor, block = _built(1)
    peers = FakePeers({1}, {})
    driver = FakeDriver(executor)
    fetcher = BlockFetcher(peers, driver)  # type: ignore[arg-type]

    def ask(block_hash: bytes, request_id: int) -> None:
        request = encode_block_request(BlockRequest(request_id, 1, block_hash))
        fetcher.on_get_block(1, memoryview(request)[1:])

    ask(block.hash, 1)
    ask(bytes(32), 2)
    answers = [decode_block_answer(memoryview(p)[1:]) for _, p in peers.sent]
    assert answers == [BlockAnswer(1, block.encode()), BlockAnswer(2, None)]
    for number in range(3, 3 + 2 * ANSWERS_PER_SECOND):
        ask(block.hash, number)
    assert len(peers.sent) <= ANSWERS_PER_SECOND + 1  # a peer asking in a loop is cut off
