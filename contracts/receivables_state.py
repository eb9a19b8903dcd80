"""Where receivables live in state, and the small helpers that keep records and indexes in step.

State layout (values are canonical maps):
  rcv/piece/<id>                                  -> piece record (see `new_piece`)
  rcv/offer/<id>                                  -> {id, piece, bank, holder, amount, rate_bps,
                                                      expires_ms, status, tx, height}
  rcv/offers/<piece id>/<offer id>                -> 1   (offers made on a piece)
  rcv/holder/<org>/<piece id>                     -> 1   (pieces an org holds now)
  rcv/debtor/<org>/<root id>                      -> 1   (invoices an org owes)
  rcv/creditor/<org>/<root id>                    -> 1   (invoices an org issued)
  rcv/invoice/<creditor>/<debtor>/<invoice_no>    -> root id (the fingerprint: issued once)
  rcv/invno/<invoice_no>/<creditor>/<debtor>      -> root id (lookup by invoice number)
Invoice numbers are escaped in keys ('%' -> %25, '/' -> %2F) so no number can forge a key.
A piece's `history` lists every step that shaped it with its tx id and height, so a trace reads
records and never scans events.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contracts.errors import ensure
from contracts.runtime import Context

Record = dict[str, Any]

# Piece statuses. Every piece of a family has the same status: accept/reject happen before any
# split, and overdue/repay apply to the whole family at once.
ISSUED = "issued"
ACCEPTED = "accepted"
REJECTED = "rejected"
OVERDUE = "overdue"
SETTLED = "settled"
OUTSTANDING = (ACCEPTED, OVERDUE)

OFFER_OPEN = "open"
OFFER_TAKEN = "taken"


def escape(part: str) -> str:
    return part.replace("%", "%25").replace("/", "%2F")


def piece_key(piece_id: str) -> str:
    return "rcv/piece/" + piece_id


def offer_key(offer_id: str) -> str:
    return "rcv/offer/" + offer_id


def holder_key(org: str, piece_id: str) -> str:
    return f"rcv/holder/{org}/{piece_id}"


def fingerprint_key(creditor: str, debtor: str, invoice_no: str) -> str:
    return f"rcv/invoice/{creditor}/{debtor}/{escape(invoice_no)}"


def invoice_number_key(invoice_no: str, creditor: str, debtor: str) -> str:
    return f"rcv/invno/{escape(invoice_no)}/{creditor}/{debtor}"


def get_piece(ctx: Context, piece_id: str) -> Record:
    record = ctx.get(piece_key(piece_id))
    ensure(record is not None, "UNKNOWN_RECEIVABLE", f"no receivable {piece_id}")
    return dict(record)


def get_offer(ctx: Context, offer_id: str) -> Record:
    record = ctx.get(offer_key(offer_id))
    ensure(record is not None, "UNKNOWN_OFFER", f"no financing offer {offer_id}")
    return dict(record)


def step(ctx: Context, action: str, holder: str, **fields: Any) -> Record:
    """One history entry: what happened, who holds the piece after it, and which tx did it."""
    return {
        "action": action,
        "holder": holder,
        "tx": ctx.tx_id.hex(),
        "height": ctx.height,
        **fields,
    }


def save_piece(ctx: Context, record: Record, entry: Record | None = None) -> None:
    if entry is not None:
        record["history"] = [*record["history"], entry]
    ctx.put(piece_key(record["id"]), record)


def set_holder(ctx: Context, record: Record, holder: str) -> None:
    """Move a piece to `holder`, keeping the holder index exact (one holder per piece)."""
    ctx.delete(holder_key(record["holder"], record["id"]))
    ctx.put(holder_key(holder, record["id"]), 1)
    record["holder"] = holder


def family(ctx: Context, root: Record) -> Iterator[Record]:
    """Every piece of an invoice, depth first in creation order: the same on every replica."""
    stack = [root]
    while stack:
        record = stack.pop()
        yield record
        stack.extend(dict(ctx.get(piece_key(c))) for c in reversed(record["children"]))
