"""Disputes: the debtor contests an accepted invoice, freezing its family until both settle.

While a dispute is open nothing in the family moves (`DISPUTED` from transfer, financing,
repayment, overdue and default: contracts/receivables_debts.py). The invoice's creditor and its
debtor each call `settle_dispute` with the reduction of the face amount they agree to (0: none);
the second call with the same reduction applies it and unfreezes the family. The reduction is
shared among the pieces still owed pro rata to what each is owed (contracts/allocation.py, the
rule of a partial repayment), so each piece's amount, and the face every piece records, go down
together and a family's pieces still add up to its face; each holder learns by a
`receivable_reduced` event how much its piece shrank. A piece left owing nothing is settled.
State: rcv/dispute/<root id> (contracts/receivables_state.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts.allocation import pro_rata
from contracts.args import hex_id, integer, text
from contracts.errors import ensure, fail
from contracts.receivables_debts import Debt, invoice_debt
from contracts.receivables_records import (
    ACCEPTED,
    DISPUTE_OPEN,
    DISPUTE_SETTLED,
    ISSUED,
    OVERDUE,
    SETTLED,
    Dispute,
    Piece,
)
from contracts.receivables_state import (
    family,
    get_dispute,
    get_piece,
    save_dispute,
    save_piece,
    step,
)
from contracts.runtime import Context, method
from contracts.wording import money


@method("receivables", "dispute", {"id": hex_id, "reason": text(280)}, kinds=("enterprise",))
def dispute(ctx: Context, id: str, reason: str) -> None:
    """The debtor contests the invoice of piece `id`: its whole family is frozen."""
    root = get_piece(ctx, get_piece(ctx, id).root)
    debt = invoice_debt(ctx, root)
    ensure(debt.debtor == ctx.sender_org, "NOT_DEBTOR", "only the debtor disputes an invoice")
    earlier = get_dispute(ctx, root.id)
    ensure(
        earlier is None or earlier.status != DISPUTE_OPEN,
        "ALREADY_DISPUTED",
        f"the invoice is already disputed: {earlier.reason if earlier else ''}",
    )
    ensure(debt.status != ISSUED, "NOT_ACCEPTED", "the debtor has not accepted it yet")
    ensure(
        debt.status in (ACCEPTED, OVERDUE),
        "NOT_DISPUTABLE",
        f"a {debt.status} invoice cannot be disputed",
    )
    record = Dispute(
        root=root.id,
        reason=reason,
        status=DISPUTE_OPEN,
        proposals={},
        reduction=None,
        opened_tx=ctx.tx_id.hex(),
        opened_height=ctx.height,
        settled_tx=None,
        settled_height=None,
    )
    save_dispute(ctx, record)
    for piece in debt.unsettled:
        save_piece(ctx, piece, step(ctx, "dispute", piece.holder, by=ctx.sender_org, reason=reason))
    ctx.emit("receivable_disputed", id=root.id, debtor=ctx.sender_org, reason=reason)


def _party(ctx: Context, root: Piece, debt: Debt) -> str:
    """Which side of the invoice the caller is: `creditor` or `debtor`."""
    if ctx.sender_org == root.creditor:
        return "creditor"
    if ctx.sender_org == debt.debtor:
        return "debtor"
    fail("NOT_PARTY", f"only {root.creditor} and {debt.debtor} settle this dispute")


def _apply_reduction(ctx: Context, root: Piece, debt: Debt, reduction: int) -> None:
    """Take `reduction` off the face, shared pro rata among the pieces still owed."""
    shares = pro_rata(reduction, {p.id: p.outstanding for p in debt.unsettled})
    face = root.face - reduction
    for piece in family(ctx, root):
        share = shares.get(piece.id)
        if share is None:  # settled before: only the invoice's face it records changes
            save_piece(ctx, replace(piece, face=face))
            continue
        amount = piece.amount - share
        shrunk = replace(piece, face=face, amount=amount, reduced=piece.reduced + share)
        if amount == piece.repaid:  # nothing left owing: settled (what was repaid is all)
            shrunk = replace(shrunk, status=SETTLED, repaid=0)
        save_piece(ctx, shrunk, step(ctx, "dispute_settled", piece.holder, reduction=share))
        ctx.emit(
            "receivable_reduced",
            id=piece.id,
            root=root.id,
            holder=piece.holder,
            reduction=share,
            amount=amount,
            outstanding=shrunk.outstanding,
        )


@method(
    "receivables",
    "settle_dispute",
    {"id": hex_id, "reduction": integer(0)},
    kinds=("enterprise",),
)
def settle_dispute(ctx: Context, id: str, reduction: int) -> dict[str, Any]:
    """Creditor or debtor agrees to settle with `reduction` off the face; the second party to
    name the same reduction applies it and unfreezes the family."""
    root = get_piece(ctx, get_piece(ctx, id).root)
    debt = invoice_debt(ctx, root)
    record = get_dispute(ctx, root.id)
    if record is None or record.status != DISPUTE_OPEN:
        fail("NOT_DISPUTED", "the invoice is not disputed")
    party = _party(ctx, root, debt)
    owed = debt.owed
    if reduction > owed:
        fail(
            "REDUCTION_TOO_LARGE",
            f"{money(ctx, root.currency, owed)} is still owed, a reduction of "
            f"{money(ctx, root.currency, reduction)} was asked",
            {"currency": root.currency, "owed": owed, "asked": reduction},
        )
    other = "debtor" if party == "creditor" else "creditor"
    proposals = {**record.proposals, party: reduction}
    if record.proposals.get(other) != reduction:
        save_dispute(ctx, replace(record, proposals=proposals))
        proposer = ctx.sender_org
        ctx.emit("receivable_settlement_proposed", id=root.id, by=proposer, reduction=reduction)
        return {"applied": False}
    _apply_reduction(ctx, root, debt, reduction)
    settled = replace(
        record,
        proposals=proposals,
        status=DISPUTE_SETTLED,
        reduction=reduction,
        settled_tx=ctx.tx_id.hex(),
        settled_height=ctx.height,
    )
    save_dispute(ctx, settled)
    face = root.face - reduction
    ctx.emit("receivable_dispute_settled", id=root.id, reduction=reduction, face=face)
    return {"applied": True}
