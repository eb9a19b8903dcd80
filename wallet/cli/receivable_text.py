"""Receivables as text for `tally receivable show|trace`: the family tree, each piece's steps
with the tx behind them, what is still owed on each, a repayment held for a sanctioned holder
with why, a piece turned back on its seller by recourse, and a dispute's freeze."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wallet.cli.common import Session


def _money(session: Session, minor: int, code: str) -> str:
    return session.format_amount(minor, code)


def _piece_line(session: Session, piece: dict[str, Any], currency: str) -> str:
    amount = _money(session, piece["amount"], currency)
    line = f"{piece['id'][:10]}  {piece['holder']:<12} {amount:>20}  {piece['status']}"
    owed = piece.get("outstanding")
    if owed is not None and owed not in (0, piece["amount"]):
        line += f", {_money(session, owed, currency)} still owed"
    financing = piece.get("financing")
    if financing:
        paid = _money(session, financing["price"], currency)
        terms = "with recourse, " if financing.get("with_recourse") else ""
        line += (
            f"  financed by {financing['bank']} ({terms}{financing['rate_bps']} bps, "
            f"paid {paid} to {financing['seller']})"
        )
    if piece.get("recourse_from"):
        line += f"  RECOURSE: owed by {piece['debtor']} (was {piece['recourse_from']})"
    return line


def _utc(time_ms: Any) -> str:
    """A block time as people read it; a node that does not say gives no time."""
    if not isinstance(time_ms, int):
        return "(time not given by the node)"
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _hold_line(session: Session, piece: dict[str, Any], currency: str) -> str | None:
    """A repayment held for a sanctioned holder: for whom, why and since when; or its release."""
    hold = piece.get("hold")
    if not hold:
        return None
    amount = _money(session, hold["amount"], currency)
    holder, since = hold["holder"], _utc(hold.get("held_time_ms"))
    if hold["status"] == "held":
        return (
            f"REPAYMENT BLOCKED: {amount} held for {holder} since {since}: {holder} was "
            f"sanctioned when {hold['debtor']} repaid ({hold['reason']}); paid to {holder} when "
            f"governance lifts the sanction  tx {hold['held_tx'][:16]}… @{hold['held_height']}"
        )
    return (
        f"repayment of {amount} held for {holder} since {since} ({hold['reason']}), "
        f"released to {holder} on {_utc(hold.get('released_time_ms'))} when the sanction was "
        f"lifted  tx {str(hold['released_tx'])[:16]}… @{hold['released_height']}"
    )


def _step_detail(session: Session, step: dict[str, Any], currency: str) -> str:
    """What a step adds to its action's name, amounts in the currency's units."""
    action = step["action"]

    def money(name: str) -> str:
        return _money(session, int(step.get(name, 0)), currency)

    if action in ("transfer", "split_from"):
        return f" from {step.get('from')}"
    if action == "split":
        return f" → {step.get('to')} ({step.get('child', '')[:10]})"
    if action in ("reject", "dispute"):
        return f": {step.get('reason', '')}"
    if action == "finance" and step.get("with_recourse"):
        return " with recourse"
    if action == "repay":
        return f": {money('paid')} paid to the holder"
    if action == "repay_held":
        return f": {money('held')} paid into a hold, not to the holder ({step.get('reason', '')})"
    if action == "hold_released":
        return f": the held {money('paid')} paid to the holder"
    if action in ("overdue", "default"):
        return f" (by {step.get('by')})"
    if action == "recourse":
        return f": {step.get('seller')} owes {money('amount')} instead of {step.get('from')}"
    if action == "dispute_settled":
        return f": the piece shrank by {money('reduction')}"
    return ""


def _step_text(session: Session, step: dict[str, Any], currency: str) -> str:
    detail = _step_detail(session, step, currency)
    return f"{step['action']}{detail}  tx {step['tx'][:16]}… @{step['height']}"


def _header(session: Session, trace: dict[str, Any]) -> list[str]:
    """The invoice, what is owed on it, and whatever blocks it (a hold, a dispute)."""
    currency = trace["currency"]
    totals = trace["totals"]
    lines = [
        f"{trace['invoice_no']}  {trace['creditor']} → {trace['debtor']}  "
        f"{_money(session, trace['face'], currency)}  issued {trace['issue_date']}  "
        f"due {trace['due_date']}  {trace['status']}",
        f"outstanding {_money(session, totals['outstanding'], currency)}, "
        f"repaid {_money(session, totals.get('repaid', 0), currency)}, "
        f"settled {_money(session, totals['settled'], currency)}, "
        f"pieces add up to {_money(session, totals['pieces'], currency)}",
    ]
    if "grace_days" in trace:
        lines.append(
            f"grace {trace['grace_days']} days: may be declared defaulted after "
            f"{trace['last_grace_day']}"
        )
    if totals.get("reduced"):
        lines.append(f"reduced by {_money(session, totals['reduced'], currency)} in disputes")
    dispute = trace.get("dispute")
    if trace.get("frozen") and dispute:
        lines.append(
            f"FROZEN: disputed by {trace['debtor']} ({dispute['reason']}); nothing moves until "
            f"creditor and debtor settle  tx {dispute['opened_tx'][:16]}… "
            f"@{dispute['opened_height']}"
        )
    if totals.get("held"):
        lines.append(
            f"blocked: {_money(session, totals['held'], currency)} of the repayment is held "
            "for sanctioned holders"
        )
    return lines


def render_trace(session: Session, trace: dict[str, Any]) -> str:
    """The family as a box-drawing tree, each piece with the steps (and txs) that shaped it."""
    currency = trace["currency"]
    by_id = {p["id"]: p for p in trace["pieces"]}
    lines = _header(session, trace)

    def walk(piece_id: str, prefix: str, last: bool) -> None:
        piece = by_id[piece_id]
        lines.append(prefix + ("└─ " if last else "├─ ") + _piece_line(session, piece, currency))
        inner = prefix + ("   " if last else "│  ")
        children = piece["children"]
        held = _hold_line(session, piece, currency)
        if held:
            lines.append(inner + ("│    " if children else "     ") + held)
        for step in piece["history"]:
            text = _step_text(session, step, currency)
            lines.append(inner + ("│    " if children else "     ") + text)
        for offer in piece.get("offers", []):
            text = f"offer {offer['id'][:10]} by {offer['bank']} {offer['rate_bps']} bps "
            text += f"[{offer['status']}]  tx {offer['tx'][:16]}… @{offer['height']}"
            lines.append(inner + ("│    " if children else "     ") + text)
        for index, child in enumerate(children):
            walk(child, inner, index == len(children) - 1)

    walk(trace["root"], "", True)
    return "\n".join(lines)


def render_piece(session: Session, piece: dict[str, Any]) -> str:
    """One piece: parties, holder, amount and status, its steps, and a held repayment."""
    amount = _money(session, piece["amount"], piece["currency"])
    face = _money(session, piece["face"], piece["currency"])
    owed = piece.get("outstanding")
    owed = None if owed is None else _money(session, owed, piece["currency"])
    lines = [
        f"{piece['invoice_no']}  {piece['creditor']} → {piece['debtor']}  piece {piece['id']}",
        f"  holder {piece['holder']}  amount {amount} of {face}  status {piece['status']}"
        + (f"  still owed {owed}" if owed is not None else ""),
        f"  due {piece['due_date']}  parent {piece['parent'] or '-'}  root {piece['root']}",
        *[f"  {_step_text(session, step, piece['currency'])}" for step in piece["history"]],
    ]
    held = _hold_line(session, piece, piece["currency"])
    if held:
        lines.append("  " + held)
    return "\n".join(lines)
