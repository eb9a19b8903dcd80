"""Read models of escrows (contracts/escrow.py): one escrow, and an organization's escrows.

An escrow is shown as stored, plus what its parties may do with it at a given block time
(`can_release`, `can_cancel`), so a client need not restate the contract's time rules; the
preimage of a released escrow is there for anyone to read (an atomic swap's other leg needs
it). Lists walk the per-organization index newest first from a cursor, as payments do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts import escrow
from contracts.escrow_records import OPEN
from contracts.queries import StateReader


def escrow_view(record: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The stored escrow with what its payee and payer may do at block time `now_ms`."""
    is_open = record["status"] == OPEN
    release_from = record["release_ms"] if record["release_ms"] is not None else 0
    return {
        **record,
        "can_release": is_open and release_from <= now_ms < record["cancel_ms"],
        "can_cancel": is_open and now_ms >= record["cancel_ms"],
        "as_of_ms": now_ms,
    }


def escrow_record(state: StateReader, escrow_id: str) -> dict[str, Any] | None:
    value = state.state(escrow.record_key(escrow_id))
    return None if value is None else dict(value)


@dataclass(frozen=True, slots=True)
class EscrowsPage:
    rows: tuple[dict[str, Any], ...]  # escrow views, each with the org's `roles` in it
    next: str | None  # the cursor that continues the list, None at its end


def escrows_of(
    state: StateReader,
    org_id: str,
    status: str | None,
    cursor: str | None,
    limit: int,
    now_ms: int,
) -> EscrowsPage:
    """An organization's escrows (as payer or payee), newest first, strictly before `cursor`
    (the index key `height/id` of the last row of the previous page), in `status` if given."""
    prefix = escrow.index_prefix(org_id)
    rows: list[dict[str, Any]] = []
    for key, entry in state.state_items(prefix, after=cursor, reverse=True):
        record = escrow_record(state, entry["id"])
        if record is None or (status is not None and record["status"] != status):
            continue
        rows.append({**escrow_view(record, now_ms), "roles": list(entry["roles"])})
        if len(rows) >= limit:
            return EscrowsPage(tuple(rows), key.removeprefix(prefix))
    return EscrowsPage(tuple(rows), None)
