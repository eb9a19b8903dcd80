"""Contract state as string keys to canonical values, layered so a block can be undone unseen.

`StateOverlay` buffers writes above a read function (the store, or another overlay for a block
still in flight). What commits to the state is the state tree (`ledger.smt`, DESIGN.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

    __slots__ = ("__weakref__", "_parent", "_reads", "writes")

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

    def read_through(self, parent: Reader) -> None:
        """Read what this overlay does not hold from `parent` from now on: the store, once the
        block below was committed (else every read of a long pipeline walks back through every
        committed block's overlay, and keeps them all alive)."""
        self._parent = parent

    def put(self, key: str, value: Any) -> None:
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def merge(self, child: StateOverlay) -> None:
        self.writes.update(child.writes)
