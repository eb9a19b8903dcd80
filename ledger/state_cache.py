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
    """At most `max_keys` values in two generations (ledger.smt_store's node cache does the
    same): new entries go to the young one, which becomes the old one when full (the previous
    old one is dropped); a hit in the old one moves back. O(1) per operation."""

    def __init__(self, max_keys: int = STATE_CACHE_KEYS) -> None:
        self._half = max(1, max_keys // 2)
        self._young: dict[str, bytes | None] = {}
        self._old: dict[str, bytes | None] = {}
        self._writer = threading.get_ident()

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def get(self, key: str) -> bytes | _Missing | None:
        raw = self._young.get(key, MISSING)
        if raw is MISSING:
            raw = self._old.pop(key, MISSING)
            if not isinstance(raw, _Missing):
                self._put(key, raw)
        return raw

    def fill(self, key: str, raw: bytes | None) -> None:
        """Remember what a read of `key` found (None: absent), on the committing thread only."""
        if threading.get_ident() == self._writer:
            self._put(key, raw)

    def wrote(self, writes: dict[str, bytes | None]) -> None:
        """A block committed these encoded writes (None: deleted), on the calling thread."""
        self._writer = threading.get_ident()
        for key, raw in writes.items():
            self._put(key, raw)

    def clear(self) -> None:
        self._young.clear()
        self._old.clear()

    def _put(self, key: str, raw: bytes | None) -> None:
        self._old.pop(key, None)  # a value replaced here must not come back from there
        if len(self._young) >= self._half:
            self._old, self._young = self._young, {}
        self._young[key] = raw
