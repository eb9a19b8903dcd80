"""Repayments held for sanctioned holders, and their release when governance lifts the sanction.

A debtor repaying an invoice pays each outstanding piece its share; a piece whose holder is
sanctioned at that moment is not paid to it (a sanctioned organization receives nothing,
DESIGN.md §10) and not refused either (the debtor's obligation must not stay open because of
who bought the piece): the debtor's cash for that share moves into a hold on the ledger
(`cash.hold`), blocked. When
the sanction is lifted, the approval that lifts it releases every hold of that organization to
it, oldest first, in the same transaction. Each hold and release is a step in the piece's
history and an event (`repayment_held`, `repayment_released`), so a trace shows both.

State:
  hold/piece/<piece id>          -> `HeldRepayment`: what is held for the piece's holder now
                                    (partial repayments while it stays sanctioned add up in
                                    one hold; after a release the next share opens a new one)
  hold/queue/<org>               -> {count, released}: holds of the org, numbered from 0;
                                    those below `released` were released
  hold/by_org/<org>/<seq:08d>    -> piece id
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts import cash
from contracts.amounts import add
from contracts.errors import fail
from contracts.receivables_records import Piece
from contracts.receivables_state import get_piece, save_piece, step
from contracts.records import FlatRecord, fields_of
from contracts.runtime import Context

HELD = "held"
RELEASED = "released"
SANCTIONED = "SANCTIONED"  # why a repayment is held: the holder was under sanction


@dataclass(frozen=True, slots=True)
class HeldRepayment(FlatRecord):
    """One piece's repayment, paid by its debtor and held for its sanctioned holder."""

    piece: str
    root: str
    invoice_no: str
    currency: str
    amount: int
    debtor: str
    holder: str
    reason: str
    status: str
    held_tx: str
    held_height: int
    released_tx: str | None
    released_height: int | None

    KIND = "held repayment"


def hold_key(piece_id: str) -> str:
    return "hold/piece/" + piece_id


def queue_key(org: str) -> str:
    return "hold/queue/" + org


def entry_key(org: str, seq: int) -> str:
    return f"hold/by_org/{org}/{seq:08d}"


def _queue(ctx: Context, org: str) -> tuple[int, int]:
    record = fields_of(
        ctx.get(queue_key(org), {"count": 0, "released": 0}),
        frozenset({"count", "released"}),
        "hold queue",
    )
    return int(record["count"]), int(record["released"])


def get_hold(ctx: Context, piece_id: str) -> HeldRepayment | None:
    record = ctx.get(hold_key(piece_id))
    return None if record is None else HeldRepayment.from_value(record)


def hold_repayment(ctx: Context, piece: Piece, debtor: str, value: int) -> HeldRepayment:
    """The debtor pays `value` of `piece` into a hold for its sanctioned holder, added to what
    is already held for it; the hold as stored."""
    cash.hold(ctx, piece.currency, debtor, piece.holder, value)
    earlier = get_hold(ctx, piece.id)
    if earlier is not None and earlier.status == HELD:
        grown = replace(earlier, amount=add(earlier.amount, value, f"the hold of {piece.id}"))
        ctx.put(hold_key(piece.id), grown.to_value())
        _emit_held(ctx, piece, debtor, value)
        return grown
    record = HeldRepayment(
        piece=piece.id,
        root=piece.root,
        invoice_no=piece.invoice_no,
        currency=piece.currency,
        amount=value,
        debtor=debtor,
        holder=piece.holder,
        reason=SANCTIONED,
        status=HELD,
        held_tx=ctx.tx_id.hex(),
        held_height=ctx.height,
        released_tx=None,
        released_height=None,
    )
    ctx.put(hold_key(piece.id), record.to_value())
    count, released = _queue(ctx, piece.holder)
    ctx.put(entry_key(piece.holder, count), piece.id)
    ctx.put(
        queue_key(piece.holder),
        {"count": add(count, 1, f"the holds of {piece.holder}"), "released": released},
    )
    _emit_held(ctx, piece, debtor, value)
    return record


def _emit_held(ctx: Context, piece: Piece, debtor: str, value: int) -> None:
    ctx.emit(
        "repayment_held",
        piece=piece.id,
        root=piece.root,
        invoice_no=piece.invoice_no,
        holder=piece.holder,
        debtor=debtor,
        currency=piece.currency,
        amount=value,
        reason=SANCTIONED,
    )


def release_all(ctx: Context, org: str) -> int:
    """Pay every repayment held for `org` to it, oldest first; how many were released.

    Called by governance in the transaction that lifts `org`'s sanction.
    """
    count, released = _queue(ctx, org)
    for seq in range(released, count):
        held = get_hold(ctx, str(ctx.get(entry_key(org, seq))))
        if held is None or held.status != HELD:
            fail("BAD_RECORD", f"hold {seq} of {org} is listed but not held")
        cash.release(ctx, held.currency, org, held.amount)
        ctx.put(
            hold_key(held.piece),
            replace(
                held, status=RELEASED, released_tx=ctx.tx_id.hex(), released_height=ctx.height
            ).to_value(),
        )
        piece = get_piece(ctx, held.piece)
        save_piece(ctx, piece, step(ctx, "hold_released", piece.holder, paid=held.amount))
        ctx.emit(
            "repayment_released",
            piece=held.piece,
            root=held.root,
            invoice_no=held.invoice_no,
            holder=org,
            currency=held.currency,
            amount=held.amount,
        )
    if count > released:
        ctx.put(queue_key(org), {"count": count, "released": count})
    return count - released
