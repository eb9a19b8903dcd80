"""Receivables as text for `tally receivable show|trace`: the family tree, each piece's steps
with the tx behind them, and a repayment held for a sanctioned holder, with why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wallet.cli.common import Session


def _money(session: Session, minor: int, code: str) -> str:
    return session.format_amount(minor, code)


def _piece_line(session: Session, piece: dict[str, Any], currency: str) -> str:
    amount = _money(session, piece["amount"], currency)
    line = f"{piece['id'][:10]}  {piece['holder']:<12} {amount:>20}  {piece['status']}"
    financing = piece.get("financing")
    if financing:
        paid = _money(session, financing["price"], currency)
        line += (
            f"  financed by {financing['bank']} ({financing['rate_bps']} bps, "
            f"paid {paid} to {financing['seller']})"
        )
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


def _step_text(step: dict[str, Any]) -> str:
    extra = ""
    if step["action"] in ("transfer", "split_from"):
        extra = f" from {step.get('from')}"
    elif step["action"] == "split":
        extra = f" → {step.get('to')} ({step.get('child', '')[:10]})"
    elif step["action"] == "reject":
        extra = f": {step.get('reason', '')}"
    elif step["action"] == "repay_held":
        extra = f": paid by the debtor into a hold, not to the holder ({step.get('reason', '')})"
    elif step["action"] == "hold_released":
        extra = ": the held repayment paid to the holder"
    return f"{step['action']}{extra}  tx {step['tx'][:16]}… @{step['height']}"


def render_trace(session: Session, trace: dict[str, Any]) -> str:
    """The family as a box-drawing tree, each piece with the steps (and txs) that shaped it."""
    currency = trace["currency"]
    by_id = {p["id"]: p for p in trace["pieces"]}
    totals = trace["totals"]
    lines = [
        f"{trace['invoice_no']}  {trace['creditor']} → {trace['debtor']}  "
        f"{_money(session, trace['face'], currency)}  issued {trace['issue_date']}  "
        f"due {trace['due_date']}  {trace['status']}",
        f"outstanding {_money(session, totals['outstanding'], currency)}, "
        f"settled {_money(session, totals['settled'], currency)}, "
        f"pieces add up to {_money(session, totals['pieces'], currency)}",
    ]
    if totals.get("held"):
        lines.append(
            f"blocked: {_money(session, totals['held'], currency)} of the repayment is held "
            "for sanctioned holders"
        )

    def walk(piece_id: str, prefix: str, last: bool) -> None:
        piece = by_id[piece_id]
        lines.append(prefix + ("└─ " if last else "├─ ") + _piece_line(session, piece, currency))
        inner = prefix + ("   " if last else "│  ")
        children = piece["children"]
        held = _hold_line(session, piece, currency)
        if held:
            lines.append(inner + ("│    " if children else "     ") + held)
        for step in piece["history"]:
            lines.append(inner + ("│    " if children else "     ") + _step_text(step))
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
    lines = [
        f"{piece['invoice_no']}  {piece['creditor']} → {piece['debtor']}  piece {piece['id']}",
        f"  holder {piece['holder']}  amount {amount} of {face}  status {piece['status']}",
        f"  due {piece['due_date']}  parent {piece['parent'] or '-'}  root {piece['root']}",
        *[f"  {_step_text(step)}" for step in piece["history"]],
    ]
    held = _hold_line(session, piece, piece["currency"])
    if held:
        lines.append("  " + held)
    return "\n".join(lines)
