"""Snapshot sync in the ledger: chunks served from one version of the tree rebuild its root on
another store; a chunk that drops, adds, alters or reorders a key is refused and leaves the
store as it was; progress survives a crash (closing LevelDB mid-way); install makes H the tip,
finishes after a crash between its two steps, and the chain goes on by replay. Real LevelDB."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.chain import ChainStore
from ledger.smt import key_hash
from ledger.smt_store import P_SMT_NODE, P_SMT_ROOT, StateTree, encode_writes
from ledger.snapshot import SnapshotChunk, encode_root_ref, serve_chunk
from ledger.snapshot_build import (
    P_SNAPSHOT,
    BadChunk,
    SnapshotBuilder,
    SnapshotProgress,
    SnapshotTarget,
    abandon,
    install,
    load_progress,
    resume_install,
    start_progress,
)
from ledger.store import LevelDBStore
from ledger.types import Block, Certificate
from tests.support.contract_chain import ContractChain


def _random_state(rng: random.Random, count: int) -> dict[str, bytes]:
    return {
        f"key/{rng.randrange(10**9)}/{i}": rng.randbytes(rng.randrange(1, 40)) for i in range(count)
    }


def _served_tree(
    path: Path, seed: int, count: int = 600
) -> tuple[StateTree, int, dict[str, bytes]]:
    """A tree with a few versions; the state of version 2 is returned, and version 3 moves on
    (so a server's later blocks must not leak into the snapshot of 2)."""
    rng = random.Random(seed)
    tree = StateTree(LevelDBStore(path))
    state = _random_state(rng, count)
    tree.commit(tree.prepare(0, encode_writes(dict(list(state.items())[: count // 2]))))
    tree.commit(tree.prepare(1, encode_writes(state)))
    changes: dict[str, bytes | None] = {key: None for key in rng.sample(sorted(state), 20)}
    changes.update({f"late/{i}": b"v" for i in range(10)})
    tree.commit(tree.prepare(2, encode_writes(changes)))
    final = {k: v for k, v in {**state, **changes}.items() if v is not None}
    tree.commit(tree.prepare(3, encode_writes({key: b"after" for key in list(final)[:50]})))
    encoded = {key: encode_writes({key: value})[key] for key, value in final.items()}
    return tree, 2, {key: value for key, value in encoded.items() if value is not None}


def _target() -> SnapshotTarget:
    return SnapshotTarget(b"", b"", 0)


def _builder(path: Path, tree: StateTree, height: int) -> SnapshotBuilder:
    kv = LevelDBStore(path)
    progress = SnapshotProgress(height, tree.root(height), _target())
    return SnapshotBuilder(kv, progress)


def _fetch_all(builder: SnapshotBuilder, tree: StateTree, keys: int) -> int:
    chunks = 0
    while not builder.complete:
        chunk = serve_chunk(tree, builder.progress.height, builder.progress.after, 1 << 20, keys)
        builder.apply(chunk)
        chunks += 1
    return chunks


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chunks_rebuild_the_root_of_the_version_served(tmp_path: Path, seed: int) -> None:
    tree, height, state = _served_tree(tmp_path / "server", seed)
    builder = _builder(tmp_path / "client", tree, height)
    chunks = _fetch_all(builder, tree, keys=37)
    assert chunks > 10
    assert builder.progress.root[0] == tree.root(height)
    assert builder.progress.keys == len(state)
    assert builder.progress.phase == "rebuilt"


def test_one_key_chunks_and_one_chunk_for_all(tmp_path: Path) -> None:
    tree, height, _ = _served_tree(tmp_path / "server", 7, count=40)
    for keys in (1, 10_000):
        builder = _builder(tmp_path / f"client-{keys}", tree, height)
        _fetch_all(builder, tree, keys=keys)
        assert builder.progress.root[0] == tree.root(height)


def _tampered(chunk: SnapshotChunk, how: str) -> SnapshotChunk:
    leaves = list(chunk.leaves)
    if how == "value":
        leaves[3] = (leaves[3][0], leaves[3][1] + b"!")
    elif how == "drop":
        del leaves[2]
    elif how == "add":
        leaves.insert(2, (b"forged/key", b"\xa1x"))
        leaves.sort(key=lambda leaf: key_hash(leaf[0].decode()))
    elif how == "swap":
        leaves[1], leaves[2] = leaves[2], leaves[1]
    elif how == "proof":
        return replace(chunk, siblings=(bytes(32), *chunk.siblings[1:]))
    elif how == "early end":
        return replace(chunk, more=False, siblings=())
    return replace(chunk, leaves=tuple(leaves))


@pytest.mark.parametrize("how", ["value", "drop", "add", "swap", "proof", "early end"])
def test_a_tampered_chunk_is_refused_and_nothing_is_written(tmp_path: Path, how: str) -> None:
    tree, height, _ = _served_tree(tmp_path / "server", 4)
    builder = _builder(tmp_path / "client", tree, height)
    builder.apply(serve_chunk(tree, height, None, 1 << 20, 25))  # one good chunk first
    before = builder.progress
    nodes_before = sum(1 for _ in builder.kv.iterate(P_SMT_NODE))
    chunk = serve_chunk(tree, height, before.after, 1 << 20, 25)
    with pytest.raises(BadChunk):
        builder.apply(_tampered(chunk, how))
    assert builder.progress == before
    assert load_progress(ChainStore(builder.kv)) in (None, before)
    assert sum(1 for _ in builder.kv.iterate(P_SMT_NODE)) == nodes_before
    builder.apply(chunk)  # the honest chunk of the same range still fits
    _fetch_all(builder, tree, keys=25)
    assert builder.progress.root[0] == tree.root(height)


def test_a_tampered_last_chunk_fails_the_root(tmp_path: Path) -> None:
    tree, height, _ = _served_tree(tmp_path / "server", 5, count=30)
    builder = _builder(tmp_path / "client", tree, height)
    chunk = serve_chunk(tree, height, None, 1 << 20, 10_000)
    assert not chunk.more
    with pytest.raises(BadChunk):
        builder.apply(_tampered(chunk, "value"))


def test_progress_survives_a_crash_and_resumes(tmp_path: Path) -> None:
    tree, height, state = _served_tree(tmp_path / "server", 6)
    kv = LevelDBStore(tmp_path / "client")
    target = SnapshotTarget(b"block", b"cert", 9)
    progress = SnapshotProgress(height, tree.root(height), target)
    builder = SnapshotBuilder(kv, progress)
    for _ in range(5):
        builder.apply(serve_chunk(tree, height, builder.progress.after, 1 << 20, 30))
    kv.close()  # the process dies here
    kv = LevelDBStore(tmp_path / "client")
    resumed = load_progress(ChainStore(kv))
    assert resumed is not None and resumed.keys == 150 and resumed.chunks == 5
    assert resumed.target == target
    builder = SnapshotBuilder(kv, resumed)
    _fetch_all(builder, tree, keys=30)
    assert builder.progress.root[0] == tree.root(height)
    assert builder.progress.keys == len(state)


def test_abandon_deletes_the_partial_tree(tmp_path: Path) -> None:
    tree, height, _ = _served_tree(tmp_path / "server", 8)
    builder = _builder(tmp_path / "client", tree, height)
    kv = builder.kv
    kv.put(b"v2/smt/n/" + (1).to_bytes(8, "big") + b"\x00\x00", b"other version")
    builder.apply(serve_chunk(tree, height, None, 1 << 20, 30))
    abandon(ChainStore(kv))
    assert load_progress(ChainStore(kv)) is None
    assert [key for key, _ in kv.iterate(P_SMT_NODE)] == [
        b"v2/smt/n/" + (1).to_bytes(8, "big") + b"\x00\x00"
    ]


# -- install on a real chain ---------------------------------------------------------------------


def _busy_chain(path: Path, blocks: int) -> ContractChain:
    chain = ContractChain(path)
    for round_ in range(blocks):
        chain.fund("acme-steel", "EUR", 1000 + round_)
        chain.call(
            "acme-steel", "cash", "transfer", {"to": "bank-b", "currency": "EUR", "amount": 7}
        )
    return chain


def _snapshot_into(source: ContractChain, target: ChainStore, keys: int) -> SnapshotBuilder:
    height = source.executor.tip.height
    block, certificate = source.store.block(height), source.store.certificate(height)
    assert block is not None and certificate is not None
    snapshot = SnapshotTarget(block.encode(), certificate.encode(), source.executor.tip.event_seq)
    builder = SnapshotBuilder.on(target, start_progress(target, height, snapshot))
    _fetch_all(builder, source.store.tree, keys)
    return builder


def test_install_makes_h_the_tip_and_replay_goes_on(tmp_path: Path) -> None:
    source = _busy_chain(tmp_path / "source", 6)
    fresh = ContractChain(tmp_path / "fresh")  # genesis only, as a wiped node
    height = source.executor.tip.height
    builder = _snapshot_into(source, fresh.store, keys=9)
    tip = install(fresh.store, builder.progress)
    assert (tip.height, tip.block_hash, tip.state_root) == (
        height,
        source.executor.tip.block_hash,
        source.executor.tip.state_root,
    )
    assert dict(fresh.store.state_items("")) == dict(source.store.state_items(""))
    assert fresh.store.tree.oldest_version() == height
    assert load_progress(fresh.store) is None
    # the next block of the source replays on the snapshot
    source.fund("bank-b", "EUR", 5)
    block, certificate = source.store.block(height + 1), source.store.certificate(height + 1)
    assert block is not None and certificate is not None
    restarted = fresh.executor.__class__(fresh.store, fresh.genesis)
    restarted.execute(block, block.header.time_ms, 0)
    restarted.commit(block, certificate)
    assert restarted.tip.state_root == source.executor.tip.state_root
    key = "cash/bal/EUR/bank-b"
    assert fresh.store.tree.prove(key, height + 1).verify(restarted.tip.state_root)


def test_install_finishes_after_a_crash_between_its_steps(tmp_path: Path) -> None:
    source = _busy_chain(tmp_path / "source", 3)
    fresh = ContractChain(tmp_path / "fresh")
    builder = _snapshot_into(source, fresh.store, keys=13)
    progress = builder.progress
    # the switch alone, as if the process died right after its batch
    fresh.store.adopt_snapshot(
        Block.decode(progress.target.block),
        Certificate.decode(progress.target.certificate),
        progress.target.event_seq,
        {
            P_SMT_ROOT + progress.height.to_bytes(8, "big"): encode_root_ref(progress.root),
            P_SNAPSHOT: replace(progress, phase="switched").encode(),
        },
    )
    fresh.close()
    store = ChainStore(LevelDBStore(tmp_path / "fresh"))
    tip = resume_install(store)
    assert tip is not None and tip.state_root == source.executor.tip.state_root
    assert dict(store.state_items("")) == dict(source.store.state_items(""))
    assert load_progress(store) is None


def test_the_old_tip_stays_whole_until_the_switch(tmp_path: Path) -> None:
    """Chunks stage their keys: a node stopped before installing still opens at its old tip,
    with its old state and tree, and abandoning leaves nothing of the snapshot behind."""
    source = _busy_chain(tmp_path / "source", 3)
    fresh = ContractChain(tmp_path / "fresh")
    before = dict(fresh.store.state_items(""))
    builder = _snapshot_into(source, fresh.store, keys=13)
    assert builder.progress.phase == "rebuilt"
    fresh.close()
    store = ChainStore(LevelDBStore(tmp_path / "fresh"))
    assert resume_install(store) is None  # not switched: nothing to finish at open
    assert store.check_tree().height == 0
    assert dict(store.state_items("")) == before
    abandon(store)
    assert load_progress(store) is None
    assert not list(store.kv.iterate(b"v2/snap/"))
    height = source.executor.tip.height.to_bytes(8, "big")
    assert not list(store.kv.iterate(P_SMT_NODE + height))
    assert store.check_tree().height == 0


def test_install_resumes_after_the_copy(tmp_path: Path) -> None:
    source = _busy_chain(tmp_path / "source", 3)
    fresh = ContractChain(tmp_path / "fresh")
    progress = _snapshot_into(source, fresh.store, keys=13).progress
    install(fresh.store, progress)
    # as if the process died after the copy: the record says so, the staging area is back
    fresh.kv.write({P_SNAPSHOT: replace(progress, phase="copied").encode(), b"v2/snap/st/x": b"1"})
    fresh.close()
    store = ChainStore(LevelDBStore(tmp_path / "fresh"))
    tip = resume_install(store)
    assert tip is not None and tip.state_root == source.executor.tip.state_root
    assert dict(store.state_items("")) == dict(source.store.state_items(""))
    assert not list(store.kv.iterate(b"v2/snap/"))


def test_install_over_an_older_chain_replaces_its_state_and_tree(tmp_path: Path) -> None:
    """A node far behind holds state and tree versions of its own: after the install only the
    snapshot's keys are left in the flat state (a key deleted since is gone) and the tree holds
    version H alone; its old blocks stay."""
    source = _busy_chain(tmp_path / "source", 6)
    behind = _busy_chain(tmp_path / "behind", 2)
    behind.fund("rhein-parts", "EUR", 5)  # a key the source never wrote
    assert behind.state("cash/bal/EUR/rhein-parts") == 5
    old_tip = behind.executor.tip.height
    builder = _snapshot_into(source, behind.store, keys=11)
    height = builder.progress.height
    install(behind.store, builder.progress)
    assert dict(behind.store.state_items("")) == dict(source.store.state_items(""))
    assert behind.store.state("cash/bal/EUR/rhein-parts") is None
    assert behind.store.tree.oldest_version() == behind.store.tree.latest_version() == height
    versions = {
        int.from_bytes(key[len(P_SMT_NODE) : len(P_SMT_NODE) + 8], "big")
        for key, _ in behind.kv.iterate(P_SMT_NODE)
    }
    assert versions == {height}
    assert behind.store.block(old_tip) is not None
