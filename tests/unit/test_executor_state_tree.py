"""The header's state_root is the state tree's root (DESIGN.md §6), on every path a block takes:
built by the proposer, recomputed by a replica before it prepares (pipelined heights on top of
uncommitted ones, competing blocks at one height), committed in the block's batch, reopened
after a restart, and pruned past the retention height off the commit path."""

from __future__ import annotations

import gc
import hashlib
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ledger import codec
from ledger.chain import P_META, ChainStore, StateTreeMissing
from ledger.errors import TallyError
from ledger.genesis import genesis_from_value
from ledger.smt_store import P_SMT_ROOT
from ledger.store import LevelDBStore, MemoryStore
from ledger.types import Block, Certificate, SignedTx
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor, InvalidBlock
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"executor-state-tree-tests")
GENESIS = genesis_from_value({**DEVNET.genesis, "params": {"checkpoint_interval": 2}})
NOW = GENESIS.time_ms + 1000
PROPOSER = DEVNET.validators[0].ed25519.public


def naive_root(entries: list[tuple[str, bytes]]) -> bytes:
    """§6 written from the text (a lone leaf where its path is alone), not from ledger/smt*."""

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def subtree(leaves: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:
            return sha(b"\x00" + leaves[0][0] + sha(leaves[0][1]))
        sides: tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]] = ([], [])
        for leaf in leaves:
            sides[(leaf[0][depth // 8] >> (7 - depth % 8)) & 1].append(leaf)
        return sha(b"\x01" + subtree(sides[0], depth + 1) + subtree(sides[1], depth + 1))

    return subtree([(sha(key.encode()), value) for key, value in entries], 0)


def stored_root(store: ChainStore) -> bytes:
    return naive_root([(key, codec.encode(value)) for key, value in store.state_items("")])


def issue(amount: int, to: str = "bigauto") -> SignedTx:
    args = {"currency": "CNY", "to": to, "amount": amount}
    return build_tx(DEVNET.key("bank-a"), GENESIS.chain, "cash", "issue", args, 50)


def certify(block: Block) -> Certificate:
    return Certificate(block.header.height, 0, block.hash, b"\x01", bytes(96))


def build_on(executor: Executor, parent: Block | None, txs: list[SignedTx]) -> Block:
    if parent is None:
        height, parent_hash = executor.tip.height + 1, executor.tip.block_hash
    else:
        height, parent_hash = parent.header.height + 1, parent.hash
    block, rejected = executor.build(0, height, parent_hash, txs, PROPOSER, NOW)
    assert rejected == []
    return block


@pytest.fixture
def pair() -> Iterator[tuple[Executor, Executor]]:
    """A proposer and a replica on stores of their own."""
    yield Executor(ChainStore(MemoryStore()), GENESIS), Executor(ChainStore(MemoryStore()), GENESIS)


def test_genesis_state_root_is_the_tree_root_of_the_genesis_state() -> None:
    executor = Executor(ChainStore(MemoryStore()), GENESIS)
    assert executor.tip.state_root == stored_root(executor.store)
    assert executor.store.tree.latest_version() == 0


def test_a_proposal_claiming_another_state_root_is_an_invalid_block(pair) -> None:
    proposer, replica = pair
    block = build_on(proposer, None, [issue(500)])
    root = block.header.state_root
    wrong = bytes([root[0] ^ 1]) + root[1:]
    forged = Block(replace(block.header, state_root=wrong), block.txs)
    with pytest.raises(InvalidBlock, match="state_root differs"):
        replica.execute(forged, NOW, 0)
    assert forged.hash not in replica.pending
    replica.execute(block, NOW, 0)  # the honest one prepares
    assert block.hash in replica.pending


def test_proposer_and_replica_commit_the_tree_root_over_heights_in_flight(pair) -> None:
    proposer, replica = pair
    first = build_on(proposer, None, [issue(100)])
    second = build_on(proposer, first, [issue(7, "acme-steel")])  # on an uncommitted parent
    third = build_on(proposer, second, [issue(3)])
    for block in (first, second, third):
        replica.execute(block, NOW, 0)
    for block in (first, second, third):
        proposer.commit(block, certify(block))
        replica.commit(block, certify(block))
        for executor in (proposer, replica):
            assert executor.tip.state_root == block.header.state_root
            assert executor.tip.state_root == stored_root(executor.store)
            assert executor.store.tree.latest_version() == block.header.height
    assert len({first.header.state_root, second.header.state_root, third.header.state_root}) == 3


def test_a_pipeline_that_never_drains_lets_go_of_each_committed_block(pair) -> None:
    """Under load every block is built on one still in flight. Once a block commits, its
    child reads the store: before, each read walked back through the overlay of every block
    committed since the pipeline last drained, which all stayed in memory (issue 19)."""
    proposer, replica = pair
    released: list[weakref.ref[object]] = []
    block = build_on(proposer, None, [issue(1)])
    replica.execute(block, NOW, 0)
    for amount in range(2, 22):
        child = build_on(proposer, block, [issue(amount)])  # the pipeline stays full
        replica.execute(child, NOW, 0)
        for executor in (proposer, replica):
            released.append(weakref.ref(executor.pending[block.hash].overlay))
            executor.commit(block, certify(block))
        block = child
    gc.collect()
    assert [ref() for ref in released] == [None] * len(released)
    for executor in (proposer, replica):
        executor.commit(block, certify(block))
        assert executor.tip.state_root == stored_root(executor.store)
        assert executor.state("cash/bal/CNY/bigauto") == sum(range(1, 22))


def test_a_competing_block_at_the_same_height_leaves_no_trace(pair) -> None:
    proposer, replica = pair
    kept = build_on(proposer, None, [issue(1)])
    dropped = build_on(replica, None, [issue(2)])
    replica.execute(kept, NOW, 0)
    proposer.execute(dropped, NOW, 0)
    assert kept.header.state_root != dropped.header.state_root
    for executor in pair:
        executor.commit(kept, certify(kept))
        assert dropped.hash not in executor.pending
        nxt = build_on(executor, None, [issue(5)])
        executor.commit(nxt, certify(nxt))
        assert executor.tip.state_root == stored_root(executor.store)
    assert proposer.tip.state_root == replica.tip.state_root


def test_every_height_proves_what_it_held(pair) -> None:
    proposer, _ = pair
    key = "cash/bal/CNY/bigauto"
    for amount in (10, 20):
        block = build_on(proposer, None, [issue(amount)])
        proposer.commit(block, certify(block))
    tree, store = proposer.store.tree, proposer.store
    for height, balance in ((0, None), (1, 10), (2, 30)):
        proof = tree.prove(key, height)
        header = store.header(height)
        assert proof.verify(tree.root(0) if header is None else header.state_root)
        assert (None if proof.value is None else codec.decode(proof.value)) == balance


def test_a_restarted_node_reopens_its_tree_at_the_tip(tmp_path: Path) -> None:
    kv = LevelDBStore(tmp_path / "db")
    executor = Executor(ChainStore(kv), GENESIS)
    for amount in (1, 2, 3):
        block = build_on(executor, None, [issue(amount)])
        executor.commit(block, certify(block))
    tip = executor.tip
    kv.close()
    kv = LevelDBStore(tmp_path / "db")
    reopened = Executor(ChainStore(kv), GENESIS)
    assert reopened.tip == tip
    assert reopened.store.tree.latest_version() == 3
    assert reopened.store.tree.root(3) == tip.state_root == stored_root(reopened.store)
    block = build_on(reopened, None, [issue(4)])
    reopened.commit(block, certify(block))
    assert reopened.tip.state_root == stored_root(reopened.store)
    kv.close()


def test_data_without_a_tree_refuses_to_open(tmp_path: Path) -> None:
    kv = LevelDBStore(tmp_path / "db")
    executor = Executor(ChainStore(kv), GENESIS)
    block = build_on(executor, None, [issue(1)])
    executor.commit(block, certify(block))
    kv.write({key: None for key, _ in kv.iterate(P_SMT_ROOT)})
    with pytest.raises(StateTreeMissing) as missing:
        Executor(ChainStore(kv), GENESIS)
    assert missing.value.code == "STATE_TREE_MISSING"
    assert "no state tree" in missing.value.message
    kv.close()


def test_a_first_release_database_is_refused_naming_the_release() -> None:
    kv = MemoryStore()
    kv.put(P_META + b"schema", codec.encode(1))
    with pytest.raises(StateTreeMissing, match="first release"):
        ChainStore(kv)


def test_old_heights_are_pruned_at_checkpoints_and_the_retained_ones_prove(tmp_path) -> None:
    kv = LevelDBStore(tmp_path / "db")
    executor = Executor(ChainStore(kv), GENESIS, retain_heights=3)
    key = "cash/bal/CNY/bigauto"
    for amount in range(1, 11):
        block = build_on(executor, None, [issue(amount)])
        executor.commit(block, certify(block))
        assert executor.pruner is not None
        executor.pruner.wait()
    tree, store = executor.store.tree, executor.store
    assert tree.oldest_version() == 8  # pruned at the checkpoint of height 10
    with pytest.raises(Exception) as pruned:
        tree.prove(key, 7)
    assert getattr(pruned.value, "code", None) == "STATE_HEIGHT_PRUNED"
    for height in (8, 9, 10):
        proof = tree.prove(key, height)
        assert proof.verify(store.header(height).state_root)
        assert codec.decode(proof.value) == sum(range(1, height + 1))
    assert executor.tip.state_root == stored_root(store)
    executor.close()
    kv.close()


def _node_toml(tmp_path: Path, state: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(f'[node]\nname = "v"\ngenesis = "g.json"\n{state}')
    return path


def test_the_retention_comes_from_the_node_config(tmp_path: Path) -> None:
    from node.config import load_config

    assert load_config(_node_toml(tmp_path, "")).state_retain_heights == 1000
    kept = load_config(_node_toml(tmp_path, "[state]\nretain_heights = 64\n"))
    assert kept.state_retain_heights == 64
    archive = load_config(_node_toml(tmp_path, "[state]\nretain_heights = 0\n"))
    assert archive.state_retain_heights is None  # every height provable
    for bad in ("retain_heights = -1", 'retain_heights = "all"'):
        with pytest.raises(TallyError) as refused:
            load_config(_node_toml(tmp_path, f"[state]\n{bad}\n"))
        assert (
            refused.value.code == "BAD_CONFIG" and "state.retain_heights" in refused.value.message
        )


def test_pruning_beside_commits_keeps_every_retained_height_provable(tmp_path: Path) -> None:
    """The pruner's thread runs while blocks keep committing (no wait between them)."""
    kv = LevelDBStore(tmp_path / "db")
    executor = Executor(ChainStore(kv), GENESIS, retain_heights=4)
    for amount in range(1, 41):
        block = build_on(executor, None, [issue(amount), issue(amount, "acme-steel")])
        executor.commit(block, certify(block))
    assert executor.pruner is not None
    executor.pruner.wait()
    tree, store = executor.store.tree, executor.store
    oldest = tree.oldest_version()
    assert oldest is not None and 1 <= oldest <= 37  # how far depends on the thread's pace
    for height in range(oldest, 41):
        for org in ("bigauto", "acme-steel"):
            proof = tree.prove(f"cash/bal/CNY/{org}", height)
            assert proof.verify(store.header(height).state_root)
    assert executor.tip.state_root == stored_root(store)
    executor.close()
    kv.close()
