"""What a receivable's page says when things go wrong: who owes whom what, after each step.

Pure functions of the trace answer (GET /v1/receivables/{id}/trace), so a credit analyst reads
the same facts the contract keeps: per piece its amount, what was repaid and written off, what
is still owed and by whom (the invoice's debtor, or the seller a bank turned it on by
recourse); the invoice's due date, grace days and the first day it may be declared in default;
an open dispute (which freezes the family) or a settled one with each piece's reduction.
The block heights whose times the page shows are listed by `heights_to_date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from explorer.format import money, short
from explorer.graph import trace_pieces

AMOUNT_STEPS = {"repay": "paid", "repay_held": "held", "dispute_settled": "reduction"}


@dataclass(frozen=True, slots=True)
class OwedRow:
    """One piece now: who is owed, who owes it, and how much is left."""

    piece: str
    holder: str
    debtor: str
    recourse_from: str | None  # the invoice's debtor, when the piece was turned on its seller
    status: str
    amount: int
    repaid: int
    reduced: int
    outstanding: int
    bought_by: str | None
    with_recourse: bool
    blocked: int = 0  # repaid into a hold for its sanctioned holder, not yet released


def owed_rows(trace: Any) -> list[OwedRow]:
    """Each piece of the family, root first, as the 'Who is owed what' table shows it."""
    rows = []
    for p in trace_pieces(trace):
        financing = p.get("financing") or {}
        hold = p.get("hold") or {}
        rows.append(
            OwedRow(
                piece=str(p["id"]),
                holder=str(p.get("holder", "")),
                debtor=str(p.get("debtor", "")),
                recourse_from=p.get("recourse_from"),
                status=str(p.get("status", "")),
                amount=int(p.get("amount", 0) or 0),
                repaid=int(p.get("repaid", 0) or 0),
                reduced=int(p.get("reduced", 0) or 0),
                outstanding=int(p.get("outstanding", 0) or 0),
                bought_by=financing.get("bank"),
                with_recourse=bool(financing.get("with_recourse")),
                blocked=int(hold.get("amount", 0) or 0) if hold.get("status") == "held" else 0,
            )
        )
    return rows


def steps_with_balances(trace: Any) -> list[dict[str, Any]]:
    """Every step of every piece, oldest first, each with what was still owed on its piece
    after it (`owed_after`) and by whom (`debtor_after`): the history table."""
    steps = []
    for p in trace_pieces(trace):
        owed = 0
        debtor = str(p.get("recourse_from") or p.get("debtor", ""))
        for entry in p.get("history", []):
            if not isinstance(entry, dict):
                continue
            action = entry.get("action")
            if action in ("issue", "split_from"):
                owed = int(entry.get("amount", 0) or 0)
            elif action == "split":
                owed -= int(entry.get("amount", 0) or 0)
            elif action in AMOUNT_STEPS:
                owed -= int(entry.get(AMOUNT_STEPS[str(action)], 0) or 0)
            elif action == "recourse":
                debtor = str(entry.get("seller", debtor))
            steps.append(
                {"piece": str(p["id"]), **entry, "owed_after": max(owed, 0), "debtor_after": debtor}
            )
    # stable: within a block, pieces in family order (a parent's split before its child's)
    steps.sort(key=lambda s: int(s.get("height", 0) or 0))
    return steps


# The history's own columns; the rest of a step is its details.
STEP_COLUMNS = frozenset(
    {"action", "holder", "tx", "height", "piece", "amount", "owed_after", "debtor_after"}
)
MONEY_DETAILS = frozenset({"price", "paid", "held", "reduction"})


def step_details(step: dict[str, Any], currency: str, decimals: dict[str, int]) -> list[str]:
    """A step's details as a reader says them: money with its currency's decimals, a flag as
    words ("with recourse", not `with_recourse True`), ids shortened, a reason in full."""
    said = []
    for key, value in sorted(step.items()):
        if key in STEP_COLUMNS:
            continue
        label = key.replace("_", " ")
        if isinstance(value, bool):
            negated = "without " + label[5:] if label.startswith("with ") else f"not {label}"
            said.append(label if value else negated)
        elif key in MONEY_DETAILS and isinstance(value, int):
            said.append(f"{label} {money(value, currency, decimals)}")
        elif key == "days" and isinstance(value, int):
            said.append(f"{value} day{'s' if value != 1 else ''}")
        elif isinstance(value, str) and key != "reason":
            said.append(f"{label} {short(value)}")
        else:
            said.append(f"{label} {value}")
    return said


def _first_step(trace: Any, action: str) -> dict[str, Any] | None:
    found = [s for s in steps_with_balances(trace) if s.get("action") == action]
    return found[0] if found else None


def terms(trace: Any) -> dict[str, Any]:
    """Due date, grace and default: the dates a supplier's clerk and a bank look for, and
    where the invoice's own debt stands (overdue since, defaulted at which block, by whom)."""
    if not isinstance(trace, dict) or not trace.get("due_date"):
        return {}
    due = date.fromisoformat(str(trace["due_date"]))
    last = date.fromisoformat(str(trace.get("last_grace_day") or trace["due_date"]))
    invoice_debtor = str(trace.get("debtor", ""))
    owed_by_debtor = [
        row for row in owed_rows(trace) if row.debtor == invoice_debtor and row.outstanding > 0
    ]
    statuses = [row.status for row in owed_by_debtor]
    return {
        # the invoice's own debt: what the pieces its debtor still owes share (one status per
        # debt), settled once none is owed by it (turned pieces are the sellers' debts)
        "status": statuses[0] if statuses else "settled",
        "due": due.isoformat(),
        "overdue_from": (due + timedelta(days=1)).isoformat(),
        "grace_days": trace.get("grace_days"),
        "last_grace_day": last.isoformat(),
        "default_from": (last + timedelta(days=1)).isoformat(),
        "debtor": invoice_debtor,
        "owed_by_debtor": sum(row.outstanding for row in owed_by_debtor),
        "overdue": _first_step(trace, "overdue"),
        "default": _first_step(trace, "default"),
    }


def recourses(trace: Any) -> list[dict[str, Any]]:
    """Each piece a bank turned on its seller: bank, seller, the debtor before, the amount
    turned, the date (the turned piece fell due that day) and what the seller still owes."""
    turned = []
    for p in trace_pieces(trace):
        for entry in p.get("history", []):
            if isinstance(entry, dict) and entry.get("action") == "recourse":
                turned.append(
                    {
                        "piece": str(p["id"]),
                        "bank": str(entry.get("holder", "")),
                        "seller": str(entry.get("seller", "")),
                        "from": str(entry.get("from", "")),
                        "amount": int(entry.get("amount", 0) or 0),
                        "date": str(p.get("due_date", "")),
                        "was_due": entry.get("was_due"),
                        "outstanding": int(p.get("outstanding", 0) or 0),
                        "status": str(p.get("status", "")),
                        "height": int(entry.get("height", 0) or 0),
                        "tx": str(entry.get("tx", "")),
                    }
                )
    return turned


def dispute(trace: Any) -> dict[str, Any] | None:
    """The invoice's latest dispute for the banner: who, why, proposals pending, and once
    settled each piece's share of the reduction."""
    record = trace.get("dispute") if isinstance(trace, dict) else None
    if not isinstance(record, dict):
        return None
    opened = _first_step(trace, "dispute") or {}
    proposals = record.get("proposals") or {}
    parties = {"creditor": trace.get("creditor"), "debtor": trace.get("debtor")}
    shares = [
        {"piece": s["piece"], "holder": s.get("holder"), "reduction": s.get("reduction", 0)}
        for s in steps_with_balances(trace)
        if s.get("action") == "dispute_settled" and s.get("height") == record.get("settled_height")
    ]
    return {
        **record,
        "by": opened.get("by", trace.get("debtor")),
        "open": record.get("status") == "open",
        "pending": [
            {"party": party, "org": parties[party], "reduction": proposals.get(party)}
            for party in ("creditor", "debtor")
        ],
        "shares": shares,
    }


def heights_to_date(trace: Any) -> list[int]:
    """Blocks whose time the page states: the dispute's opening and settlement, the default."""
    heights = set()
    record = trace.get("dispute") if isinstance(trace, dict) else None
    if isinstance(record, dict):
        dated = (record.get("opened_height"), record.get("settled_height"))
        heights |= {int(h) for h in dated if h}
    defaulted = _first_step(trace, "default")
    if defaulted:
        heights.add(int(defaulted.get("height", 0) or 0))
    return sorted(h for h in heights if h > 0)
