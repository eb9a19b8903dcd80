"""What every stored contract record shares: the canonical codec, and a check of its fields.

A record type says how it maps to the canonical value stored in state (`to_value`,
`from_value`); `encode`/`decode` are those through the one codec (ledger/codec.py), so the
bytes a record type writes are exactly the bytes the contracts wrote as plain maps before.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Self

from contracts.errors import ensure
from ledger import codec


def fields_of(
    value: Any, names: frozenset[str], what: str, optional: frozenset[str] | None = frozenset()
) -> dict[str, Any]:
    """`value` as a map with the fields `names` and perhaps some of `optional` (None: any
    others), or fail BAD_RECORD.

    A stored record of another shape means the layout drifted (a bug, or data written by a
    release with other fields): failing the tx names it, where guessing would corrupt state.
    """
    ensure(isinstance(value, dict), "BAD_RECORD", f"a stored {what} must be a map")
    present = set(value)
    ensure(
        names <= present and (optional is None or present <= names | optional),
        "BAD_RECORD",
        f"a stored {what} has fields {sorted(present)}, expected {sorted(names)}",
    )
    return dict(value)


class FlatRecord:
    """A dataclass record stored as the map of all its fields: the names come from the
    dataclass itself, so the stored layout cannot drift from the type. `KIND` names it in
    BAD_RECORD messages."""

    __slots__ = ()
    KIND: ClassVar[str]

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(_names(type(self)))}

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @classmethod
    def from_value(cls, value: Any) -> Self:
        return cls(**fields_of(value, _names(cls), cls.KIND))

    @classmethod
    def decode(cls, data: bytes) -> Self:
        return cls.from_value(codec.decode(data))


def _names(record: type) -> frozenset[str]:
    return frozenset(field.name for field in dataclasses.fields(record))
