"""Contract state as string keys to canonical values, layered so a block can be undone unseen.

`StateOverlay` buffers writes above a read function (the store, or another overlay for a block
still in flight). The state root is a running commitment: each block's root hashes the previous
root with the block's sorted write-set, so equal histories give equal roots on every replica.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger import codec
from ledger.hashing import STATE_TAG, tagged_hash

ZERO_ROOT = bytes(32)
_MISSING = object()

Reader = Callable[[str], Any]


class StateOverlay:
    """Writes buffered over `parent`; `None` as a value means the key was deleted.

    With `remember_reads`, what the parent answered is kept for the overlay's life: right for
    one transaction's call, whose parent (the block so far) cannot change under it, and which
    reads the same few keys (its caller's organization, the block's compliance records) many
    times over. Not for a block's overlay: a transaction that failed after changing a value it
    read in place would leave the change behind in what the block remembers.
    """

    __slots__ = ("_parent", "_reads", "writes")

    def __init__(self, parent: Reader, *, remember_reads: bool = False) -> None:
        self._parent = parent
        self._reads: dict[str, Any] | None = {} if remember_reads else None
        self.writes: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        value = self.writes.get(key, _MISSING)
        if value is not _MISSING:
            return value
        reads = self._reads
        if reads is None:
            return self._parent(key)
        value = reads.get(key, _MISSING)
        if value is _MISSING:
            value = reads[key] = self._parent(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def merge(self, child: StateOverlay) -> None:
        self.writes.update(child.writes)


def next_state_root(previous_root: bytes, writes: dict[str, Any]) -> bytes:
    """sha256(tag || previous root || encode(sorted [[key, value], ...]))."""
    ordered = [[key, writes[key]] for key in sorted(writes)]
    return tagged_hash(STATE_TAG, previous_root + codec.encode(ordered))
