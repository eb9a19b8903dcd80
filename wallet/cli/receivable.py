"""`tally receivable ...`: issue, confirm, pass on, sell, repay and trace invoices from a shell.

A receivable is named by its piece id (64 hex) or by its invoice number (narrowed with
--creditor/--debtor when the number is not unique). Amounts are written as people write them
("1,000,000.00") and converted with the currency's decimals from the node.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli.common import Session, client_options
from wallet.cli.receivable_text import render_piece, render_trace
from wallet.documents import DocumentVault

_ID = re.compile(r"^[0-9a-f]{64}$")
_RATE = re.compile(r"^(\d+(?:\.\d{1,2})?)%$")


def _narrowing(command: Any) -> Any:
    command = click.option("--debtor", help="Debtor, when naming an invoice by number.")(command)
    return click.option("--creditor", help="Creditor, when naming an invoice by number.")(command)


def resolve(session: Session, ref: str, creditor: str | None, debtor: str | None) -> str:
    """A piece id as given, or the root id of the one invoice numbered `ref`."""
    if _ID.match(ref):
        return ref
    query = {"invoice": ref, **({"creditor": creditor} if creditor else {})}
    if debtor:
        query["debtor"] = debtor
    items = session.client.get("/v1/receivables?" + urllib.parse.urlencode(query))["items"]
    if len(items) > 1 and session.as_org:  # prefer the signer's own invoices
        items = [i for i in items if session.as_org in (i["creditor"], i["debtor"])] or items
    if not items:
        raise TallyError("NOT_FOUND", f"no invoice {ref!r}")
    if len(items) > 1:
        parties = ", ".join(f"{i['creditor']}→{i['debtor']}" for i in items)
        raise TallyError("AMBIGUOUS", f"{ref} names several invoices ({parties}): add --creditor")
    return str(items[0]["id"])


def _piece(session: Session, piece_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = session.client.get(f"/v1/receivables/{piece_id}")
    return answer


def _call(session: Session, method: str, args: dict[str, Any], done: str) -> dict[str, Any]:
    receipt = session.client.call(session.signer(), "receivables", method, args)
    answer = {"tx": receipt["tx"], "height": receipt["height"], "result": receipt["result"]}
    session.output(answer, done)
    return answer


def _money(session: Session, minor: int, code: str) -> str:
    return session.format_amount(minor, code)


# -- commands ---------------------------------------------------------------------------------


@click.group("receivable")
def receivable() -> None:
    """Supply-chain finance: invoices as receivables."""


@receivable.command("issue")
@click.option("--invoice", "invoice_no", required=True, help="Invoice number, e.g. INV-1001.")
@click.option("--debtor", required=True, help="The buyer who owes it (an enterprise).")
@click.option("--amount", required=True, help='Face amount as written, e.g. "1,000,000.00".')
@click.option("--currency", required=True, help="ISO 4217 code, e.g. CNY.")
@click.option("--issue-date", help="YYYY-MM-DD (default: today, UTC).")
@click.option("--due-date", help="YYYY-MM-DD.")
@click.option("--days", type=int, help="Due this many days after the issue date.")
@click.option("--doc", type=click.Path(exists=True, dir_okay=False), help="Invoice document.")
@click.option("--doc-hash", help="SHA-256 of the invoice document (64 hex).")
@click.option(
    "--document",
    type=click.Path(exists=True, dir_okay=False),
    help="Invoice document to keep encrypted beside the chain (its hash goes on the ledger; "
    "you and the debtor can read it).",
)
@click.option("--grace-days", type=int, help="Days after the due date before it may default.")
@client_options()
def issue_command(
    session: Session,
    invoice_no: str,
    debtor: str,
    amount: str,
    currency: str,
    issue_date: str | None,
    due_date: str | None,
    days: int | None,
    doc: str | None,
    doc_hash: str | None,
    document: str | None,
    grace_days: int | None,
) -> None:
    """Issue an invoice you are owed as a receivable (you are the creditor)."""
    issued = (
        issue_date
        or datetime.fromtimestamp(session.client.clock_ms() / 1000, UTC).date().isoformat()
    )
    if due_date is None:
        if days is None:
            raise TallyError("BAD_ARGUMENT", "give --due-date or --days")
        due_date = (date.fromisoformat(issued) + timedelta(days=days)).isoformat()
    if document is not None and (doc or doc_hash):
        raise TallyError("BAD_ARGUMENT", "--document takes the place of --doc and --doc-hash")
    if doc is not None:
        digest = hashlib.sha256(Path(doc).read_bytes()).digest()
    elif doc_hash is not None:
        if not _ID.match(doc_hash):
            raise TallyError("BAD_ARGUMENT", "--doc-hash is 64 lowercase hex characters")
        digest = bytes.fromhex(doc_hash)
    else:  # no document at hand: commit to the invoice's own terms instead
        digest = hashlib.sha256(f"{invoice_no}|{debtor}|{amount}|{currency}".encode()).digest()
    args = {
        "invoice_no": invoice_no,
        "debtor": debtor,
        "amount": session.parse_amount(amount, currency),
        "currency": currency,
        "issue_date": issued,
        "due_date": due_date,
        "doc_hash": digest,
        **({} if grace_days is None else {"grace_days": grace_days}),
    }
    if document is not None:
        vault = DocumentVault(session.client, session.signer())
        out = vault.issue_with_document(Path(document).read_bytes(), args)
        note = f", document {out['doc_hash'][:16]}… sealed for {vault.org} and {debtor}"
        session.output(out, f"issued {invoice_no}: receivable {out['id']}{note}")
        return
    answer = session.client.call(session.signer(), "receivables", "issue", args)
    piece_id = answer["result"]["id"]
    out = {"id": piece_id, "tx": answer["tx"], "height": answer["height"]}
    session.output(out, f"issued {invoice_no}: receivable {piece_id}")


@receivable.command("accept")
@click.argument("ref")
@_narrowing
@client_options()
def accept_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """Confirm, as the debtor, that you owe an invoice."""
    piece_id = resolve(session, ref, creditor, debtor)
    _call(session, "accept", {"id": piece_id}, f"accepted {ref}")


@receivable.command("reject")
@click.argument("ref")
@click.option("--reason", required=True)
@_narrowing
@client_options()
def reject_command(
    session: Session, ref: str, reason: str, creditor: str | None, debtor: str | None
) -> None:
    """Refuse, as the debtor, an invoice issued to you (before accepting it)."""
    piece_id = resolve(session, ref, creditor, debtor)
    _call(session, "reject", {"id": piece_id, "reason": reason}, f"rejected {ref}")


@receivable.command("transfer")
@click.argument("ref")
@click.option("--to", "to", required=True, help="Organization receiving the piece.")
@click.option("--amount", help="Part to pass on (default: the whole piece).")
@_narrowing
@client_options()
def transfer_command(
    session: Session,
    ref: str,
    to: str,
    amount: str | None,
    creditor: str | None,
    debtor: str | None,
) -> None:
    """Pay someone with all or part of a piece you hold."""
    piece = _piece(session, resolve(session, ref, creditor, debtor))
    minor = piece["amount"] if amount is None else session.parse_amount(amount, piece["currency"])
    args = {"id": piece["id"], "to": to, "amount": minor}
    answer = _call_quiet(session, "transfer", args)
    text = f"{_money(session, minor, piece['currency'])} to {to}: piece {answer['result']['id']}"
    session.output({**answer, "id": answer["result"]["id"]}, text)


def _call_quiet(session: Session, method: str, args: dict[str, Any]) -> dict[str, Any]:
    receipt = session.client.call(session.signer(), "receivables", method, args)
    return {"tx": receipt["tx"], "height": receipt["height"], "result": receipt["result"]}


def _rate_bps(rate: str) -> int:
    match = _RATE.match(rate.strip())
    if match:
        whole, _, fraction = match.group(1).partition(".")
        return int(whole) * 100 + int(fraction.ljust(2, "0") or "0")
    if rate.strip().isdigit():
        return int(rate.strip())
    raise TallyError("BAD_ARGUMENT", f"rate {rate!r}: write 6% or 600 (basis points)")


@receivable.command("offer")
@click.argument("ref")
@click.option("--rate", required=True, help="Discount rate a year (act/360): 6% or 600 (bps).")
@click.option("--expires-in", default=60, show_default=True, help="Minutes the offer stands.")
@click.option(
    "--with-recourse", is_flag=True, help="After a default, turn the piece on its seller."
)
@_narrowing
@client_options()
def offer_command(
    session: Session,
    ref: str,
    rate: str,
    expires_in: int,
    with_recourse: bool,
    creditor: str | None,
    debtor: str | None,
) -> None:
    """Offer, as a bank, to buy a piece at a discount, with recourse on the seller or not."""
    piece_id = resolve(session, ref, creditor, debtor)
    expires_ms = session.client.clock_ms() + expires_in * 60_000
    args: dict[str, Any] = {"id": piece_id, "rate_bps": _rate_bps(rate), "expires_ms": expires_ms}
    if with_recourse:
        args["with_recourse"] = True
    answer = _call_quiet(session, "offer_financing", args)
    offer_id = answer["result"]["id"]
    session.output({**answer, "id": offer_id}, f"offer {offer_id} on piece {piece_id}")


@receivable.command("finance")
@click.argument("offer")
@client_options()
def finance_command(session: Session, offer: str) -> None:
    """Sell the piece you hold to the bank that made OFFER; its cash arrives in the same tx."""
    if not _ID.match(offer):
        raise TallyError("BAD_ARGUMENT", "OFFER is the offer id (64 hex) printed by `offer`")
    terms = session.client.get(f"/v1/receivables/offers/{offer}")
    answer = _call_quiet(session, "accept_financing", {"offer": offer})
    currency = _piece(session, terms["piece"])["currency"]
    paid = _money(session, answer["result"]["price"], currency)
    session.output(answer, f"sold to {terms['bank']} for {paid}")


@receivable.command("overdue")
@click.argument("ref")
@_narrowing
@client_options()
def overdue_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """Mark an invoice past its due date overdue (a holder, the debtor or a bank)."""
    piece_id = resolve(session, ref, creditor, debtor)
    _call(session, "mark_overdue", {"id": piece_id}, f"marked {ref} overdue")


@receivable.command("show")
@click.argument("ref")
@_narrowing
@client_options(signing=False)
def show_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """One piece: holder, amount, status and its history."""
    piece = _piece(session, resolve(session, ref, creditor, debtor))
    session.output(piece, lambda p: render_piece(session, p))


@receivable.command("trace")
@click.argument("ref")
@_narrowing
@client_options(signing=False)
def trace_command(session: Session, ref: str, creditor: str | None, debtor: str | None) -> None:
    """The invoice's whole tree, with the transaction behind every step."""
    piece_id = resolve(session, ref, creditor, debtor)
    trace = session.client.get(f"/v1/receivables/{piece_id}/trace")
    session.output(trace, lambda t: render_trace(session, t))


@receivable.command("list")
@click.option("--holder")
@click.option("--debtor")
@click.option("--creditor")
@click.option("--after", help="Cursor: the last id of the previous page.")
@click.option("--limit", type=int, default=50, show_default=True)
@client_options(signing=False)
def list_command(
    session: Session,
    holder: str | None,
    debtor: str | None,
    creditor: str | None,
    after: str | None,
    limit: int,
) -> None:
    """Pieces an organization holds, or invoices it owes or issued."""
    query = {k: v for k, v in (("holder", holder), ("debtor", debtor), ("creditor", creditor)) if v}
    if len(query) != 1:
        raise TallyError("BAD_ARGUMENT", "give one of --holder, --debtor, --creditor")
    query["limit"] = str(limit)
    if after:
        query["after"] = after
    page = session.client.get("/v1/receivables?" + urllib.parse.urlencode(query))

    def human(answer: dict[str, Any]) -> str:
        lines = [
            f"{i['id'][:10]}  {i['invoice_no']:<12} {i['holder']:<12} "
            f"{_money(session, i['amount'], i['currency']):>20}  {i['status']:<9} "
            f"due {i['due_date']}"
            for i in answer["items"]
        ]
        if answer["next"]:
            lines.append(f"more: --after {answer['next']}")
        return "\n".join(lines) or "none"

    session.output(page, human)


COMMANDS = [receivable]
