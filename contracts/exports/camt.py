"""Bank statements as camt.053.001.08 and their movements as camt.054.001.08 notifications.

Pure functions of a `contracts.statements.Statement`. Each account of the statement is one
`Stmt`: the account (its owner's Tallychain id under the scheme "TALLY", serviced by the bank),
the opening booked balance (OPBD; ITBD when the page continues an earlier one), the closing
booked balance (CLBD once the day is over and this is its last page, else ITBD), and one booked
`Ntry` per movement. An entry's account servicer's reference is the ledger tx id in the form
the pacs.008 gives as `TxId` (`short_id`: the id itself does not fit Max35Text), with the whole
id in `AddtlNtryInf`; its transaction details carry the end-to-end id and UETR of the payment or
netting leg it books, when there is one, so a statement line matches its pacs.008/pacs.009.
A camt.054 carries one `Ntfctn` per movement, with the same entry.
"""

from __future__ import annotations

from lxml import etree

from contracts.exports.iso20022 import (
    SCHEME,
    Builder,
    Directory,
    format_amount,
    iso_datetime,
    serialize,
    short_id,
)
from contracts.statement_movements import Movement
from contracts.statements import DAY_MS, AccountStatement, Statement, day_start_ms

CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CAMT054_NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def _balance(b: Builder, stmt: etree._Element, kind: str, minor: int, day: str, d: Directory,
             code: str) -> None:  # fmt: skip
    balance = b.el(stmt, "Bal")
    b.el(b.el(b.el(balance, "Tp"), "CdOrPrtry"), "Cd", kind)
    b.el(balance, "Amt", format_amount(abs(minor), d.decimals(code)), Ccy=code)
    b.el(balance, "CdtDbtInd", "DBIT" if minor < 0 else "CRDT")
    b.el(b.el(balance, "Dt"), "Dt", day)


def _account(
    b: Builder, parent: etree._Element, owner: str, bank: str, code: str, d: Directory
) -> None:
    account = b.el(parent, "Acct")
    other = b.el(b.el(account, "Id"), "Othr")
    b.el(other, "Id", short_id(owner, 34))
    b.el(b.el(other, "SchmeNm"), "Prtry", SCHEME)
    b.el(account, "Ccy", code)
    b.party(account, "Ownr", owner, {}, d)
    b.agent(account, "Svcr", bank, d)


def _period(b: Builder, parent: etree._Element, day: str) -> None:
    start = day_start_ms(day)
    period = b.el(parent, "FrToDt")
    b.el(period, "FrDtTm", iso_datetime(start))
    b.el(period, "ToDtTm", iso_datetime(start + DAY_MS - 1))


def _entry(b: Builder, parent: etree._Element, movement: Movement, d: Directory) -> None:
    """One booked entry, in ReportEntry10's order."""
    code = movement.currency
    day = iso_datetime(movement.time_ms)[:10]
    direction = "CRDT" if movement.credit else "DBIT"
    entry = b.el(parent, "Ntry")
    b.el(entry, "Amt", format_amount(movement.amount, d.decimals(code)), Ccy=code)
    b.el(entry, "CdtDbtInd", direction)
    b.el(b.el(entry, "Sts"), "Cd", "BOOK")
    b.el(b.el(entry, "BookgDt"), "Dt", day)
    b.el(b.el(entry, "ValDt"), "Dt", day)
    b.el(entry, "AcctSvcrRef", short_id(movement.tx))
    proprietary = b.el(b.el(entry, "BkTxCd"), "Prtry")
    b.el(proprietary, "Cd", movement.kind.upper())
    b.el(proprietary, "Issr", SCHEME)
    details = b.el(b.el(entry, "NtryDtls"), "TxDtls")
    refs = b.el(details, "Refs")
    b.el(refs, "AcctSvcrRef", short_id(movement.tx))
    if movement.end_to_end_id:
        b.el(refs, "EndToEndId", short_id(movement.end_to_end_id))
    if movement.uetr:
        b.el(refs, "UETR", movement.uetr)
    b.el(refs, "TxId", short_id(movement.tx))
    b.el(details, "Amt", format_amount(movement.amount, d.decimals(code)), Ccy=code)
    b.el(details, "CdtDbtInd", direction)
    if movement.counterparty is not None:
        parties = b.el(details, "RltdPties")
        debtor, creditor = (
            (movement.counterparty, movement.account)
            if movement.credit
            else (movement.account, movement.counterparty)
        )
        b.party(b.el(parties, "Dbtr"), "Pty", debtor, {}, d)
        b.party(b.el(parties, "Cdtr"), "Pty", creditor, {}, d)
    where = f"height {movement.height}, index {movement.index}"
    b.el(entry, "AddtlNtryInf", f"Tallychain tx {movement.tx} ({where})")


def _statement_of(
    b: Builder, parent: etree._Element, statement: Statement, account: AccountStatement,
    d: Directory,
) -> None:  # fmt: skip
    stmt = b.el(parent, "Stmt")
    code = statement.currency
    b.el(stmt, "Id", _id(statement, account.owner))
    b.el(stmt, "CreDtTm", iso_datetime(statement.created_ms))
    _period(b, stmt, statement.date)
    _account(b, stmt, account.owner, statement.bank, code, d)
    opening = "OPBD" if statement.first_page else "ITBD"
    closing = "CLBD" if statement.last_page and statement.day_over else "ITBD"
    _balance(b, stmt, opening, account.opening, statement.date, d, code)
    _balance(b, stmt, closing, account.closing, statement.date, d, code)
    for movement in account.movements:
        _entry(b, stmt, movement, d)


def _id(statement: Statement, owner: str) -> str:
    return short_id(
        f"{statement.bank}-{statement.currency}-{statement.date}-{owner}-{statement.opening_height}"
    )


def _header(b: Builder, parent: etree._Element, prefix: str, statement: Statement) -> None:
    header = b.el(parent, "GrpHdr")
    b.el(header, "MsgId", _id(statement, prefix))
    b.el(header, "CreDtTm", iso_datetime(statement.created_ms))


def camt053(statement: Statement, directory: Directory) -> bytes:
    """A bank's statement (page) as one camt.053.001.08 message, one `Stmt` per account."""
    b = Builder(CAMT053_NS)
    root = etree.Element(f"{{{CAMT053_NS}}}Document", nsmap={None: CAMT053_NS})
    message = b.el(root, "BkToCstmrStmt")
    _header(b, message, "STMT", statement)
    for account in statement.accounts:
        _statement_of(b, message, statement, account, directory)
    return serialize(root)


class NoMovements(ValueError):
    """A camt.054 needs at least one notification: the page moved nothing."""


def camt054(statement: Statement, directory: Directory) -> bytes:
    """Each movement of a statement (page) as a debit/credit notification (camt.054.001.08);
    NoMovements when nothing moved (the schema wants at least one `Ntfctn`)."""
    movements = [m for account in statement.accounts for m in account.movements]
    if not movements:
        raise NoMovements(f"no movement on {statement.bank}'s accounts in {statement.currency}")
    b = Builder(CAMT054_NS)
    root = etree.Element(f"{{{CAMT054_NS}}}Document", nsmap={None: CAMT054_NS})
    message = b.el(root, "BkToCstmrDbtCdtNtfctn")
    _header(b, message, "NTFY", statement)
    for number, movement in enumerate(movements):
        notification = b.el(message, "Ntfctn")
        b.el(notification, "Id", short_id(f"{movement.tx}-{movement.account}-{number}"))
        b.el(notification, "CreDtTm", iso_datetime(movement.time_ms))
        _account(b, notification, movement.account, statement.bank, movement.currency, directory)
        _entry(b, notification, movement, directory)
    return serialize(root)
