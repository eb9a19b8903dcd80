"""The versioned state tree against a naive model: a dict, its root recomputed from scratch by
the reference implementation of test_smt.py after every block, over random insert, update and
delete sequences; proofs at every retained height; pruning; persistence in LevelDB."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import StoreError
from ledger.smt_store import (
    P_SMT_NODE,
    P_SMT_ROOT,
    P_SMT_STALE,
    StateTree,
    StateTreeError,
    TreeUpdate,
    encode_writes,
)
from ledger.store import KeyValueStore, LevelDBStore, MemoryStore
from tests.unit.test_smt import reference_fold, reference_nodes, reference_root

UNIVERSE = [f"k{i}" for i in range(24)] + ["cash/bal/EUR/bank-a", "rcv/piece/7", "", "é"]
WRITE = st.one_of(st.none(), st.binary(max_size=3))
BLOCK = st.dictionaries(st.sampled_from(UNIVERSE), WRITE, max_size=10)

Model = dict[str, bytes]


def _apply(model: Model, writes: dict[str, bytes | None]) -> Model:
    after = dict(model)
    for key, value in writes.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after


def _root(model: Model) -> bytes:
    return reference_root({k.encode(): v for k, v in model.items()})


def _count(kv: KeyValueStore, prefix: bytes) -> int:
    return sum(1 for _ in kv.iterate(prefix))


def _check_version(tree: StateTree, version: int, model: Model) -> None:
    """The root is the model's, and every key of the universe proves its value or absence."""
    root = _root(model)
    assert tree.root(version) == root
    for key in UNIVERSE:
        proof = tree.prove(key, version)
        assert proof.value == model.get(key), key
        assert proof.verify(root)
        other = None if proof.other is None else (proof.other.key_hash, proof.other.value_hash)
        assert reference_fold(key.encode(), proof.value, list(proof.siblings), other) == root


def _run(tree: StateTree, blocks: list[dict[str, bytes | None]]) -> list[Model]:
    """Commit the blocks as versions 0, 1, ... and return the model after each."""
    history: list[Model] = []
    model: Model = {}
    for version, writes in enumerate(blocks):
        tree.commit(tree.prepare(version, writes))
        model = _apply(model, writes)
        history.append(model)
        _check_version(tree, version, model)
    return history


@settings(max_examples=80, deadline=None)
@given(st.lists(BLOCK, min_size=1, max_size=12), st.one_of(st.none(), st.integers(1, 4)))
def test_every_block_matches_the_model_and_retained_heights_stay_provable(
    blocks: list[dict[str, bytes | None]], keep: int | None
) -> None:
    tree = StateTree(MemoryStore(), keep_versions=keep)
    history = _run(tree, blocks)
    tip = len(blocks) - 1
    oldest = 0 if keep is None else max(0, tip - keep + 1)
    assert tree.oldest_version() == oldest and tree.latest_version() == tip
    for version, model in enumerate(history):
        if version >= oldest:
            _check_version(tree, version, model)
        else:
            with pytest.raises(StateTreeError) as refused:
                tree.prove("k1", version)
            assert refused.value.code == "STATE_HEIGHT_PRUNED"


@settings(max_examples=60, deadline=None)
@given(st.lists(BLOCK, min_size=1, max_size=10))
def test_pruning_to_the_tip_leaves_exactly_the_tree_of_the_tip(
    blocks: list[dict[str, bytes | None]],
) -> None:
    kv = MemoryStore()
    tree = StateTree(kv, keep_versions=1)
    model = _run(tree, blocks)[-1]
    assert _count(kv, P_SMT_NODE) == len(reference_nodes({k.encode(): v for k, v in model.items()}))
    assert _count(kv, P_SMT_STALE) == 0
    assert _count(kv, P_SMT_ROOT) == 1


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(UNIVERSE), st.binary(max_size=3)), BLOCK)
def test_a_block_writes_exactly_the_nodes_it_changes_and_stales_those_it_drops(
    before: dict[str, bytes], writes: dict[str, bytes | None]
) -> None:
    """Batch update: no node hashed and written twice, none rewritten unchanged."""
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(0, dict(before)))
    update = tree.prepare(1, writes)
    old = reference_nodes({k.encode(): v for k, v in before.items()})
    new = reference_nodes({k.encode(): v for k, v in _apply(before, writes).items()})
    assert len(update.nodes) == len(new - old)
    assert len(update.stale) == len(old - new)


def test_pruning_deletes_stale_nodes_and_keeps_the_retained_heights() -> None:
    kv = MemoryStore()
    tree = StateTree(kv)
    rng = random.Random(5)
    blocks = [_random_block(rng, 60, 12) for _ in range(30)]
    history = _run(tree, blocks)
    before = _count(kv, P_SMT_NODE)
    deleted = tree.prune(20)
    assert deleted > 0 and _count(kv, P_SMT_NODE) == before - deleted
    assert tree.oldest_version() == 20
    for version in range(20, 30):
        _check_version(tree, version, history[version])
    with pytest.raises(StateTreeError):
        tree.root(19)
    assert tree.prune(20) == 0  # idempotent
    assert tree.prune(1000) > 0 and tree.oldest_version() == 29  # the tip is always kept
    _check_version(tree, 29, history[29])


def test_uncommitted_blocks_build_on_each_other_and_a_dropped_branch_leaves_no_trace() -> None:
    """The executor prepares height h+1 over a block h not committed yet (pipelining)."""
    kv = MemoryStore()
    tree = StateTree(kv)
    tree.commit(tree.prepare(0, {"a": b"1", "b": b"2"}))
    first = tree.prepare(1, {"a": b"9", "c": b"3"})
    second = tree.prepare(2, {"b": None, "d": b"4"}, pending=[first])
    rival = tree.prepare(2, {"a": None}, pending=[first])  # another proposal at height 2
    third = tree.prepare(3, {"c": b"5"}, pending=[second, first])
    assert _count(kv, P_SMT_ROOT) == 1  # nothing written yet
    for update in (first, second, third):
        tree.commit(update)
    assert rival.root != second.root
    rival_next = tree.prepare(3, {"e": b"6"}, pending=[rival, first])
    orphan = tree.prepare(4, {"f": b"7"}, pending=[rival_next, rival])  # on the dropped branch
    with pytest.raises(StateTreeError) as refused:
        tree.commit(orphan)
    assert "another parent" in refused.value.message
    _check_version(tree, 3, {"a": b"9", "c": b"5", "d": b"4"})
    _check_version(tree, 1, {"a": b"9", "b": b"2", "c": b"3"})


def test_versions_must_follow_each_other() -> None:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(5, {"a": b"1"}))  # an empty tree may start at any height
    for bad in (5, 7):
        with pytest.raises(StateTreeError) as refused:
            tree.prepare(bad, {"a": b"2"})
        assert refused.value.code == "STATE_TREE_VERSION"
    later = tree.prepare(6, {"a": b"2"})
    tree.commit(later)
    with pytest.raises(StateTreeError):
        tree.commit(later)
    with pytest.raises(StateTreeError) as unknown:
        tree.prove("a", 7)
    assert unknown.value.code == "STATE_HEIGHT_UNKNOWN"


def test_no_op_writes_change_nothing() -> None:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(0, {f"k{i}": b"v" for i in range(20)}))
    same = tree.prepare(1, {"k3": b"v", "k11": b"v", "absent": None})
    assert same.root == tree.root(0)
    assert same.nodes == {} and same.stale == ()


def test_deleting_every_key_empties_the_tree() -> None:
    kv = MemoryStore()
    tree = StateTree(kv, keep_versions=1)
    tree.commit(tree.prepare(0, {f"k{i}": b"v" for i in range(50)}))
    tree.commit(tree.prepare(1, dict.fromkeys((f"k{i}" for i in range(50)), None)))
    assert tree.root(1) == bytes(32)
    assert _count(kv, P_SMT_NODE) == 0
    proof = tree.prove("k1", 1)
    assert proof.value is None and proof.siblings == () and proof.other is None


def test_a_damaged_node_is_reported_not_trusted() -> None:
    kv = MemoryStore()
    tree = StateTree(kv)
    tree.commit(tree.prepare(0, {f"k{i}": b"v" for i in range(8)}))
    key, raw = next(iter(kv.iterate(P_SMT_NODE)))  # the root: an inner node
    kv.put(key, raw[:10] + bytes([raw[10] ^ 1]) + raw[11:])  # a bit of its left child's hash
    restarted = StateTree(kv)  # nothing cached: the record is read back from the store
    with pytest.raises(StoreError):
        for i in range(8):
            restarted.prove(f"k{i}", 0)


def test_encode_writes_uses_the_canonical_encoding() -> None:
    assert encode_writes({"cash/bal/EUR/bank-a": 5, "gone": None}) == {
        "cash/bal/EUR/bank-a": b"\x05",
        "gone": None,
    }


def _random_block(rng: random.Random, keys: int, size: int) -> dict[str, bytes | None]:
    return {
        f"key/{rng.randrange(keys)}": None if rng.random() < 0.25 else rng.randbytes(4)
        for _ in range(size)
    }


def test_the_tree_persists_across_reopening_leveldb(tmp_path: Any) -> None:
    rng = random.Random(11)
    blocks = [_random_block(rng, 200, 25) for _ in range(20)]
    store = LevelDBStore(tmp_path / "db")
    history = _run_keys(StateTree(store, keep_versions=8), blocks)
    store.close()
    reopened = LevelDBStore(tmp_path / "db")
    tree = StateTree(reopened, keep_versions=8)
    assert (tree.oldest_version(), tree.latest_version()) == (12, 19)
    for version in range(12, 20):
        _check_keys(tree, version, history[version])
    more = [_random_block(rng, 200, 25) for _ in range(5)]
    model = history[-1]
    for version, writes in enumerate(more, start=20):
        tree.commit(tree.prepare(version, writes))
        model = _apply(model, writes)
        _check_keys(tree, version, model)
    reopened.close()


def _run_keys(tree: StateTree, blocks: list[dict[str, bytes | None]]) -> list[Model]:
    history, model = [], {}
    for version, writes in enumerate(blocks):
        update: TreeUpdate = tree.prepare(version, writes)
        tree.commit(update)
        model = _apply(model, writes)
        assert update.root == _root(model)
        history.append(model)
    return history


def _check_keys(tree: StateTree, version: int, model: Model) -> None:
    root = _root(model)
    assert tree.root(version) == root
    for key in [f"key/{i}" for i in range(0, 200, 7)]:
        proof = tree.prove(key, version)
        assert proof.value == model.get(key) and proof.verify(root)


@pytest.mark.parametrize("height", [-1, 2**64])
def test_heights_outside_u64_are_refused_with_a_code(height: int) -> None:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(0, {"a": b"1"}))
    with pytest.raises(StateTreeError) as unknown:
        tree.prove("a", height)
    assert unknown.value.code == "STATE_HEIGHT_UNKNOWN"
    with pytest.raises(StateTreeError) as refused:
        StateTree(MemoryStore()).prepare(height, {"a": b"1"})
    assert refused.value.code == "STATE_TREE_VERSION"
