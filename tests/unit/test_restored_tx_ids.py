"""The tx ids a node restored by snapshot notes for the blocks below it (DESIGN.md §5: a tx id
is committed at most once), on a real LevelDB: one write per span of blocks, kept across a
restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ledger.chain import ChainStore
from ledger.store import LevelDBStore


def _id(n: int) -> bytes:
    return hashlib.sha256(n.to_bytes(4, "big")).digest()


def test_a_span_of_blocks_is_noted_at_once_and_survives_a_restart(tmp_path: Path) -> None:
    store = ChainStore(LevelDBStore(str(tmp_path / "db")))
    assert not store.tx_committed(_id(1))
    store.remember_committed({5: [_id(1), _id(2)], 6: [], 7: [_id(3)]})
    assert all(store.tx_committed(_id(n)) for n in (1, 2, 3))
    assert not store.tx_committed(_id(4))
    store.close()

    reopened = ChainStore(LevelDBStore(str(tmp_path / "db")))
    assert all(reopened.tx_committed(_id(n)) for n in (1, 2, 3))
    assert not reopened.tx_committed(_id(4))
    reopened.remember_committed({8: []})  # a span of empty blocks writes nothing
    assert not reopened.tx_committed(_id(4))
