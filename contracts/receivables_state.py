"""Where receivables live in state, and the small helpers that keep records and indexes in step.

State layout (values are canonical maps; statuses and records in receivables_records.py):
  rcv/piece/<id>                                  -> `Piece` (contracts/receivables_records.py)
  rcv/offer/<id>                                  -> `Offer` {id, piece, bank, holder, amount,
                                                      version, rate_bps, expires_ms, status, tx,
                                                      height}
  rcv/offers/<piece id>/<offer id>                -> 1   (offers made on a piece)
  rcv/holder/<org>/<piece id>                     -> 1   (pieces an org holds now)
  rcv/debtor/<org>/<root id>                      -> 1   (invoices an org owes)
  rcv/creditor/<org>/<root id>                    -> 1   (invoices an org issued)
  rcv/invoice/<creditor>/<debtor>/<normalized no> -> root id (the fingerprint: issued once;
                                                      contracts/invoice_identity.py)
  rcv/doc/<doc hash hex>                          -> root id (a document backs one invoice)
  rcv/invno/<invoice_no>/<creditor>/<debtor>      -> root id (lookup by invoice number)
  rcv/dispute/<root id>                           -> `Dispute`: the invoice's latest dispute
                                                      (its family is frozen while it is open)
  rcv/docshare/<root id>/<org>                    -> {by, tx, height}: org may read the invoice's
                                                      document (contracts/receivables_documents.py)
  rcv/docshares/<root id>                         -> how many grants the invoice has
Invoice numbers (raw and normalized) are escaped in keys ('%' -> %25, '/' -> %2F) so no number
can forge a key.
A piece's `history` lists every step that shaped it with its tx id and height, so a trace reads
records and never scans events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from contracts.errors import ensure
from contracts.receivables_records import Dispute, Offer, Piece, Step
from contracts.runtime import Context
from ledger.state_keys import piece_key

# Indexes of pieces by organization, each `rcv/<index>/<org>/<piece id> -> 1`.
INDEXES = ("holder", "debtor", "creditor")


def escape(part: str) -> str:
    return part.replace("%", "%25").replace("/", "%2F")


def offer_key(offer_id: str) -> str:
    return "rcv/offer/" + offer_id


def offers_prefix(piece_id: str) -> str:
    """Where the offers made on a piece are listed: `<prefix><offer id> -> 1`."""
    return f"rcv/offers/{piece_id}/"


def index_prefix(index: str, org: str) -> str:
    """Where index `holder`, `debtor` or `creditor` lists an organization's piece ids."""
    return f"rcv/{index}/{org}/"


def holder_key(org: str, piece_id: str) -> str:
    return index_prefix("holder", org) + piece_id


def fingerprint_key(creditor: str, debtor: str, normalized_no: str) -> str:
    """The fingerprint of DESIGN.md §10; `normalized_no` from `normalize_invoice_number`."""
    return f"rcv/invoice/{creditor}/{debtor}/{escape(normalized_no)}"


def document_key(doc_hash: bytes) -> str:
    return "rcv/doc/" + doc_hash.hex()


def invoice_number_prefix(invoice_no: str) -> str:
    """Where invoices are listed by number: `<prefix><creditor>/<debtor> -> root id`."""
    return f"rcv/invno/{escape(invoice_no)}/"


def invoice_number_key(invoice_no: str, creditor: str, debtor: str) -> str:
    return f"{invoice_number_prefix(invoice_no)}{creditor}/{debtor}"


def dispute_key(root_id: str) -> str:
    return "rcv/dispute/" + root_id


def get_dispute(ctx: Context, root_id: str) -> Dispute | None:
    record = ctx.get(dispute_key(root_id))
    return None if record is None else Dispute.from_value(record)


def save_dispute(ctx: Context, dispute: Dispute) -> None:
    ctx.put(dispute_key(dispute.root), dispute.to_value())


def get_piece(ctx: Context, piece_id: str) -> Piece:
    record = ctx.get(piece_key(piece_id))
    ensure(record is not None, "UNKNOWN_RECEIVABLE", f"no receivable {piece_id}")
    return Piece.from_value(record)


def get_offer(ctx: Context, offer_id: str) -> Offer:
    record = ctx.get(offer_key(offer_id))
    ensure(record is not None, "UNKNOWN_OFFER", f"no financing offer {offer_id}")
    return Offer.from_value(record)


def save_offer(ctx: Context, offer: Offer) -> None:
    ctx.put(offer_key(offer.id), offer.to_value())


def step(ctx: Context, action: str, holder: str, **details: Any) -> Step:
    """One history entry: what happened, who holds the piece after it, and which tx did it."""
    return Step(action, holder, ctx.tx_id.hex(), ctx.height, details)


def save_piece(ctx: Context, piece: Piece, entry: Step | None = None) -> Piece:
    """Store `piece`, with `entry` appended to its history; the piece as stored."""
    if entry is not None:
        piece = replace(piece, history=(*piece.history, entry))
    ctx.put(piece_key(piece.id), piece.to_value())
    return piece


def set_holder(ctx: Context, piece: Piece, holder: str) -> Piece:
    """`piece` held by `holder`, the holder index kept exact (one holder per piece)."""
    ctx.delete(holder_key(piece.holder, piece.id))
    ctx.put(holder_key(holder, piece.id), 1)
    return replace(piece, holder=holder)


def family(ctx: Context, root: Piece) -> Iterator[Piece]:
    """Every piece of an invoice, depth first in creation order: the same on every replica."""
    stack = [root]
    while stack:
        piece = stack.pop()
        yield piece
        stack.extend(get_piece(ctx, child) for child in reversed(piece.children))
