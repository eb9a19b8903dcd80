"""`tally receivable repay|default|recourse|dispute|settle`: receivables when things go wrong.

Mounted on the `tally receivable` group of wallet/cli/receivable.py, whose naming of invoices
(piece id, or number with --creditor/--debtor) and amounts (the currency's decimals) these
follow. Calls go through the SDK (wallet/receivables.py).
"""

from __future__ import annotations

from typing import Any

import click

from wallet.cli.common import Session, client_options
from wallet.cli.receivable import _narrowing, _piece, receivable, resolve
from wallet.receivables import ReceivableCalls


def _calls(session: Session) -> ReceivableCalls:
    return ReceivableCalls(session.client, session.signer())


def _answer(receipt: dict[str, Any]) -> dict[str, Any]:
    return {"tx": receipt["tx"], "height": receipt["height"], "result": receipt["result"]}


def _debt_piece(session: Session, ref: str, creditor: str | None, debtor: str | None) -> Any:
    """The piece whose debt the signer repays: one turned back on the signer by recourse is
    repaid by its own id, an invoice by its first piece."""
    piece = _piece(session, resolve(session, ref, creditor, debtor))
    if piece.get("recourse_from") and piece["debtor"] == session.as_org:
        return piece
    return _piece(session, piece["root"])


@receivable.command("repay")
@click.argument("ref")
@click.option("--amount", help='Part to repay, e.g. "400,000.00" (default: all that is due).')
@_narrowing
@client_options()
def repay_command(
    session: Session, ref: str, amount: str | None, creditor: str | None, debtor: str | None
) -> None:
    """Repay, as the debtor, all or part of an invoice (shared pro rata among its pieces), or
    a piece turned back on you by recourse."""
    piece = _debt_piece(session, ref, creditor, debtor)
    currency = piece["currency"]
    minor = None if amount is None else session.parse_amount(amount, currency)
    receipt = _calls(session).repay(piece["id"], minor)
    result = receipt["result"]
    lines = [f"repaid {piece['invoice_no']}:"]
    lines += [
        f"  {org:<12} {session.format_amount(value, currency)}"
        for org, value in sorted(result["paid"].items())
    ]
    lines += [
        f"  {org:<12} {session.format_amount(value, currency)}  HELD: {org} is sanctioned"
        for org, value in sorted(result.get("held", {}).items())
    ]
    lines.append(f"still owed: {session.format_amount(result['outstanding'], currency)}")
    session.output(_answer(receipt), "\n".join(lines))


@receivable.command("default")
@click.argument("ref")
@_narrowing
@client_options()
def default_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """Declare, as a holder, an invoice (or a piece turned on its seller) defaulted, once its
    grace period is over."""
    piece_id = resolve(session, ref, creditor, debtor)
    receipt = _calls(session).declare_default(piece_id)
    session.output(_answer(receipt), f"declared {ref} defaulted")


@receivable.command("recourse")
@click.argument("ref")
@_narrowing
@client_options()
def recourse_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """Turn, as the bank that bought it with recourse, a defaulted piece on its seller."""
    piece = _piece(session, resolve(session, ref, creditor, debtor))
    receipt = _calls(session).recourse(piece["id"])
    result = receipt["result"]
    owed = session.format_amount(result["amount"], piece["currency"])
    text = (
        f"piece {piece['id'][:10]} turned on {result['debtor']} (was {piece['debtor']}): "
        f"{result['debtor']} owes {owed}, due at once"
    )
    session.output(_answer(receipt), text)


@receivable.command("dispute")
@click.argument("ref")
@click.option("--reason", required=True, help="Why the invoice is contested.")
@_narrowing
@client_options()
def dispute_command(
    session: Session, ref: str, reason: str, creditor: str | None, debtor: str | None
) -> None:
    """Dispute, as the debtor, an accepted invoice: nothing in it moves until it is settled."""
    piece_id = resolve(session, ref, creditor, debtor)
    receipt = _calls(session).dispute(piece_id, reason)
    session.output(_answer(receipt), f"disputed {ref}: frozen")


@receivable.command("settle")
@click.argument("ref")
@click.option("--reduction", default="0", show_default=True, help="Agreed cut of the face.")
@_narrowing
@client_options()
def settle_command(
    session: Session, ref: str, reduction: str, creditor: str | None, debtor: str | None
) -> None:
    """Settle, as creditor or debtor, a dispute with an agreed reduction; it applies once both
    have named the same one."""
    piece = _piece(session, resolve(session, ref, creditor, debtor))
    no_cut = set(reduction.strip()) <= set("0.,")  # "0", "0.00": no reduction, only agreement
    cut = 0 if no_cut else session.parse_amount(reduction, piece["currency"])
    receipt = _calls(session).settle_dispute(piece["id"], cut)
    shown = session.format_amount(cut, piece["currency"])
    if receipt["result"]["applied"]:
        text = f"dispute of {piece['invoice_no']} settled: face reduced by {shown}"
    else:
        text = f"proposed {shown} off {piece['invoice_no']}: waiting for the other party"
    session.output(_answer(receipt), text)


COMMANDS: list[click.Command] = []  # mounted on `tally receivable` by importing this module
