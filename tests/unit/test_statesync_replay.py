"""The replay fast path of state transfer still refuses what its shortcuts do not cover: a block
whose certificate does not verify, and a body that does not match the header's txs_root (here a
tx whose signature was swapped: neither its id, nor the receipts, nor the state would show it).
The peer that sends either is passed over for the next, whose honest chain is replayed to the
same state root at every height. The peers and the driver are fakes; the executor is real."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from ledger import codec
from ledger.chain import ChainStore
from ledger.store import MemoryStore
from ledger.types import Block, Certificate, SignedTx
from network.envelope import BlocksPiece, decode_fetch, encode_blocks
from node.runtime.executor import Executor
from node.runtime.metrics import Metrics
from node.runtime.statesync import StateSync
from tests.unit.test_statesync import CHAIN, DEVNET, GENESIS, NOW, certify, follower
from wallet.txbuilder import build_tx

Chain = list[tuple[bytes, bytes]]


@dataclass
class Peers:
    """Each peer answers a FETCH with the blocks it was given, in one piece, on the next turn."""

    chains: dict[int, Chain]
    sync: StateSync | None = None
    faults: list[int] = field(default_factory=list)
    requests: int = 0

    def name(self, peer: int) -> str:
        return f"peer-{peer}"

    def send_payload(self, peer: int, payload: bytes) -> None:
        request = decode_fetch(memoryview(payload)[1:])
        self.requests += 1
        chain = self.chains[peer][request.from_height - 1 : request.to_height]
        piece = encode_blocks(BlocksPiece(request.request_id, tuple(chain), True))
        assert self.sync is not None
        asyncio.get_running_loop().call_soon(self.sync.on_blocks, peer, memoryview(piece)[1:])

    def fault(self, peer: int, reason: str) -> None:
        self.faults.append(peer)


@dataclass
class Driver:
    executor: Executor
    running: bool = True
    replayed: int = 0

    def commit_certified(
        self, block: Block, certificate: Certificate, *, replay: bool = False
    ) -> list[bytes]:
        assert replay, "state transfer takes the replay path"
        self.executor.replay(block)
        self.replayed += 1
        return [receipt.tx for receipt in self.executor.commit(block, certificate)]

    def caught_up(self) -> None:
        pass

    def txs_removed(self, ids: list[bytes]) -> None:
        pass


def _encoded(chain: list[tuple[Block, Certificate]]) -> Chain:
    return [(block.encode(), certificate.encode()) for block, certificate in chain]


HONEST = _encoded(CHAIN)


def _follow(
    chains: dict[int, Chain], targets: tuple[int, ...] = (len(CHAIN),)
) -> tuple[Executor, Peers]:
    """Fetch up to each of `targets` in turn (as a replica asks, checkpoint by checkpoint)."""
    executor = follower()
    peers = Peers(chains)
    sync = StateSync(peers, Driver(executor), GENESIS, Metrics(), piece_timeout=1.0)  # type: ignore[arg-type]
    peers.sync = sync

    async def follow() -> None:
        for target in targets:
            await sync.follow(target, sorted(chains))

    asyncio.run(follow())
    return executor, peers


def _assert_honest_chain(executor: Executor) -> None:
    for height, (block, certificate) in enumerate(CHAIN, start=1):
        stored = executor.store.block(height)
        assert stored is not None and stored.encode() == block.encode()
        assert executor.store.certificate(height) == certificate
    assert executor.tip.state_root == CHAIN[-1][0].header.state_root


def test_an_honest_peer_chain_is_replayed_to_the_same_roots() -> None:
    executor, peers = _follow({1: HONEST})
    _assert_honest_chain(executor)
    assert peers.faults == []


def test_a_block_below_quorum_is_refused_and_the_next_peer_is_asked() -> None:
    """Peer 1 offers another, well-formed block 1 that executes to the roots in its header,
    signed by two validators: only the certificate check tells it from the honest one."""
    builder = Executor(ChainStore(MemoryStore()), GENESIS)
    bank = DEVNET.key("bank-a", "operator")
    tx = build_tx(bank, GENESIS.chain, "cash", "issue",
                  {"currency": "CNY", "to": "bigauto", "amount": 7}, 500)  # fmt: skip
    other, rejected = builder.build(
        0, 1, builder.tip.block_hash, [tx], DEVNET.validators[0].ed25519.public, NOW
    )
    assert not rejected
    forged = [(other.encode(), certify(other, [0, 1]).encode())]
    executor, peers = _follow({1: forged, 2: HONEST})
    _assert_honest_chain(executor)
    assert peers.faults == [1]


def test_a_body_that_does_not_match_the_txs_root_is_refused() -> None:
    """Peer 1 sends the certified header of block 1 with its tx's signature swapped: the tx id,
    receipts and state are unchanged, so only the txs_root check refuses it."""
    block, certificate = CHAIN[0]
    tx = SignedTx.decode(block.txs[0])
    swapped = codec.encode({"body": tx.body_bytes, "sig": bytes(64)})
    tampered = replace(block, txs=(swapped,))
    assert tampered.hash == block.hash  # the certificate still verifies
    executor, _ = _follow({1: [(tampered.encode(), certificate.encode()), *HONEST[1:]], 2: HONEST})
    _assert_honest_chain(executor)


def test_the_next_fetch_starts_with_the_blocks_read_ahead() -> None:
    executor, peers = _follow({1: HONEST}, targets=(1, 2, 3))
    _assert_honest_chain(executor)
    assert peers.requests == 1
