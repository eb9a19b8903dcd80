"""The one small storage interface (get, put, atomic batch, ordered iterate) and its backends.

plyvel lives only here, behind `KeyValueStore`, so another engine can take its place.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ledger.errors import StoreError

# LevelDB's memory, whatever the chain's length: its block cache (decompressed blocks read),
# two write buffers (the memtable and the one being flushed) and at most this many open table
# files, each holding its index and bloom filter (~2 MB tables: ~2 GB of data at once).
# Write buffers of 16 MiB rather than LevelDB's 4: a busy node writes several MB a second
# (state tree nodes, receipts), and with small memtables its compaction thread rewrote the same
# young tables over and over, ~10 µs of CPU per committed tx (docs/benchmarks.md, issue 19).
LEVELDB_CACHE_BYTES = 64 * 1024 * 1024
LEVELDB_WRITE_BUFFER_BYTES = 16 * 1024 * 1024
# Open tables are also memory-mapped (LevelDB maps up to 1,000 on 64-bit), and every page
# read or compacted since counts in the node's RSS: with 1,000 a node's RSS grew with its
# database (164 MB of mapped tables after 1,000,000 transfers). 74 is LevelDB's least (it
# raises anything lower): 10 files for its log and manifest, 64 tables, ~120 MB at most.
LEVELDB_MAX_OPEN_FILES = 74


class KeyValueStore(Protocol):
    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None: ...
    def write(self, puts: dict[bytes, bytes | None], *, sync: bool = True) -> None: ...
    def iterate(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]: ...
    def close(self) -> None: ...


class LevelDBStore:
    """LevelDB through plyvel; `write` is one synchronous batch: all of it lands, or none."""

    def __init__(self, path: str | Path) -> None:
        import plyvel

        Path(path).mkdir(parents=True, exist_ok=True)
        try:
            # A bloom filter makes lookups of absent keys (fresh tx ids, new state keys) cheap.
            # No compression: most bytes written are hashes (tree nodes, ids, signatures),
            # which Snappy cannot shrink but still spends a node's CPU trying to (~10 µs per
            # tx); the data takes about 30 % more disk.
            self._db = plyvel.DB(
                str(path),
                create_if_missing=True,
                compression=None,
                bloom_filter_bits=10,
                lru_cache_size=LEVELDB_CACHE_BYTES,
                write_buffer_size=LEVELDB_WRITE_BUFFER_BYTES,
                max_open_files=LEVELDB_MAX_OPEN_FILES,
            )
        except plyvel.IOError as exc:
            raise StoreError(f"cannot open database at {path}: {exc}") from None
        except plyvel.Error as exc:
            raise StoreError(f"database at {path} is damaged: {exc}") from None

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None:
        self._db.put(key, value, sync=sync)

    def write(self, puts: dict[bytes, bytes | None], *, sync: bool = True) -> None:
        with self._db.write_batch(sync=sync) as batch:
            for key, value in puts.items():
                if value is None:
                    batch.delete(key)
                else:
                    batch.put(key, value)

    def iterate(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Keys with `prefix` in order; `start` is inclusive going forward, exclusive backward."""
        if reverse:
            yield from self._iterate_backward(prefix, start)
        elif start is None:
            yield from self._db.iterator(prefix=prefix)
        else:
            yield from self._db.iterator(start=start, stop=_prefix_end(prefix))

    def _iterate_backward(
        self, prefix: bytes, start: bytes | None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Keys with `prefix` below `start` (or all), highest first.

        plyvel's reverse iterator with a lower bound yields nothing when the only key in range
        is the bound itself (plyvel 1.5.1: a key equal to the prefix, alone, was never listed),
        so the walk runs without one and stops where the keys fall below the prefix.
        """
        upper = start if start is not None else _prefix_end(prefix)
        entries = (
            self._db.iterator(reverse=True)
            if upper is None
            else self._db.iterator(stop=upper, reverse=True)
        )
        for key, value in entries:
            if key < prefix:
                return
            yield key, value

    def close(self) -> None:
        """Write the memory table out before closing, so the next open need not replay up to
        a write buffer of log (measured: ~0.17 s of a restarting node's start, which a
        catching-up node cannot spare). After a crash the log is replayed as before."""
        if not self._db.closed:
            self._db.compact_range(start=_PAST_EVERY_KEY, stop=_PAST_EVERY_KEY)
        self._db.close()


# A key above every key this project writes (all begin with a short ASCII prefix): compacting
# the range [it, it] compacts no table, only the memory table's flush that LevelDB does first.
_PAST_EVERY_KEY = b"\xff" * 16


def _prefix_end(prefix: bytes) -> bytes | None:
    raw = bytearray(prefix)
    while raw:
        if raw[-1] < 0xFF:
            raw[-1] += 1
            return bytes(raw)
        raw.pop()
    return None


class MemoryStore:
    """A sorted in-memory store for unit tests and the consensus simulator."""

    def __init__(self) -> None:
        self._data: dict[bytes, bytes] = {}
        self._keys: list[bytes] = []
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def put(self, key: bytes, value: bytes, *, sync: bool = False) -> None:
        self.write({key: value})

    def write(self, puts: dict[bytes, bytes | None], *, sync: bool = True) -> None:
        with self._lock:
            for key, value in puts.items():
                index = bisect_left(self._keys, key)
                present = index < len(self._keys) and self._keys[index] == key
                if value is None:
                    if present:
                        del self._keys[index]
                        del self._data[key]
                else:
                    if not present:
                        self._keys.insert(index, key)
                    self._data[key] = value

    def iterate(
        self, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        with self._lock:  # a snapshot, as LevelDB's iterators are (pruning runs on a thread)
            keys = [k for k in self._keys if k.startswith(prefix)]
            if start is not None:
                keys = [k for k in keys if (k < start if reverse else k >= start)]
            if reverse:
                keys.reverse()
            items = [(key, self._data[key]) for key in keys]
        yield from items

    def close(self) -> None:
        pass
