"""Supply-chain finance: invoices as receivables that are confirmed, split, passed on, sold, repaid.

An invoice is issued by its creditor as one piece (the root). After the debtor accepts it, the
holder of a piece may pass all of it on (same piece, new holder) or a part (a child piece with
its own id; the parent keeps the rest), or sell it to a bank at a discount, with or without
recourse. Repayment, overdue, default and recourse are in contracts/receivables_repay.py,
disputes in contracts/receivables_disputes.py. Every step that moves value passes compliance
first (contracts/compliance.py). The amounts of a family's pieces always add up to the face
amount. Layout: receivables_state.
"""

from __future__ import annotations

from dataclasses import replace

from contracts import cash, compliance
from contracts.amounts import subtract
from contracts.args import (
    amount,
    bin32,
    boolean,
    currency,
    hex_id,
    integer,
    iso_date,
    optional,
    org_id,
    text,
)
from contracts.errors import ensure, fail
from contracts.invoice_identity import normalize_invoice_number
from contracts.receivables_debts import require_not_frozen
from contracts.receivables_pricing import days_to_maturity, price
from contracts.receivables_records import (
    ACCEPTED,
    ISSUED,
    OFFER_OPEN,
    OFFER_TAKEN,
    REJECTED,
    Financing,
    Offer,
    Piece,
)
from contracts.receivables_state import (
    document_key,
    fingerprint_key,
    get_offer,
    get_piece,
    holder_key,
    index_prefix,
    invoice_number_key,
    offers_prefix,
    save_offer,
    save_piece,
    set_holder,
    step,
)
from contracts.registry import get_currency, require_active
from contracts.runtime import Context, method
from contracts.wording import moment, money

MAX_RATE_BPS = 10_000  # 100 % a year
MAX_GRACE_DAYS = 3650


def _require_movable(ctx: Context, piece: Piece) -> None:
    """A piece may change hands only while accepted, not yet due, not turned back on its
    seller and not frozen by a dispute: once overdue, value moves only by repayment, recourse
    or the settlement of a dispute."""
    ensure(piece.status != ISSUED, "NOT_ACCEPTED", "the debtor has not accepted it yet")
    ensure(
        piece.status == ACCEPTED,
        "NOT_TRANSFERABLE",
        f"a {piece.status} receivable cannot change hands",
    )
    ensure(
        ctx.today() <= piece.due_date,
        "NOT_TRANSFERABLE",
        f"the receivable fell due on {piece.due_date}",
    )
    ensure(
        piece.recourse_from is None,
        "NOT_TRANSFERABLE",
        f"the piece was turned back on {piece.debtor} by recourse",
    )
    require_not_frozen(ctx, piece.root)


def _require_holder(ctx: Context, piece: Piece) -> None:
    ensure(
        piece.holder == ctx.sender_org,
        "NOT_HOLDER",
        f"{ctx.sender_org} does not hold receivable {piece.id}",
    )


def _new_invoice_identity(
    ctx: Context, creditor: str, debtor: str, invoice_no: str, doc_hash: bytes
) -> tuple[str, str]:
    """The fingerprint and document keys of an invoice never issued before, or the code why.

    Both registries are checked and both kept: the same invoice can never be issued twice,
    however its number is written (contracts/invoice_identity.py) and whoever presents its
    document, so it can never be financed twice."""
    normalized = normalize_invoice_number(invoice_no)
    ensure(
        normalized != "",
        "BAD_ARGUMENT",
        "argument 'invoice_no' must hold a letter or digit, not only spaces and punctuation",
    )
    fingerprint = fingerprint_key(creditor, debtor, normalized)
    earlier = ctx.get(fingerprint)
    ensure(
        earlier is None,
        "DUPLICATE_INVOICE",
        f"invoice {invoice_no!r} of {creditor} to {debtor} was already issued as receivable "
        f"{earlier} (numbers compare without case, spaces, dashes, dots and slashes)",
    )
    document = document_key(doc_hash)
    backed = ctx.get(document)
    ensure(
        backed is None,
        "DUPLICATE_DOCUMENT",
        f"document {doc_hash.hex()[:16]}… already backs receivable {backed}",
    )
    return fingerprint, document


@method(
    "receivables",
    "issue",
    {
        "invoice_no": text(64),
        "debtor": org_id,
        "amount": amount,
        "currency": currency,
        "issue_date": iso_date,
        "due_date": iso_date,
        "doc_hash": bin32,
        "grace_days": optional(integer(0, MAX_GRACE_DAYS)),
    },
    kinds=("enterprise",),
)
def issue(
    ctx: Context,
    invoice_no: str,
    debtor: str,
    amount: int,
    currency: str,
    issue_date: str,
    due_date: str,
    doc_hash: bytes,
    grace_days: int | None,
) -> dict[str, str]:
    """The creditor (the caller) records an invoice its debtor owes; the debtor must accept it.
    `grace_days` after the due date it may be defaulted (absent: the chain's default)."""
    creditor = ctx.sender_org
    get_currency(ctx, currency)
    ensure(debtor != creditor, "SELF_INVOICE", "an organization cannot invoice itself")
    debtor_org = require_active(ctx, debtor)
    ensure(
        debtor_org["kind"] == "enterprise",
        "DEBTOR_NOT_ENTERPRISE",
        f"debtor {debtor} is a {debtor_org['kind']}, not an enterprise",
    )
    ensure(due_date > issue_date, "BAD_DATES", "due_date must be after issue_date")
    identity = _new_invoice_identity(ctx, creditor, debtor, invoice_no, doc_hash)
    # A claim on a sanctioned debtor, or held by a sanctioned creditor, is value neither may
    # receive or give; the creditor sets it in motion, so its KYC must be valid.
    compliance.require_unsanctioned(ctx, creditor, debtor)
    compliance.require_kyc(ctx, creditor)
    piece_id = ctx.new_id()
    root = replace(
        Piece.issued(
            piece_id, invoice_no, creditor, debtor, currency, amount, issue_date, due_date, doc_hash
        ),
        grace_days=grace_days,
    )
    save_piece(ctx, root, step(ctx, "issue", creditor, amount=amount))
    ctx.put(holder_key(creditor, piece_id), 1)
    ctx.put(index_prefix("debtor", debtor) + piece_id, 1)
    ctx.put(index_prefix("creditor", creditor) + piece_id, 1)
    for key in identity:  # kept for good: a rejected or repaid invoice stays issued
        ctx.put(key, piece_id)
    ctx.put(invoice_number_key(invoice_no, creditor, debtor), piece_id)
    ctx.emit(
        "receivable_issued",
        id=piece_id,
        invoice_no=invoice_no,
        creditor=creditor,
        debtor=debtor,
        amount=amount,
        currency=currency,
        due_date=due_date,
    )
    return {"id": piece_id}


def _decide(ctx: Context, piece_id: str, status: str, reason: str) -> None:
    piece = get_piece(ctx, piece_id)
    ensure(piece.debtor == ctx.sender_org, "NOT_DEBTOR", "only the debtor accepts or rejects")
    ensure(piece.status == ISSUED, "NOT_PENDING", f"the receivable is already {piece.status}")
    action = "accept" if status == ACCEPTED else "reject"
    extra = {"reason": reason} if reason else {}
    decided = replace(piece, status=status, reason=reason)
    save_piece(ctx, decided, step(ctx, action, piece.holder, **extra))
    ctx.emit(f"receivable_{status}", id=piece_id, debtor=ctx.sender_org, **extra)


@method("receivables", "accept", {"id": hex_id}, kinds=("enterprise",))
def accept(ctx: Context, id: str) -> None:
    """The debtor confirms it owes the invoice; from now on it can be passed on and sold."""
    _decide(ctx, id, ACCEPTED, "")


@method("receivables", "reject", {"id": hex_id, "reason": text(280)}, kinds=("enterprise",))
def reject(ctx: Context, id: str, reason: str) -> None:
    """The debtor disputes the invoice; a rejected receivable is dead (its number stays used)."""
    _decide(ctx, id, REJECTED, reason)


@method("receivables", "transfer", {"id": hex_id, "to": org_id, "amount": amount})
def transfer(ctx: Context, id: str, to: str, amount: int) -> dict[str, str]:
    """The holder pays someone with all or part of a piece; a part becomes a child piece."""
    piece = get_piece(ctx, id)
    _require_holder(ctx, piece)
    _require_movable(ctx, piece)
    ensure(to != piece.holder, "SELF_TRANSFER", "the piece is already held by the recipient")
    recipient = require_active(ctx, to)
    ensure(
        recipient["kind"] in ("enterprise", "bank") and to != piece.debtor,
        "BAD_RECIPIENT",
        f"{to} cannot hold this receivable",
    )
    # What can be passed on is what is still owed on the piece (all of it, unless the debtor
    # repaid a part already: that part was paid to the holder and stays recorded on the piece).
    held = piece.outstanding
    if amount > held:
        fail(
            "AMOUNT_EXCEEDS_PIECE",
            f"the piece holds {money(ctx, piece.currency, held)}, "
            f"not {money(ctx, piece.currency, amount)}",
            {"currency": piece.currency, "held": held, "asked": amount},
        )
    giver = piece.holder
    compliance.require_outgoing(ctx, piece.currency, giver, to, amount)
    if amount == held:
        moved = set_holder(ctx, piece, to)
        save_piece(ctx, moved, step(ctx, "transfer", to, **{"from": giver, "amount": amount}))
        ctx.emit("receivable_transferred", id=id, **{"from": giver}, to=to, amount=amount)
        return {"id": id}
    child_id = ctx.new_id()
    child = replace(
        piece,
        id=child_id,
        parent=id,
        children=(),
        amount=amount,
        holder=to,
        history=(),
        repaid=0,
        reduced=0,
    )
    ctx.put(holder_key(to, child_id), 1)
    save_piece(ctx, child, step(ctx, "split_from", to, parent=id, amount=amount, **{"from": giver}))
    rest = replace(
        piece,
        amount=subtract(piece.amount, amount, f"the rest of piece {id}"),
        children=(*piece.children, child_id),
    )
    save_piece(ctx, rest, step(ctx, "split", giver, child=child_id, amount=amount, to=to))
    ctx.emit("receivable_split", id=id, child=child_id, **{"from": giver}, to=to, amount=amount)
    return {"id": child_id}


@method(
    "receivables",
    "offer_financing",
    {
        "id": hex_id,
        "rate_bps": integer(0, MAX_RATE_BPS),
        "expires_ms": integer(0),
        "with_recourse": optional(boolean, False),
    },
    kinds=("bank",),
)
def offer_financing(
    ctx: Context, id: str, rate_bps: int, expires_ms: int, with_recourse: bool
) -> dict[str, str]:
    """A bank offers to buy a piece at a discount rate, with recourse on the seller or not; only
    the holder at this moment may take it, and only while the piece still has this holder and
    amount."""
    piece = get_piece(ctx, id)
    _require_movable(ctx, piece)
    ensure(piece.financed_by is None, "ALREADY_FINANCED", f"financed by {piece.financed_by}")
    ensure(piece.holder != ctx.sender_org, "OWN_PIECE", "a bank cannot finance its own piece")
    ensure(
        expires_ms > ctx.time_ms,
        "OFFER_EXPIRED",
        f"the offer would expire at {moment(expires_ms)}, before the block time "
        f"{moment(ctx.time_ms)}",
        {"expires_ms": expires_ms, "block_time_ms": ctx.time_ms},
    )
    compliance.require_movement(ctx, ctx.sender_org, piece.holder)  # the price it would pay
    offer = Offer(
        id=ctx.new_id(),
        piece=id,
        bank=ctx.sender_org,
        holder=piece.holder,
        amount=piece.outstanding,  # what the bank would buy: all that is still owed on it
        version=len(piece.history),  # any later step on the piece voids the offer
        rate_bps=rate_bps,
        expires_ms=expires_ms,
        status=OFFER_OPEN,
        tx=ctx.tx_id.hex(),
        height=ctx.height,
        with_recourse=with_recourse,
    )
    save_offer(ctx, offer)
    ctx.put(offers_prefix(id) + offer.id, 1)
    ctx.emit(
        "financing_offered",
        id=offer.id,
        piece=id,
        bank=ctx.sender_org,
        rate_bps=rate_bps,
        expires_ms=expires_ms,
        with_recourse=with_recourse,
    )
    return {"id": offer.id}


def _require_offer_stands(ctx: Context, terms: Offer, piece: Piece) -> None:
    """The offer is open and unexpired, and the piece is still the one it was made for."""
    ensure(terms.status == OFFER_OPEN, "OFFER_CLOSED", "the offer was already taken")
    ensure(
        ctx.time_ms <= terms.expires_ms,
        "OFFER_EXPIRED",
        f"the offer expired at {moment(terms.expires_ms)}, block time {moment(ctx.time_ms)}",
        {"expires_ms": terms.expires_ms, "block_time_ms": ctx.time_ms},
    )
    ensure(piece.financed_by is None, "ALREADY_FINANCED", f"financed by {piece.financed_by}")
    _require_holder(ctx, piece)
    ensure(
        piece.holder == terms.holder
        and piece.outstanding == terms.amount
        and len(piece.history) == terms.version,
        "OFFER_VOID",
        "the piece changed holder or amount since the offer was made",
    )
    _require_movable(ctx, piece)


@method("receivables", "accept_financing", {"offer": hex_id})
def accept_financing(ctx: Context, offer: str) -> dict[str, int]:
    """The holder sells to the offering bank, which pays the price and becomes holder at once."""
    terms = get_offer(ctx, offer)
    piece = get_piece(ctx, terms.piece)
    _require_offer_stands(ctx, terms, piece)
    bank = terms.bank
    require_active(ctx, bank)
    days = days_to_maturity(ctx.today(), piece.due_date)
    paid = price(piece.outstanding, terms.rate_bps, days)
    ensure(paid > 0, "ZERO_PRICE", "the discount takes the whole amount")
    seller = piece.holder
    compliance.require_unsanctioned(ctx, seller, bank)
    compliance.require_kyc(ctx, seller, bank)
    compliance.count_outgoing(ctx, seller, piece.currency, piece.outstanding)  # the piece
    cash.move(ctx, piece.currency, bank, seller, paid)  # the price, counted for the bank
    financing = Financing(offer, bank, seller, terms.rate_bps, days, paid, terms.with_recourse)
    bought = replace(set_holder(ctx, piece, bank), financed_by=bank, financing=financing)
    recourse = {"with_recourse": True} if terms.with_recourse else {}  # older steps' bytes kept
    entry = step(
        ctx, "finance", bank, seller=seller, offer=offer, price=paid, days=days, **recourse
    )
    save_piece(ctx, bought, entry)
    save_offer(ctx, replace(terms, status=OFFER_TAKEN))
    ctx.emit(
        "receivable_financed",
        id=piece.id,
        offer=offer,
        bank=bank,
        seller=seller,
        price=paid,
        with_recourse=terms.with_recourse,
    )
    return {"price": paid}
