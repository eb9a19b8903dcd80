"""Receivables when things go wrong: repayment (in full or in part), overdue, default, recourse.

A debt (contracts/receivables_debts.py) is repaid by its debtor, all that is due or a part: a
part is shared among its unsettled pieces pro rata to what each is still owed
(contracts/allocation.py), each share paid to the piece's holder, or into a hold when the holder
is sanctioned (contracts/holds.py); a piece is settled once nothing is left owing on it. After
the due date anyone concerned may mark the debt overdue; after the grace period a holder may
declare it defaulted. A bank holding a defaulted piece it bought with recourse may then turn it
back on the organization that sold it: that seller becomes the piece's debtor, due at once, and
repays it like any debt. A piece bought without recourse stays a claim on the invoice's debtor.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts import cash, compliance, holds
from contracts.allocation import pro_rata
from contracts.amounts import add, subtract
from contracts.args import amount, hex_id, optional
from contracts.errors import ensure, fail
from contracts.receivables_debts import (
    Debt,
    debt_of,
    invoice_debt,
    recourse_debt,
    require_not_frozen,
)
from contracts.receivables_records import (
    ACCEPTED,
    DEFAULTED,
    OUTSTANDING,
    OVERDUE,
    SETTLED,
    Piece,
)
from contracts.receivables_state import get_piece, index_prefix, save_piece, step
from contracts.registry import get_org
from contracts.runtime import Context, method
from contracts.wording import money


def _debt_to_repay(ctx: Context, piece: Piece) -> Debt:
    """The debt the caller repays naming `piece`: a piece turned back on the caller, or the
    invoice (named by its first piece) the caller owes."""
    if piece.recourse_from is not None and piece.debtor == ctx.sender_org:
        return recourse_debt(ctx, piece)
    ensure(piece.parent is None, "NOT_ROOT", "repay the invoice's first piece")
    debt = invoice_debt(ctx, piece)
    ensure(debt.debtor == ctx.sender_org, "NOT_DEBTOR", "only the debtor repays")
    return debt


def _repay_piece(
    ctx: Context, piece: Piece, share: int, paid: dict[str, int], held: dict[str, int]
) -> None:
    """Pay `share` of one piece to its holder, or into a hold if the holder is sanctioned; the
    piece is settled once it is paid in full."""
    holder = piece.holder
    if compliance.is_sanctioned(ctx, holder):
        holds.hold_repayment(ctx, piece, ctx.sender_org, share)
        held[holder] = add(held.get(holder, 0), share, "a held payout")
        entry = step(ctx, "repay_held", holder, held=share, reason=holds.SANCTIONED)
    else:
        cash.move(ctx, piece.currency, ctx.sender_org, holder, share)
        paid[holder] = add(paid.get(holder, 0), share, "a payout")
        entry = step(ctx, "repay", holder, paid=share)
    repaid = add(piece.repaid, share, f"what piece {piece.id} was repaid")
    if repaid == piece.amount:  # settled: what was repaid is then all of it, not stored
        save_piece(ctx, replace(piece, status=SETTLED, repaid=0), entry)
    else:
        save_piece(ctx, replace(piece, repaid=repaid), entry)


def _require_funds(ctx: Context, currency: str, value: int, owed: int) -> None:
    funds = cash.balance(ctx, currency, ctx.sender_org)
    if funds < value:
        verb = "owes" if value == owed else "would pay"
        fail(
            "INSUFFICIENT_FUNDS",
            f"{ctx.sender_org} holds {money(ctx, currency, funds)}, "
            f"{verb} {money(ctx, currency, value)}",
            {"currency": currency, "held": funds, "needed": value},
        )


@method(
    "receivables",
    "repay",
    {"id": hex_id, "amount": optional(amount)},
    kinds=("enterprise", "bank"),
)
def repay(ctx: Context, id: str, amount: int | None) -> dict[str, Any]:
    """The debtor pays all that is due, or `amount` of it shared pro rata among the pieces
    still owed; a sanctioned holder's share is paid into a hold (contracts/holds.py)."""
    debt = _debt_to_repay(ctx, get_piece(ctx, id))
    ensure(debt.status != SETTLED, "ALREADY_SETTLED", "nothing is left owing")
    ensure(debt.status in OUTSTANDING, "NOT_ACCEPTED", f"the invoice is {debt.status}")
    require_not_frozen(ctx, debt.pieces[0].root)
    owed = debt.owed
    value = owed if amount is None else amount
    if value > owed:
        fail(
            "AMOUNT_EXCEEDS_DUE",
            f"{money(ctx, debt.currency, owed)} is due, not {money(ctx, debt.currency, value)}",
            {"currency": debt.currency, "due": owed, "asked": value},
        )
    compliance.require_initiator(ctx)  # the method's own rules first, then compliance
    compliance.require_within_limit(ctx, ctx.sender_org, debt.currency, value)
    _require_funds(ctx, debt.currency, value, owed)
    shares = pro_rata(value, {p.id: p.outstanding for p in debt.unsettled})
    paid: dict[str, int] = {}
    held: dict[str, int] = {}
    for piece in debt.unsettled:
        if shares[piece.id] > 0:
            _repay_piece(ctx, piece, shares[piece.id], paid, held)
    left = subtract(owed, value, f"what {debt.key} still owes")
    shown = {"held": held} if held else {}  # present only when a share was held
    ctx.emit(
        "receivable_repaid",
        id=debt.key,
        debtor=ctx.sender_org,
        total=value,
        paid=paid,
        outstanding=left,
        pieces={key: share for key, share in shares.items() if share > 0},
        **shown,
    )
    return {"paid": paid, "outstanding": left, **shown}


def _mark(ctx: Context, debt: Debt, status: str, action: str) -> None:
    """Every unsettled piece of the debt takes `status`, with a history step."""
    for piece in debt.unsettled:
        entry = step(ctx, action, piece.holder, by=ctx.sender_org)
        save_piece(ctx, replace(piece, status=status), entry)


@method("receivables", "mark_overdue", {"id": hex_id})
def mark_overdue(ctx: Context, id: str) -> None:
    """After the due date, a holder of a piece, the debtor or any bank flags the debt."""
    debt = debt_of(ctx, get_piece(ctx, id))
    ensure(debt.status == ACCEPTED, "NOT_OUTSTANDING", f"the debt is {debt.status}")
    require_not_frozen(ctx, debt.pieces[0].root)
    ensure(ctx.today() > debt.due_date, "NOT_DUE", f"due on {debt.due_date}, not yet past")
    caller = ctx.sender_org
    ensure(
        caller == debt.debtor
        or caller in {p.holder for p in debt.pieces}
        or get_org(ctx, caller)["kind"] == "bank",
        "NOT_AUTHORIZED",
        "only a holder, the debtor or a bank marks a receivable overdue",
    )
    _mark(ctx, debt, OVERDUE, "overdue")
    ctx.emit("receivable_overdue", id=debt.key, by=caller)


@method("receivables", "declare_default", {"id": hex_id})
def declare_default(ctx: Context, id: str) -> None:
    """After the grace period, a holder of a piece still owed declares the debt defaulted."""
    debt = debt_of(ctx, get_piece(ctx, id))
    ensure(debt.status != DEFAULTED, "ALREADY_DEFAULTED", "the debt is already defaulted")
    ensure(debt.status in (ACCEPTED, OVERDUE), "NOT_OUTSTANDING", f"the debt is {debt.status}")
    require_not_frozen(ctx, debt.pieces[0].root)
    last = debt.last_grace_day
    ensure(
        ctx.today() > last,
        "IN_GRACE",
        f"due on {debt.due_date} with {debt.grace_days} days of grace: it may be declared "
        f"defaulted from the day after {last}, block date {ctx.today()}",
        {"due_date": debt.due_date, "grace_days": debt.grace_days, "last_day": last},
    )
    ensure(
        ctx.sender_org in {p.holder for p in debt.unsettled},
        "NOT_HOLDER",
        f"only a holder of a piece still owed declares it defaulted, not {ctx.sender_org}",
    )
    _mark(ctx, debt, DEFAULTED, "default")
    ctx.emit(
        "receivable_defaulted",
        id=debt.key,
        debtor=debt.debtor,
        by=ctx.sender_org,
        outstanding=debt.owed,
    )


@method("receivables", "recourse", {"id": hex_id}, kinds=("bank",))
def recourse(ctx: Context, id: str) -> dict[str, Any]:
    """A bank holding a defaulted piece it bought with recourse turns it on its seller, who
    then owes what is left on it, due at once."""
    piece = get_piece(ctx, id)
    bank = ctx.sender_org
    ensure(piece.holder == bank, "NOT_HOLDER", f"{bank} does not hold receivable {id}")
    terms = piece.financing
    if terms is None or terms.bank != bank:
        fail("NOT_FINANCED", f"{bank} did not buy receivable {id}")
    ensure(terms.with_recourse, "WITHOUT_RECOURSE", "the piece was bought without recourse")
    ensure(piece.recourse_from is None, "ALREADY_TURNED", f"already turned on {piece.debtor}")
    ensure(piece.status == DEFAULTED, "NOT_DEFAULTED", f"the piece is {piece.status}")
    seller = terms.seller
    # A claim on a sanctioned seller is value it may not give; the bank sets it in motion.
    compliance.require_unsanctioned(ctx, bank, seller)
    compliance.require_kyc(ctx, bank)
    owed = piece.outstanding
    turned = replace(
        piece, debtor=seller, recourse_from=piece.debtor, due_date=ctx.today(), status=ACCEPTED
    )
    ctx.put(index_prefix("debtor", seller) + id, 1)
    details = {"seller": seller, "from": piece.debtor, "amount": owed}
    # `was_due` keeps the invoice's due date, which the turned piece no longer carries.
    save_piece(ctx, turned, step(ctx, "recourse", bank, was_due=piece.due_date, **details))
    ctx.emit("receivable_recourse", id=id, bank=bank, due_date=ctx.today(), **details)
    return {"debtor": seller, "amount": owed}
