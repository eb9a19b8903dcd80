"""What every stored contract record shares: the canonical codec, and a check of its fields.

A record type says how it maps to the canonical value stored in state (`to_value`,
`from_value`); `encode`/`decode` are those through the one codec (ledger/codec.py), so the
bytes a record type writes are exactly the bytes the contracts wrote as plain maps before.
"""

from __future__ import annotations

from typing import Any

from contracts.errors import ensure


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
