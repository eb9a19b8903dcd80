"""Read models of receivables: one piece, an invoice's family trace, listings by org or number.

Everything is read from the contract's records and indexes (contracts/receivables_state.py)
through their key helpers: the trace needs no event scan because each piece carries its own
history with tx ids, and listings walk an index from a cursor, so a page costs the same however
long the chain is. Answers are the stored maps as decoded, or views built from them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from contracts.holds import HELD, hold_key
from contracts.queries import StateReader
from contracts.receivables_records import Piece
from contracts.receivables_state import (
    INDEXES,
    dispute_key,
    index_prefix,
    invoice_number_prefix,
    offer_key,
    offers_prefix,
)
from contracts.registry import param_key
from ledger.genesis import DEFAULT_PARAMS
from ledger.state_keys import piece_key

SUMMARY_FIELDS = (
    "id", "root", "parent", "invoice_no", "creditor", "debtor", "currency", "face", "amount",
    "holder", "status", "due_date", "financed_by",
)  # fmt: skip
HOLDER_ACTIONS = ("issue", "split_from", "transfer", "finance")
GRACE_PARAM = "receivable_grace_days"


def outstanding(record: dict[str, Any]) -> int:
    """What is still owed on a piece, by the contract's own rule (`Piece.outstanding`)."""
    return Piece.from_value(record).outstanding


def repaid(record: dict[str, Any]) -> int:
    """What was paid on a piece so far: all of its amount once settled, less any write-off."""
    return int(record["amount"]) - outstanding(record)


def dispute_of(state: StateReader, root_id: str) -> dict[str, Any] | None:
    """The invoice's latest dispute (open: its family is frozen), or None."""
    record = state.state(dispute_key(root_id))
    return None if record is None else dict(record)


def grace_days(state: StateReader, record: dict[str, Any]) -> int:
    """The piece's grace period: its own, or the chain's genesis default."""
    if record.get("grace_days") is not None:
        return int(record["grace_days"])
    stored = state.state(param_key(GRACE_PARAM))
    return DEFAULT_PARAMS[GRACE_PARAM] if stored is None else int(stored)


def piece(state: StateReader, piece_id: str) -> dict[str, Any] | None:
    """A piece's stored record."""
    record = state.state(piece_key(piece_id))
    return None if record is None else dict(record)


def offer(state: StateReader, offer_id: str) -> dict[str, Any] | None:
    """A financing offer's stored record."""
    record = state.state(offer_key(offer_id))
    return None if record is None else dict(record)


def offers_of(state: StateReader, piece_id: str) -> list[dict[str, Any]]:
    """Every offer made on a piece, by offer id."""
    prefix = offers_prefix(piece_id)
    found = (offer(state, key.removeprefix(prefix)) for key, _ in state.state_items(prefix))
    return [record for record in found if record is not None]


def hold_of(state: StateReader, piece_id: str) -> dict[str, Any] | None:
    """The repayment of a piece held for its sanctioned holder (held or since released)."""
    record = state.state(hold_key(piece_id))
    return None if record is None else dict(record)


def piece_view(state: StateReader, piece_id: str) -> dict[str, Any] | None:
    """A piece with its offers, held repayment, what is still owed on it and its invoice's
    dispute: what `GET /v1/receivables/{id}` answers."""
    record = piece(state, piece_id)
    if record is None:
        return None
    return {
        **record,
        "offers": offers_of(state, piece_id),
        "hold": hold_of(state, piece_id),
        "outstanding": outstanding(record),
        "dispute": dispute_of(state, record["root"]),
    }


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The fields of a piece a listing shows."""
    return {name: record[name] for name in SUMMARY_FIELDS}


def holder_history(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps at which a piece got a (new) holder, with the tx behind each."""
    return [
        {"holder": e["holder"], "action": e["action"], "tx": e["tx"], "height": e["height"]}
        for e in history
        if e["action"] in HOLDER_ACTIONS
    ]


def _family_views(state: StateReader, root: dict[str, Any]) -> list[dict[str, Any]]:
    """Each piece of the family, root first (depth first), with its depth, offers and txs."""
    pieces: list[dict[str, Any]] = []
    stack: list[tuple[dict[str, Any], int]] = [(root, 0)]
    while stack:
        record, depth = stack.pop()
        offers = offers_of(state, record["id"])
        pieces.append(
            {
                **summary(record),
                "outstanding": outstanding(record),
                "repaid": repaid(record),
                "reduced": int(record.get("reduced", 0)),
                "recourse_from": record.get("recourse_from"),
                "depth": depth,
                "children": list(record["children"]),
                "financing": record["financing"],
                "holders": holder_history(record["history"]),
                "history": list(record["history"]),
                "offers": offers,
                "hold": hold_of(state, record["id"]),
                "txs": sorted({e["tx"] for e in record["history"]} | {o["tx"] for o in offers}),
            }
        )
        for child in reversed(record["children"]):
            child_record = piece(state, child)
            if child_record is not None:
                stack.append((child_record, depth + 1))
    return pieces


def _steps(pieces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tx that shaped the family, in height order (a parent's entry before its child's)."""
    steps = [
        {"tx": e["tx"], "height": e["height"], "piece": p["id"], "action": e["action"]}
        for p in pieces
        for e in p["history"]
    ] + [
        {"tx": o["tx"], "height": o["height"], "piece": p["id"], "action": "offer"}
        for p in pieces
        for o in p["offers"]
    ]
    steps.sort(key=lambda s: s["height"])  # stable
    return steps


def invoice_terms(root: dict[str, Any]) -> tuple[str, str]:
    """The invoice's own debtor and due date, also once its first piece was turned on its
    seller by recourse (which made the seller that piece's debtor, due that day)."""
    if not root.get("recourse_from"):
        return str(root["debtor"]), str(root["due_date"])
    turned: dict[str, Any] = next((e for e in root["history"] if e["action"] == "recourse"), {})
    return str(root["recourse_from"]), str(turned.get("was_due", root["due_date"]))


def invoice_status(root: dict[str, Any], pieces: list[dict[str, Any]]) -> str:
    """The invoice's own status: that of what its debtor still owes (the unsettled pieces never
    turned back share one), not the root piece's, which recourse may have settled apart."""
    owed_by_debtor = [p for p in pieces if not p.get("recourse_from")]
    unsettled = [p for p in owed_by_debtor if p["status"] != "settled"]
    if unsettled:
        return str(unsettled[0]["status"])
    return "settled" if owed_by_debtor else str(root["status"])


def trace(state: StateReader, piece_id: str) -> dict[str, Any] | None:
    """The invoice family of `piece_id` and every tx that shaped it (`.../{id}/trace`)."""
    start = piece(state, piece_id)
    if start is None:
        return None
    root = piece(state, start["root"])
    if root is None:
        return None
    pieces = _family_views(state, root)
    total = sum(p["amount"] for p in pieces)
    settled = sum(p["amount"] for p in pieces if p["status"] == "settled")
    held = sum(p["hold"]["amount"] for p in pieces if p["hold"] and p["hold"]["status"] == HELD)
    grace = grace_days(state, root)
    debtor, due_date = invoice_terms(root)
    last_day = date.fromisoformat(due_date) + timedelta(days=grace)
    dispute = dispute_of(state, root["id"])
    return {
        "root": root["id"],
        "invoice_no": root["invoice_no"],
        "creditor": root["creditor"],
        "debtor": debtor,  # the invoice's, not a seller's a piece was turned on
        "currency": root["currency"],
        "face": root["face"],
        "issue_date": root["issue_date"],
        "due_date": due_date,
        "doc_hash": root["doc_hash"],
        "status": invoice_status(root, pieces),
        "grace_days": grace,
        "last_grace_day": last_day.isoformat(),  # default may be declared the day after
        "dispute": dispute,
        "frozen": dispute is not None and dispute["status"] == "open",
        "totals": {
            "face": root["face"],
            "pieces": total,
            "settled": settled,  # the amounts of settled pieces
            "outstanding": sum(p["outstanding"] for p in pieces),
            "repaid": sum(p["repaid"] for p in pieces),
            "reduced": sum(p["reduced"] for p in pieces),  # taken off by dispute settlements
            "held": held,  # repaid by the debtor, blocked for a sanctioned holder
        },
        "pieces": pieces,
        "steps": _steps(pieces),
    }


def invoices_numbered(
    state: StateReader, invoice_no: str, creditor: str | None, debtor: str | None
) -> list[str]:
    """Root ids of invoices numbered `invoice_no`, optionally of one creditor and/or debtor."""
    prefix = invoice_number_prefix(invoice_no)
    if creditor is not None:
        prefix += creditor + "/"
        if debtor is not None:
            prefix += debtor
    roots = []
    for key, root in state.state_items(prefix):
        party_creditor, party_debtor = key.rsplit("/", 2)[-2:]
        if (debtor is None or party_debtor == debtor) and (
            creditor is None or party_creditor == creditor
        ):
            roots.append(str(root))
    return roots


def receivables_numbered(
    state: StateReader, invoice_no: str, creditor: str | None, debtor: str | None
) -> dict[str, Any]:
    """The root pieces of invoices numbered `invoice_no`, as a listing (`?invoice=`)."""
    records = (
        piece(state, root) for root in invoices_numbered(state, invoice_no, creditor, debtor)
    )
    return {"items": [summary(r) for r in records if r is not None], "next": None}


def receivables_page(
    state: StateReader, index: str, org_id: str, after: str | None, limit: int
) -> dict[str, Any]:
    """One page of the pieces `org_id` holds, owes or issued (`index`), by id after `after`."""
    if index not in INDEXES:
        raise ValueError(f"no receivables index {index!r}")
    prefix = index_prefix(index, org_id)
    items = []
    for key, _ in state.state_items(prefix, after=after):
        record = piece(state, key.removeprefix(prefix))
        if record is not None:
            items.append(summary(record))
        if len(items) >= limit:
            break
    next_cursor = items[-1]["id"] if len(items) >= limit else None
    return {"items": items, "next": next_cursor}
