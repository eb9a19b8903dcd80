"""Tx gossip (node/runtime/gossip.py) over a real mempool: held txs reach peers that connect late
and are re-announced with backoff until they leave the mempool; gossiped txs pass the same
signer check as a client's. The peers and the driver are stand-ins that record what they get."""

from __future__ import annotations

import asyncio
from typing import Any

from contracts import registry
from contracts.catalog import genesis_state
from ledger.crypto import Ed25519Key
from ledger.genesis import genesis_from_value
from ledger.types import SignedTx
from network.envelope import decode_txs, encode_txs
from node.ops.devnet import make_devnet
from node.runtime.admission import Signers
from node.runtime.gossip import MAX_BATCH_TXS, REANNOUNCE_FIRST_S, TxGossip
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics
from wallet.txbuilder import build_tx

DEVNET = make_devnet(4, seed=b"gossip-tests")
GENESIS = genesis_from_value(DEVNET.genesis)


class Peers:
    """Records payloads; `up` are the peers a connected-only send reaches."""

    def __init__(self) -> None:
        self.names = [v.name for v in GENESIS.validators]
        self.up: set[int] = set()
        self.sent: list[tuple[int, bytes]] = []
        self.faults: list[tuple[int, str]] = []

    def name(self, peer: int) -> str:
        return self.names[peer]

    def peer_count(self) -> int:
        return len(self.names) - 1

    def send_payload(self, to: int, payload: bytes, *, connected_only: bool = False) -> None:
        if to in self.up or not connected_only:
            self.sent.append((to, payload))

    def broadcast_payload(self, payload: bytes, *, connected_only: bool = False) -> None:
        for peer in sorted(self.up):
            self.send_payload(peer, payload, connected_only=connected_only)

    def fault(self, peer: int, reason: str) -> None:
        self.faults.append((peer, reason))

    def txs_to(self, peer: int) -> list[bytes]:
        return [raw for to, payload in self.sent if to == peer for raw in decode_txs(payload[1:])]


class Driver:
    def __init__(self, mempool: Mempool) -> None:
        self.mempool = mempool
        self.running = True
        self.arrived: list[bytes] = []

    def txs_arrived(self, tx_ids: list[bytes], *, forward: bool = True) -> None:
        self.arrived += tx_ids


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pool() -> Mempool:
    state = genesis_state(GENESIS)

    def active_orgs() -> int:
        return sum(1 for key in state if key.startswith(registry.ORG_PREFIX))

    return Mempool(GENESIS, lambda _: False, lambda: 0, signers=Signers(state.get, active_orgs))


def _tx(key: Ed25519Key | None = None, amount: int = 1) -> SignedTx:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount}
    signer = key or DEVNET.key("bank-a", "operator")
    return build_tx(signer, GENESIS.chain, "cash", "issue", args, 50)


def _gossip(pool: Mempool) -> tuple[TxGossip, Peers, Driver, Clock]:
    peers, driver, clock = Peers(), Driver(pool), Clock()
    gossip = TxGossip(peers, driver, Metrics(), clock=clock)  # type: ignore[arg-type]
    return gossip, peers, driver, clock


async def _admit(pool: Mempool, txs: list[SignedTx]) -> None:
    assert all(a.accepted for a in await pool.submit([tx.encode() for tx in txs]))


def test_a_tx_held_while_no_peer_was_up_goes_to_each_peer_that_connects() -> None:
    async def main() -> None:
        pool = _pool()
        tx = _tx()
        await _admit(pool, [tx])
        gossip, peers, _, _ = _gossip(pool)
        gossip.forward([tx])
        gossip.flush()
        assert peers.sent == []  # nobody to send to
        peers.up = {2}
        gossip.peer_changed(2, True)
        assert peers.txs_to(2) == [tx.encode()]
        peers.up = {2, 3}
        gossip.peer_changed(3, True)
        assert peers.txs_to(3) == [tx.encode()]
        await gossip.close()

    asyncio.run(main())


def test_held_txs_are_reannounced_with_backoff_until_they_leave_the_mempool() -> None:
    async def main() -> None:
        pool = _pool()
        tx = _tx()
        await _admit(pool, [tx])
        gossip, peers, _, clock = _gossip(pool)
        peers.up = {1}
        gossip.forward([tx])
        gossip.flush()
        assert peers.txs_to(1) == [tx.encode()]
        assert gossip.reannounce_due() == 0  # not due yet
        clock.now += REANNOUNCE_FIRST_S
        assert gossip.reannounce_due() == 1
        clock.now += REANNOUNCE_FIRST_S
        assert gossip.reannounce_due() == 0  # the interval doubled
        clock.now += REANNOUNCE_FIRST_S
        assert gossip.reannounce_due() == 1
        assert peers.txs_to(1) == [tx.encode()] * 3
        pool.committed(1, [tx.id])
        clock.now += 10 * REANNOUNCE_FIRST_S
        assert gossip.reannounce_due() == 0 and gossip.held() == 0
        await gossip.close()

    asyncio.run(main())


def test_gossiped_txs_of_keys_of_no_organization_are_refused_without_blaming_the_peer() -> None:
    async def main() -> None:
        pool = _pool()
        gossip, peers, driver, _ = _gossip(pool)
        stranger, member = _tx(Ed25519Key.generate()), _tx()
        gossip.on_txs(2, memoryview(encode_txs([stranger.encode(), member.encode()]))[1:])
        await gossip.admitted()
        await gossip.close()
        return stranger, member, driver, peers

    stranger, member, driver, peers = asyncio.run(main())
    assert driver.arrived == [member.id]
    assert not driver.mempool.contains(stranger.id)
    assert driver.mempool.rejections == {"UNKNOWN_SIGNER": 1}
    assert peers.faults == []


def test_a_copy_of_a_tx_already_held_is_dropped_unseen() -> None:
    async def main() -> Any:
        pool = _pool()
        tx = _tx()
        await _admit(pool, [tx])
        gossip, _, driver, _ = _gossip(pool)
        gossip.on_txs(1, memoryview(encode_txs([tx.encode()]))[1:])
        await gossip.admitted()
        await gossip.close()
        return pool, driver

    pool, driver = asyncio.run(main())
    assert pool.rejections == {} and driver.arrived == []


def test_reannouncement_is_bounded_per_tick_and_the_rest_follows() -> None:
    async def main() -> None:
        pool = _pool()
        txs = [_tx(amount=i + 1) for i in range(MAX_BATCH_TXS + 200)]
        await _admit(pool, txs)
        gossip, peers, _, clock = _gossip(pool)
        gossip.forward(txs)
        gossip.flush()
        peers.up = {1}
        clock.now += REANNOUNCE_FIRST_S
        assert gossip.reannounce_due() == MAX_BATCH_TXS
        assert gossip.reannounce_due() == 200
        assert gossip.reannounce_due() == 0
        assert sorted(peers.txs_to(1)) == sorted(tx.encode() for tx in txs)
        await gossip.close()

    asyncio.run(main())
