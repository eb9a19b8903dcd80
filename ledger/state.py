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
    """Writes buffered over `parent`; `None` as a value means the key was deleted."""

    __slots__ = ("_parent", "writes")

    def __init__(self, parent: Reader) -> None:
        self._parent = parent
        self.writes: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        value = self.writes.get(key, _MISSING)
        if value is _MISSING:
            return self._parent(key)
        return value

    def put(self, key: str, value: Any) -> None:
        self.writes[key] = value

    def delete(self, key: str) -> None:
        self.writes[key] = None

    def merge(self, child: StateOverlay) -> None:
        self.writes.update(child.writes)
