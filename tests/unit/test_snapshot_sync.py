"""node/runtime/snapshot.py with the real serving side (SnapshotServer over a real ChainStore in
LevelDB) behind a fake transport: three peers offer the tip of a chain certified by its one
validator; one of them alters a value in every chunk it serves, one forges its offer's
certificate. The node restores the certified state anyway, from the honest peer; each liar
costs itself a transport fault and a `tally_snapshot_peer_faults` count, and is left out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import Certificate, commit_digest
from network.envelope import CHUNK, CHUNK_ASK, SNAPSHOT_ASK, SNAPSHOT_OFFER
from network.snapshot_wire import (
    decode_chunk,
    decode_offer,
    encode_chunk,
    encode_offer,
)
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor
from node.runtime.metrics import Metrics
from node.runtime.snapshot import SnapshotSync
from node.runtime.snapshot_serve import SnapshotServer
from tests.support.contract_chain import ContractChain

Tamper = Callable[[bytes], bytes]


class CertifiedChain(ContractChain):
    """A ContractChain whose certificates are real: its one validator's BLS signature."""

    def commit(self, txs: list[Any]) -> Any:
        tip = self.executor.tip
        validator = self.devnet.validators[0]
        block, _ = self.executor.build(
            0, tip.height + 1, tip.block_hash, txs, validator.ed25519.public, self.now_ms
        )
        block_hash = block.header.hash()
        signature = validator.bls.sign(
            commit_digest(self.genesis.chain, tip.height + 1, block_hash)
        )
        certificate = Certificate(tip.height + 1, 0, block_hash, b"\x01", signature)
        return self.executor.commit(block, certificate)


def _altered_chunk(payload: bytes) -> bytes:
    answer = decode_chunk(memoryview(payload)[1:])
    chunk = answer.chunk
    if not chunk.leaves:
        return payload
    key, value = chunk.leaves[0]
    leaves = ((key, value + b"\x00"), *chunk.leaves[1:])
    return encode_chunk(replace(answer, chunk=replace(chunk, leaves=leaves)))


def _forged_offer(payload: bytes) -> bytes:
    offer = decode_offer(memoryview(payload)[1:])
    assert offer.certificate is not None
    forged = Certificate.decode(offer.certificate)
    forged = Certificate(forged.height, 0, forged.block_hash, b"\x01", bytes(96))
    return encode_offer(replace(offer, certificate=forged.encode()))


class Wire:
    """Peers 1..3 served by real SnapshotServers; what they send may pass through a tamper."""

    def __init__(self, store: ChainStore, tampers: dict[tuple[int, int], Tamper]) -> None:
        self.names = ["us", "honest", "liar", "forger"]
        self.faults: dict[int, int] = {}
        self.tampers = tampers
        self.sync: SnapshotSync | None = None
        self.servers = {
            peer: SnapshotServer(_Back(self, peer), store, Metrics(), 1 << 20) for peer in (1, 2, 3)
        }
        self.asks: dict[int, int] = {}

    def name(self, peer: int) -> str:
        return self.names[peer]

    def peer_count(self) -> int:
        return len(self.names) - 1

    def connected(self) -> list[int]:
        return [1, 2, 3]

    def fault(self, peer: int, reason: str) -> None:
        self.faults[peer] = self.faults.get(peer, 0) + 1

    def send_payload(self, to: int, payload: bytes, *, connected_only: bool = False) -> None:
        self.asks[to] = self.asks.get(to, 0) + 1
        server = self.servers[to]
        handler = {SNAPSHOT_ASK: server.on_ask, CHUNK_ASK: server.on_chunk_ask}[payload[0]]
        asyncio.get_running_loop().call_soon(handler, 0, memoryview(payload)[1:])

    def deliver(self, peer: int, payload: bytes) -> None:
        tamper = self.tampers.get((peer, payload[0]))
        if tamper is not None:
            payload = tamper(payload)
        sync = self.sync
        assert sync is not None
        handler = {SNAPSHOT_OFFER: sync.on_offer, CHUNK: sync.on_chunk}[payload[0]]
        asyncio.get_running_loop().call_soon(handler, peer, memoryview(payload)[1:])


class _Back:
    """The serving peer's side of the wire: what it sends reaches our sync."""

    def __init__(self, wire: Wire, peer: int) -> None:
        self.wire, self.peer = wire, peer

    def send_payload(self, to: int, payload: bytes, *, connected_only: bool = False) -> None:
        self.wire.deliver(self.peer, payload)


def test_liars_are_left_out_and_the_certified_state_is_restored(tmp_path: Path) -> None:
    source = CertifiedChain(tmp_path / "source")
    for round_ in range(30):
        source.fund("acme-steel", "EUR", 100 + round_)
    fresh = ChainStore(LevelDBStore(tmp_path / "fresh"))
    Executor(fresh, source.genesis)  # a wiped node: genesis only
    wire = Wire(source.store, {(2, CHUNK): _altered_chunk, (3, SNAPSHOT_OFFER): _forged_offer})
    for server in wire.servers.values():
        server.chunk_bytes = 400  # many small chunks, so every peer serves several
    metrics = Metrics()
    sync = SnapshotSync(wire, fresh, source.genesis, metrics, behind=5, connect_wait=1.0)  # type: ignore[arg-type]
    wire.sync = sync
    assert asyncio.run(sync.run())
    tip = fresh.tip()
    assert (tip.height, tip.state_root) == (
        source.executor.tip.height,
        source.executor.tip.state_root,
    )
    assert dict(fresh.state_items("")) == dict(source.store.state_items(""))
    assert wire.faults == {2: 1}  # the chunk liar, by the transport; the forger by the offer
    faults = {
        sample.labels["reason"]: sample.value
        for family in metrics.registry.collect()
        if family.name == "tally_snapshot_peer_faults"
        for sample in family.samples
        if sample.name.endswith("_total")
    }
    assert faults == {"bad_chunk": 1.0, "bad_offer": 1.0}
    assert sync.stats is not None and sync.stats.chunks > 3
    assert wire.asks[3] == 1  # the forger was asked for its offer only


def test_no_snapshot_when_peers_are_close(tmp_path: Path) -> None:
    source = CertifiedChain(tmp_path / "source")
    for round_ in range(3):
        source.fund("acme-steel", "EUR", 100 + round_)
    fresh = ChainStore(LevelDBStore(tmp_path / "fresh"))
    Executor(fresh, source.genesis)
    wire = Wire(source.store, {})
    sync = SnapshotSync(wire, fresh, source.genesis, Metrics(), behind=5, connect_wait=1.0)  # type: ignore[arg-type]
    wire.sync = sync
    assert not asyncio.run(sync.run())
    assert fresh.tip().height == 0


def test_a_snapshot_rebuilt_before_a_stop_installs_without_peers(tmp_path: Path) -> None:
    from ledger.snapshot import serve_chunk
    from ledger.snapshot_build import SnapshotBuilder, SnapshotTarget, start_progress

    source = CertifiedChain(tmp_path / "source")
    for round_ in range(8):
        source.fund("acme-steel", "EUR", 100 + round_)
    fresh = ChainStore(LevelDBStore(tmp_path / "fresh"))
    Executor(fresh, source.genesis)
    height = source.executor.tip.height
    block, certificate = source.store.block(height), source.store.certificate(height)
    assert block is not None and certificate is not None
    target = SnapshotTarget(block.encode(), certificate.encode(), 0)
    builder = SnapshotBuilder.on(fresh, start_progress(fresh, height, target))
    while not builder.complete:
        builder.apply(serve_chunk(source.store.tree, height, builder.progress.after, 1 << 20, 9))
    wire = Wire(source.store, {})
    wire.connected = lambda: []  # type: ignore[method-assign]  # every peer is down now
    sync = SnapshotSync(wire, fresh, source.genesis, Metrics(), behind=5, connect_wait=0.1)  # type: ignore[arg-type]
    wire.sync = sync
    assert asyncio.run(sync.run())
    assert fresh.tip().state_root == source.executor.tip.state_root


def test_blocks_below_a_snapshot_count_only_if_they_link_to_it(tmp_path: Path) -> None:
    from node.runtime.snapshot_txids import linked_blocks

    chain = CertifiedChain(tmp_path / "chain")
    for round_ in range(6):
        chain.fund("acme-steel", "EUR", 100 + round_)
    store = chain.store

    def raw(height: int) -> tuple[bytes, bytes]:
        block, certificate = store.block(height), store.certificate(height)
        assert block is not None and certificate is not None
        return block.encode(), certificate.encode()

    top = store.header(6)
    assert top is not None
    span = [raw(h) for h in (3, 4, 5)]
    linked = linked_blocks(span, 3, 5, top.prev)
    assert linked is not None and [b.header.height for b in linked] == [3, 4, 5]
    assert linked_blocks([raw(2), raw(4), raw(5)], 3, 5, top.prev) is None  # a block swapped
    assert linked_blocks(span[1:], 3, 5, top.prev) is None  # one missing
    assert linked_blocks(span, 3, 5, bytes(32)) is None  # not below our certified block


def test_a_snapshot_cut_short_resumes_where_it_stopped(tmp_path: Path) -> None:
    from ledger.snapshot import serve_chunk
    from ledger.snapshot_build import SnapshotBuilder, SnapshotTarget, load_progress, start_progress

    source = CertifiedChain(tmp_path / "source")
    for round_ in range(30):
        source.fund("acme-steel", "EUR", 100 + round_)
    fresh = ChainStore(LevelDBStore(tmp_path / "fresh"))
    Executor(fresh, source.genesis)
    height = source.executor.tip.height
    block, certificate = source.store.block(height), source.store.certificate(height)
    assert block is not None and certificate is not None
    target = SnapshotTarget(block.encode(), certificate.encode(), 0)
    builder = SnapshotBuilder.on(fresh, start_progress(fresh, height, target))
    for _ in range(2):  # two chunks, then the process stopped
        builder.apply(serve_chunk(source.store.tree, height, builder.progress.after, 1 << 20, 7))
    source.fund("acme-steel", "EUR", 1)  # the network moved on meanwhile
    wire = Wire(source.store, {})
    for server in wire.servers.values():
        server.chunk_bytes = 400
    metrics = Metrics()
    sync = SnapshotSync(wire, fresh, source.genesis, metrics, behind=5, connect_wait=1.0)  # type: ignore[arg-type]
    wire.sync = sync
    assert asyncio.run(sync.run())
    assert fresh.tip().height == height  # the height it had started, not the newer tip
    assert fresh.tip().state_root == source.store.header(height).state_root  # type: ignore[union-attr]
    assert sync.stats is not None and sync.stats.keys == len(dict(fresh.state_items("")))
    assert load_progress(fresh) is None


def test_an_offer_is_checked_against_the_set_our_state_says_is_in_force(tmp_path: Path) -> None:
    """After governance changed the set, a genesis check would refuse every honest offer (or
    accept one certified by removed validators): the set comes from `validators_at`."""
    source = CertifiedChain(tmp_path / "source")
    for round_ in range(8):
        source.fund("acme-steel", "EUR", 100 + round_)
    other = make_devnet(1, seed=b"another set").genesis["validators"]
    elsewhere = genesis_from_value({**source.genesis.raw, "validators": other}).validators
    for name, validators, restored in (("stranger", elsewhere, False), ("ours", None, True)):
        fresh = ChainStore(LevelDBStore(tmp_path / name))
        Executor(fresh, source.genesis)
        wire = Wire(source.store, {})
        asked: list[int] = []

        def validators_at(height: int, chosen: Any = validators, seen: Any = asked) -> Any:
            seen.append(height)
            return source.genesis.validators if chosen is None else chosen

        sync = SnapshotSync(
            wire,  # type: ignore[arg-type]
            fresh,
            source.genesis,
            Metrics(),
            behind=5,
            connect_wait=1.0,
            validators_at=validators_at,
        )
        wire.sync = sync
        assert asyncio.run(sync.run()) is restored
        assert asked and set(asked) == {source.executor.tip.height}
        assert fresh.tip().height == (source.executor.tip.height if restored else 0)
