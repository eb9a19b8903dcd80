"""The LevelDB backend on a real database: data written before its options changed, and how much
of a large one it keeps mapped."""

from __future__ import annotations

from pathlib import Path

import plyvel
import pytest

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


def _mapped_tables(folder: Path) -> set[str]:
    lines = Path("/proc/self/maps").read_text().splitlines()
    return {line.split()[-1] for line in lines if line.endswith(".ldb") and str(folder) in line}


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads Linux's /proc")
def test_a_large_database_keeps_a_bounded_number_of_tables_mapped(tmp_path: Path) -> None:
    """LevelDB memory-maps each open table, and what a node has read of one counts in its RSS:
    with 1,000 open tables a node's RSS grew with its database (issue 19, 164 MB of mapped
    tables after a million transfers). Reading every table of a big database maps 64 at most."""
    writer = plyvel.DB(
        str(tmp_path), create_if_missing=True, write_buffer_size=64 * 1024, max_file_size=64 * 1024
    )
    for i in range(3000):  # small tables: ~190 of them
        writer.put(b"st/%06d" % i, bytes([i % 256]) * 4000)
    writer.compact_range()
    writer.close()
    assert len(list(tmp_path.glob("*.ldb"))) > 100
    store = LevelDBStore(tmp_path)
    assert all(store.get(b"st/%06d" % i) is not None for i in range(0, 3000, 5))
    assert 0 < len(_mapped_tables(tmp_path)) <= 64
    store.close()


def test_a_cleanly_closed_database_leaves_no_log_to_replay(tmp_path: Path) -> None:
    """Opening replays the write-ahead log into memory and writes it out as a table: up to a
    16 MiB write buffer, ~0.17 s of a restarting node's start. A clean close writes the memory
    table out first, so the next open has nothing to replay; what was written is all there."""
    store = LevelDBStore(tmp_path)
    values = {b"v1/st/%06d" % i: b"%06d" % i * 20 for i in range(20_000)}
    store.write(values, sync=False)
    store.write({b"v1/st/000007": None})
    store.close()
    store.close()  # twice is harmless
    assert [path.stat().st_size for path in tmp_path.glob("*.log")] == [0]
    reopened = LevelDBStore(tmp_path)
    assert len(list(reopened.iterate(b"v1/st/"))) == len(values) - 1
    assert reopened.get(b"v1/st/000008") == values[b"v1/st/000008"]
    assert reopened.get(b"v1/st/000007") is None
    reopened.close()
