"""Which pieces make up one debt, when it falls due and may be defaulted, and a dispute's freeze.

An invoice family holds two kinds of debt. The invoice itself: every piece never turned back by
recourse, owed by the invoice's debtor, due on its due date; a partial repayment is shared among
those pieces. And each piece a bank turned back on the organization that sold it
(contracts/receivables_repay.py, `recourse`): owed by that seller alone, due the day it was
turned. Overdue and default apply to every unsettled piece of one debt at once, so the unsettled
pieces of a debt always share one status.

A debt is overdue once the block date is past its due date, and may be declared defaulted once
the block date is past the due date plus `grace_days` (the invoice's, or the chain's genesis
`params.receivable_grace_days`). An open dispute freezes the whole family (`DISPUTED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from contracts.amounts import checked_sum
from contracts.errors import ensure
from contracts.receivables_records import DISPUTE_OPEN, SETTLED, Piece
from contracts.receivables_state import family, get_dispute, get_piece
from contracts.registry import chain_param
from contracts.runtime import Context

GRACE_PARAM = "receivable_grace_days"


@dataclass(frozen=True, slots=True)
class Debt:
    """One debt of an invoice family: who owes it, when, and on which pieces."""

    key: str  # the id that names it: the root for the invoice, the piece for a recourse debt
    debtor: str
    currency: str
    due_date: str
    grace_days: int
    pieces: tuple[Piece, ...]  # settled ones too, in family order

    @property
    def unsettled(self) -> tuple[Piece, ...]:
        return tuple(p for p in self.pieces if p.status != SETTLED)

    @property
    def status(self) -> str:
        """The status its unsettled pieces share; settled when none is left."""
        unsettled = self.unsettled
        return unsettled[0].status if unsettled else SETTLED

    @property
    def owed(self) -> int:
        return checked_sum((p.outstanding for p in self.unsettled), f"what {self.key} owes")

    @property
    def last_grace_day(self) -> str:
        """The last day of grace: default may be declared on the day after it."""
        last = date.fromisoformat(self.due_date) + timedelta(days=self.grace_days)
        return last.isoformat()


def grace_days(ctx: Context, piece: Piece) -> int:
    """The invoice's own grace period, or the chain's default."""
    return piece.grace_days if piece.grace_days is not None else chain_param(ctx, GRACE_PARAM)


def invoice_debt(ctx: Context, root: Piece) -> Debt:
    """What the invoice's debtor owes: every piece of the family not turned back."""
    pieces = tuple(p for p in family(ctx, root) if p.recourse_from is None)
    debtor = root.recourse_from or root.debtor
    due_date = pieces[0].due_date if pieces else root.due_date
    return Debt(root.id, debtor, root.currency, due_date, grace_days(ctx, root), pieces)


def recourse_debt(ctx: Context, piece: Piece) -> Debt:
    """What the seller owes on a piece turned back on it: that piece alone."""
    grace = grace_days(ctx, piece)
    return Debt(piece.id, piece.debtor, piece.currency, piece.due_date, grace, (piece,))


def debt_of(ctx: Context, piece: Piece) -> Debt:
    """The debt `piece` belongs to."""
    if piece.recourse_from is not None:
        return recourse_debt(ctx, piece)
    return invoice_debt(ctx, get_piece(ctx, piece.root))


def require_not_frozen(ctx: Context, root_id: str) -> None:
    """No dispute of the invoice is open: while one is, nothing in its family moves."""
    dispute = get_dispute(ctx, root_id)
    ensure(
        dispute is None or dispute.status != DISPUTE_OPEN,
        "DISPUTED",
        f"the invoice is disputed by its debtor ({dispute.reason if dispute else ''}); "
        "nothing moves until creditor and debtor settle it",
    )
