"""The LevelDB backend on a real database: batches, and data written before its options changed."""

from __future__ import annotations

from pathlib import Path

import plyvel

from ledger.store import LevelDBStore


def test_a_database_written_with_snappy_compression_still_reads(tmp_path: Path) -> None:
    """Nodes of the first release wrote Snappy-compressed tables; the store now writes
    uncompressed ones (issue 19). LevelDB marks compression per block, so both read."""
    old = plyvel.DB(str(tmp_path), create_if_missing=True, compression="snappy")
    values = {b"st/%06d" % i: bytes([i % 7]) * 300 for i in range(5000)}  # compressible
    for key, value in values.items():
        old.put(key, value)
    old.compact_range()  # into tables, compressed
    old.close()
    tables = sum(path.stat().st_size for path in tmp_path.glob("*.ldb"))
    assert 0 < tables < sum(map(len, values.values())) // 4  # compressed indeed
    store = LevelDBStore(tmp_path)
    assert all(store.get(key) == value for key, value in values.items())
    store.write({b"st/new": b"x", b"st/000001": None})
    assert store.get(b"st/new") == b"x" and store.get(b"st/000001") is None
    assert len(list(store.iterate(b"st/"))) == len(values)
    store.close()
