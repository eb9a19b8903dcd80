"""Encoded state values by key, kept beside the flat state so the executor's reads of the same
records (a sender's key and organization, balances, daily counters) skip LevelDB.

Bounded by `max_keys` (oldest entry out first). Every committed write goes in as it is written
(`wrote`); anything else that replaces the flat state (a snapshot install) empties it (`clear`).
Only the thread that commits blocks fills it from a read: a read on another thread could
otherwise put back a value a commit replaced between that read and the fill.
"""

from __future__ import annotations

import threading
from typing import Final

# Distinct keys held at most: ~100-byte records, so ~10 MB in all.
STATE_CACHE_KEYS: Final = 65_536


class _Missing:
    pass


MISSING: Final = _Missing()


class StateCache:
    def __init__(self, max_keys: int = STATE_CACHE_KEYS) -> None:
        self._raw: dict[str, bytes | None] = {}
        self._max = max_keys
        self._writer = threading.get_ident()

    def __len__(self) -> int:
        return len(self._raw)

    def get(self, key: str) -> bytes | _Missing | None:
        return self._raw.get(key, MISSING)

    def fill(self, key: str, raw: bytes | None) -> None:
        """Remember what a read of `key` found (None: absent), on the committing thread only."""
        if threading.get_ident() == self._writer:
            self._put(key, raw)

    def wrote(self, writes: dict[str, bytes | None]) -> None:
        """A block committed these encoded writes (None: deleted), on the calling thread."""
        self._writer = threading.get_ident()
        for key, raw in writes.items():
            self._raw.pop(key, None)
            self._put(key, raw)

    def clear(self) -> None:
        self._raw.clear()

    def _put(self, key: str, raw: bytes | None) -> None:
        cache = self._raw
        if key not in cache and len(cache) >= self._max:
            del cache[next(iter(cache))]
        cache[key] = raw
