"""The executor's state cache (ledger/state_cache.py): bounded, written through by every commit,
emptied when the flat state is replaced, filled only on the committing thread."""

from __future__ import annotations

import threading

from ledger import codec
from ledger.chain import P_STATE, ChainStore
from ledger.state_cache import MISSING, StateCache
from ledger.store import MemoryStore
from node.runtime.executor import Executor
from tests.unit.test_executor_state_tree import GENESIS, NOW, PROPOSER, certify, issue


def test_the_cache_holds_at_most_max_keys_oldest_out_first() -> None:
    cache = StateCache(max_keys=4)
    for index in range(10):
        cache.fill(f"k{index}", b"v")
        assert len(cache) <= 4
    assert cache.get("k0") is MISSING and cache.get("k9") == b"v"
    cache.wrote({"k8": b"new", "w2": None})
    assert len(cache) <= 4 and cache.get("w2") is None and cache.get("k8") == b"new"
    cache.wrote({"w3": b"c", "w4": b"d", "w5": b"e"})  # k8 ages out of both generations
    assert cache.get("k8") in (MISSING, b"new")


def test_a_read_on_another_thread_does_not_fill_the_cache() -> None:
    cache = StateCache()
    reader = threading.Thread(target=cache.fill, args=("k", b"stale"))
    reader.start()
    reader.join()
    assert cache.get("k") is MISSING


def test_committed_writes_replace_cached_reads_and_a_snapshot_empties_it() -> None:
    executor = Executor(ChainStore(MemoryStore()), GENESIS)
    store = executor.store
    key = "reg/cur/CNY"
    before = store.state_trusted(key)  # read and cached
    tip = executor.tip
    block, _ = executor.build(0, tip.height + 1, tip.block_hash, [issue(500)], PROPOSER, NOW)
    executor.commit(block, certify(block))
    for written in [*store.cache._young, *store.cache._old]:  # each value is the store's
        assert store.cache.get(written) == store.kv.get(P_STATE + written.encode())
    assert len(store.cache) > 0
    store.kv.write({P_STATE + key.encode(): codec.encode("replaced")})  # as an install does
    store.check_tree()
    assert len(store.cache) == 0 and store.state_trusted(key) == "replaced" != before
