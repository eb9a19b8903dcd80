"""The business tables kept from events: receivable pieces and their history, payments, FX
quotes, netting windows and obligations, governance proposals, organizations' keys.

Each handler reads one event type of an ok receipt and writes with SQL both engines accept
(`INSERT ... ON CONFLICT DO UPDATE`, arithmetic in UPDATE), inside the writer's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from explorer.index.db import Database
from explorer.index.decode import to_text


@dataclass(frozen=True, slots=True)
class Place:
    """Where an event sits: block, tx position, event position; and the tx it came from."""

    height: int
    idx: int
    pos: int
    tx: str
    time_ms: int
    args: dict[str, Any]
    result: Any


Handler = Callable[[Database, Place, dict[str, Any]], None]

_HISTORY = (
    "INSERT INTO piece_history (height, idx, pos, piece, tx, action, holder, amount) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _history(db: Database, at: Place, piece: str, action: str, holder: str, amount: Any) -> None:
    db.execute(_HISTORY, (at.height, at.idx, at.pos, piece, at.tx, action, holder, amount))


def _issued(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO pieces (id, root, parent, invoice_no, creditor, debtor, holder, amount, "
        "currency, due_date, status, height, updated) VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, "
        "'issued', ?, ?)",
        (
            e["id"],
            e["id"],
            e["invoice_no"],
            e["creditor"],
            e["debtor"],
            e["creditor"],
            int(e["amount"]),
            e["currency"],
            str(e.get("due_date", "")),
            at.height,
            at.height,
        ),
    )
    _history(db, at, e["id"], "issue", e["creditor"], int(e["amount"]))


def _status(status: str) -> Handler:
    def handle(db: Database, at: Place, e: dict[str, Any]) -> None:
        piece = str(e["id"])
        db.execute(
            "UPDATE pieces SET status = ?, updated = ? WHERE root = (SELECT root FROM pieces "
            "WHERE id = ?)",
            (status, at.height, piece),
        )
        _history(db, at, piece, status, str(e.get("debtor") or e.get("by") or ""), None)

    return handle


def _transferred(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "UPDATE pieces SET holder = ?, updated = ? WHERE id = ?", (e["to"], at.height, e["id"])
    )
    _history(db, at, e["id"], "transfer", e["to"], int(e["amount"]))


def _split(db: Database, at: Place, e: dict[str, Any]) -> None:
    amount = int(e["amount"])
    db.execute(
        "INSERT INTO pieces (id, root, parent, invoice_no, creditor, debtor, holder, amount, "
        "currency, due_date, status, height, updated) SELECT ?, root, id, invoice_no, "
        "creditor, debtor, ?, ?, currency, due_date, status, ?, ? FROM pieces WHERE id = ?",
        (e["child"], e["to"], amount, at.height, at.height, e["id"]),
    )
    db.execute(
        "UPDATE pieces SET amount = amount - ?, updated = ? WHERE id = ?",
        (amount, at.height, e["id"]),
    )
    _history(db, at, e["child"], "split", e["to"], amount)


def _financed(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "UPDATE pieces SET holder = ?, updated = ? WHERE id = ?", (e["bank"], at.height, e["id"])
    )
    _history(db, at, e["id"], "finance", e["bank"], int(e["price"]))


def _repaid(db: Database, at: Place, e: dict[str, Any]) -> None:
    status = "settled" if int(e.get("outstanding", 0)) == 0 else "partly repaid"
    for piece, share in sorted((e.get("pieces") or {}).items()):
        db.execute("UPDATE pieces SET updated = ? WHERE id = ?", (at.height, piece))
        _history(db, at, piece, "repay", str(e["debtor"]), int(share))
    first = next(iter(sorted(e.get("pieces") or {})), None)
    if first is not None:
        db.execute(
            "UPDATE pieces SET status = ? WHERE root = (SELECT root FROM pieces WHERE id = ?)",
            (status, first),
        )


def _payment(db: Database, at: Place, e: dict[str, Any]) -> None:
    fx = e["type"] == "payment_fx"
    currency = e["base"] if fx else e["currency"]
    amount = int(e["base_amount"] if fx else e["amount"])
    db.execute(
        "INSERT INTO payments (id, height, tx, time_ms, kind, payer, payee, currency, amount, "
        "credit_currency, credit, dealer, quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e["id"],
            at.height,
            at.tx,
            at.time_ms,
            "fx" if fx else "same-currency",
            e["payer"],
            e["payee"],
            currency,
            amount,
            e.get("credit_currency", currency),
            int(e.get("credit", amount)),
            e.get("dealer", ""),
            e.get("quote", ""),
        ),
    )
    if fx:
        db.execute("UPDATE fx_quotes SET used = used + ? WHERE id = ?", (amount, str(e["quote"])))


def _quoted(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO fx_quotes (id, height, tx, dealer, base, quote, rate, max_base, used, "
        "expires_ms, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'open')",
        (
            e["id"],
            at.height,
            at.tx,
            e["dealer"],
            e["base"],
            e["quote"],
            int(e["rate"]),
            int(e["max_base"]),
            int(e["expires_ms"]),
        ),
    )


def _withdrawn(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute("UPDATE fx_quotes SET status = 'withdrawn' WHERE id = ?", (e["id"],))


def _window_opened(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO netting_windows (id, height, tx, currency, participants, status, gross, "
        "net, positions) VALUES (?, ?, ?, ?, ?, 'open', 0, 0, '{}')",
        (e["id"], at.height, at.tx, e["currency"], to_text(e.get("participants", []))),
    )


def _obligation(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO netting_obligations (window_id, height, idx, pos, tx, payer, payee, amount, "
        "ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e["window"],
            at.height,
            at.idx,
            at.pos,
            at.tx,
            e["payer"],
            e["to"],
            int(e["amount"]),
            str(e.get("ref", "")),
        ),
    )
    db.execute(
        "UPDATE netting_windows SET gross = gross + ? WHERE id = ?", (int(e["amount"]), e["window"])
    )


def _window_settled(db: Database, at: Place, e: dict[str, Any]) -> None:
    positions = at.result.get("positions", {}) if isinstance(at.result, dict) else {}
    db.execute(
        "UPDATE netting_windows SET status = 'settled', gross = ?, net = ?, positions = ?, "
        "settled_height = ? WHERE id = ?",
        (int(e["gross"]), int(e["net"]), to_text(positions), at.height, e["id"]),
    )


def _window_cancelled(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute("UPDATE netting_windows SET status = 'cancelled' WHERE id = ?", (e["id"],))


def _proposed(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO proposals (id, height, tx, action, params, proposer, status) "
        "VALUES (?, ?, ?, ?, ?, ?, 'open')",
        (e["id"], at.height, at.tx, e["action"], to_text(at.args.get("params", {})), e["proposer"]),
    )
    _approved(db, at, {"id": e["id"], "by": e["proposer"]})


def _approved(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO proposal_approvals (proposal, org, height, tx) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        (e["id"], e["by"], at.height, at.tx),
    )


def _passed(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "UPDATE proposals SET status = 'passed', decided_height = ? WHERE id = ?",
        (at.height, e["id"]),
    )


def _key_added(db: Database, at: Place, e: dict[str, Any]) -> None:
    db.execute(
        "INSERT INTO org_keys (public_key, org, role, height) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (public_key) DO UPDATE SET org = excluded.org, role = excluded.role, "
        "height = excluded.height",
        (e["public"], e["org"], e["role"], at.height),
    )


HANDLERS: dict[tuple[str, str], Handler] = {
    ("receivables", "receivable_issued"): _issued,
    ("receivables", "receivable_accepted"): _status("accepted"),
    ("receivables", "receivable_rejected"): _status("rejected"),
    ("receivables", "receivable_overdue"): _status("overdue"),
    ("receivables", "receivable_defaulted"): _status("defaulted"),
    ("receivables", "receivable_disputed"): _status("disputed"),
    ("receivables", "receivable_dispute_settled"): _status("accepted"),
    ("receivables", "receivable_transferred"): _transferred,
    ("receivables", "receivable_split"): _split,
    ("receivables", "receivable_financed"): _financed,
    ("receivables", "receivable_repaid"): _repaid,
    ("payments", "payment"): _payment,
    ("payments", "payment_fx"): _payment,
    ("fx", "quoted"): _quoted,
    ("fx", "quote_withdrawn"): _withdrawn,
    ("netting", "window_opened"): _window_opened,
    ("netting", "obligation"): _obligation,
    ("netting", "window_settled"): _window_settled,
    ("netting", "window_cancelled"): _window_cancelled,
    ("registry", "proposed"): _proposed,
    ("registry", "approved"): _approved,
    ("registry", "proposal_passed"): _passed,
    ("registry", "key_added"): _key_added,
}


def apply_event(db: Database, at: Place, event: dict[str, Any]) -> None:
    """Update the business tables for one event; events of no table are kept in `events` only."""
    handler = HANDLERS.get((str(event.get("contract")), str(event.get("type"))))
    if handler is not None:
        handler(db, at, event)
