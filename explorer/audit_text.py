"""`tally audit trace` for people: what an organization holds, owes and paid, and an invoice's
pieces, with amounts in the currency's units (the `--json` answer keeps minor units).

Pure functions of the trace answer and the chain's currency decimals, so they are tested
without a node.
"""

from __future__ import annotations

from typing import Any

from wallet.amounts import format_amount

Decimals = dict[str, int]


def money(minor: Any, code: Any, decimals: Decimals) -> str:
    """`1,482,648.34 CNY`; a currency the chain does not list shows its minor units, said so."""
    if type(minor) is not int:
        return f"{minor} {code}"
    if code not in decimals:
        return f"{minor} {code} (minor units)"
    return format_amount(minor, decimals[str(code)], str(code))


def balances_text(balances: Any, decimals: Decimals) -> str:
    """`1,482,648.34 CNY, 10.00 EUR`, or `none`."""
    if not isinstance(balances, dict) or not balances:
        return "none"
    return ", ".join(money(value, code, decimals) for code, value in sorted(balances.items()))


def _receivable_line(item: dict[str, Any], decimals: Decimals) -> str:
    return (
        f"{item.get('invoice_no')}  {item.get('creditor')} → {item.get('debtor')}  "
        f"{money(item.get('amount'), item.get('currency'), decimals)}  [{item.get('status')}]  "
        f"due {item.get('due_date')}  piece {str(item.get('id'))[:12]}"
    )


def _payment_line(item: dict[str, Any], decimals: Decimals) -> str:
    amount = money(item.get("credit_amount"), item.get("credit_currency"), decimals)
    roles = ",".join(item.get("roles") or [])
    parties = f"{item.get('payer')} → {item.get('payee')}"
    return f"{str(item.get('id'))[:16]}  {roles:<9} {parties}  {amount}"


SECTIONS = (
    ("held", "receivables held", _receivable_line),
    ("owed", "receivables owed", _receivable_line),
    ("payments", "payments", _payment_line),
)


def org_text(result: dict[str, Any], decimals: Decimals) -> list[str]:
    """An organization's trace: who it is, its balances, then each section (or why the node
    would not show it)."""
    org = result.get("org") or {}
    lines = [
        f"{org.get('id')} ({org.get('name')}, {org.get('kind')})",
        f"  balances: {balances_text(org.get('balances'), decimals)}",
    ]
    for key, title, line in SECTIONS:
        items = result.get(key)
        if isinstance(items, dict):
            lines.append(f"  {title}: ({items.get('error')})")
            continue
        lines.append(f"  {title}: {len(items or [])}")
        lines.extend(f"    {line(item, decimals)}" for item in items or [])
    return lines


def trace_text(trace: dict[str, Any], decimals: Decimals) -> list[str]:
    """An invoice's pieces, each with the steps of its history."""
    currency = trace.get("currency")
    lines = [
        f"invoice {trace.get('invoice_no')}: {trace.get('creditor')} → {trace.get('debtor')}, "
        f"face {money(trace.get('face'), currency, decimals)}, {trace.get('status')}"
    ]
    for piece in trace.get("pieces", []):
        indent = "  " * (int(piece.get("depth", 0)) + 1)
        lines.append(
            f"{indent}piece {str(piece.get('id'))[:12]} held by {piece.get('holder')}: "
            f"{money(piece.get('amount'), currency, decimals)} [{piece.get('status')}]"
        )
        for step in piece.get("history", []):
            lines.append(
                f"{indent}  block {step.get('height'):>6}  {step.get('action'):<11} "
                f"→ {step.get('holder'):<12} tx {str(step.get('tx'))[:16]}"
            )
    return lines
