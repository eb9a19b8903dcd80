"""Bank statements: one bank's accounts in one currency over one business day (UTC).

What a bank's reconciliation team books (camt.053/camt.054, contracts/exports/camt.py): the
bank's own deposit-token account and, when it issues the currency, each customer account it
services (an organization that is not a bank, whose agent in that currency it is, as in the
pacs.008 export), with the booked balance at the opening and close and one entry per movement.

Everything is derived from the committed chain through `ChainStore` reads: the day's first and
last heights by a binary search over header times (O(log height) header reads), the balances at
those heights from the state tree's versions (`state_at`), the movements from the receipts of
the day's blocks (contracts/statement_movements.py). A day is read in pages of whole blocks, at
most `MAX_PAGE_ENTRIES` entries or `MAX_PAGE_BLOCKS` blocks each, so a busy day costs a bounded
amount per request; each page is a statement of its own range (opening + entries = closing,
interim balances between pages), continued from the cursor `next` (the last height it read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from contracts.exports.iso20022 import Directory
from contracts.queries import StateReader, directory
from contracts.statement_movements import Movement, legs_of, movements_of_leg
from ledger.chain import ChainTip
from ledger.errors import TallyError
from ledger.state_keys import balance_key
from ledger.types import Header, Receipt

DAY_MS = 86_400_000
MAX_PAGE_ENTRIES = 1000
MAX_PAGE_BLOCKS = 5000


class StatementError(TallyError):
    """A statement that cannot be given: a bad day, history this node no longer holds, or
    entries that do not account for the change of a balance (a fault of the read model)."""


class HistoryReader(StateReader, Protocol):
    """Committed blocks, receipts and the state tree's versions (ledger.chain.ChainStore)."""

    def tip(self) -> ChainTip: ...
    def header(self, height: int) -> Header | None: ...
    def receipts(self, height: int) -> list[Receipt]: ...
    def state_at(self, key: str, height: int) -> Any: ...


@dataclass(frozen=True, slots=True)
class AccountStatement:
    """One account over the page's range: balances at both ends and what moved between."""

    owner: str
    opening: int
    closing: int
    movements: tuple[Movement, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "opening": self.opening,
            "closing": self.closing,
            "entries": [movement.to_json() for movement in self.movements],
        }


@dataclass(frozen=True, slots=True)
class Statement:
    """A bank's accounts in a currency over (a page of) one day: after block `opening_height`
    up to and including block `closing_height`."""

    bank: str
    currency: str
    date: str
    opening_height: int
    closing_height: int
    first_page: bool  # the opening balances are the day's opening
    next: int | None  # the cursor of the next page; None on the day's last page
    day_over: bool  # a block after the day exists: its closing balances are final
    created_ms: int
    accounts: tuple[AccountStatement, ...]

    @property
    def last_page(self) -> bool:
        return self.next is None

    def to_json(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "currency": self.currency,
            "date": self.date,
            "opening_height": self.opening_height,
            "closing_height": self.closing_height,
            "first_page": self.first_page,
            "next": self.next,
            "final": self.day_over and self.last_page,
            "accounts": [account.to_json() for account in self.accounts],
        }


def day_start_ms(day: str) -> int:
    """Midnight UTC of an ISO date, in ms; BAD_DATE unless it is exactly YYYY-MM-DD."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        parsed = None
    if parsed is None or parsed.isoformat() != day:
        raise StatementError("BAD_DATE", f"{day!r} is not a date (YYYY-MM-DD)")
    return int(datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC).timestamp() * 1000)


def _time_of(chain: HistoryReader, height: int) -> int:
    header = chain.header(height)
    if header is None:
        raise StatementError(
            "HISTORY_ABSENT",
            f"this node holds no block {height} (restored from a snapshot above it); "
            "ask a node that keeps the whole history",
        )
    return header.time_ms


def last_height_before(chain: HistoryReader, time_ms: int, tip: int) -> int:
    """The highest block whose time is before `time_ms` (0, the genesis, if none): block
    times never decrease, so a binary search reads O(log tip) headers.

    A node restored from a snapshot holds no header below it; such a block counts as before
    (its time is at most the snapshot block's), and if the answer is one of them the day
    begins in history this node does not hold: HISTORY_ABSENT."""
    low, high = 0, tip  # invariant: block `low` is before time_ms (0 always counts)
    while low < high:
        middle = (low + high + 1) // 2
        header = chain.header(middle)
        if header is None or header.time_ms < time_ms:
            low = middle
        else:
            high = middle - 1
    if low > 0:
        _time_of(chain, low)  # HISTORY_ABSENT unless this node holds it
    return low


def serviced_accounts(found: Directory, bank: str, code: str) -> list[str]:
    """The bank's own account, then each customer account it services in `code` (by id)."""
    customers = [
        org_id
        for org_id, record in sorted(found.orgs.items())
        if record.get("kind") != "bank" and found.agent_of(org_id, code) == bank
    ]
    return [bank, *customers]


def statement_banks(found: Directory, payment: dict[str, Any]) -> list[tuple[str, str]]:
    """(bank, currency) of every statement a payment's legs appear on: the agent of each
    leg's payer and payee in the leg's currency, in the order met."""
    banks: list[tuple[str, str]] = []
    for leg in payment.get("legs") or []:
        code = str(leg["currency"])
        for org_id in (leg["from"], leg["to"]):
            entry = (found.agent_of(str(org_id), code), code)
            if entry not in banks:
                banks.append(entry)
    return banks


def _balance(chain: HistoryReader, code: str, org: str, height: int) -> int:
    try:
        return int(chain.state_at(balance_key(code, org), height) or 0)
    except TallyError as error:
        if error.code == "STATE_HEIGHT_PRUNED":
            raise StatementError("STATE_PRUNED", error.message) from None
        if error.code == "STATE_HEIGHT_UNKNOWN":  # below the snapshot this node started from
            raise StatementError("HISTORY_ABSENT", error.message) from None
        raise


def _page_movements(
    chain: HistoryReader, accounts: set[str], code: str, first: int, last: int
) -> tuple[list[Movement], int]:
    """The movements of `accounts` in blocks `first`..`last`, whole blocks until a page is
    full; and the last height read."""
    found: list[Movement] = []
    height = first - 1
    while height < last and len(found) < MAX_PAGE_ENTRIES and height - first < MAX_PAGE_BLOCKS:
        height += 1
        time_ms = _time_of(chain, height)
        for receipt in chain.receipts(height):
            if receipt.status != "ok":
                continue
            where = (receipt.tx.hex(), height, receipt.index, time_ms)
            for event in receipt.events:
                for leg in legs_of(dict(event), chain):
                    if leg.currency != code:
                        continue
                    found.extend(m for m in movements_of_leg(leg, where) if m.account in accounts)
    return found, height


def statement(
    chain: HistoryReader, bank: str, code: str, day: str, after: int | None = None
) -> Statement:
    """The statement page of `bank` in `code` on `day` that starts after block `after` (None:
    the day's first page). NOT_FOUND for an unknown bank or currency, BAD_DATE for a day not
    begun at the tip."""
    found = directory(chain)
    if found.orgs.get(bank, {}).get("kind") != "bank":
        raise StatementError("NOT_FOUND", f"no bank {bank}")
    if code not in found.currencies:
        raise StatementError("NOT_FOUND", f"no currency {code}")
    start = day_start_ms(day)
    tip = chain.tip()
    if start > tip.time_ms:
        raise StatementError("BAD_DATE", f"{day} has not begun on this chain (tip {tip.height})")
    day_open = last_height_before(chain, start, tip.height)
    day_close = last_height_before(chain, start + DAY_MS, tip.height)
    opening = day_open if after is None else after
    if not day_open <= opening <= day_close:
        raise StatementError("BAD_CURSOR", f"cursor {after} is not a height within {day}")
    names = serviced_accounts(found, bank, code)
    movements, closing = _page_movements(chain, set(names), code, opening + 1, day_close)
    accounts = _accounts(chain, names, code, opening, closing, movements)
    day_over = day_close < tip.height or tip.time_ms >= start + DAY_MS
    return Statement(
        bank=bank,
        currency=code,
        date=day,
        opening_height=opening,
        closing_height=closing,
        first_page=after is None,
        next=None if closing >= day_close else closing,
        day_over=day_over,
        created_ms=tip.time_ms,
        accounts=accounts,
    )


def _accounts(
    chain: HistoryReader,
    names: list[str],
    code: str,
    opening: int,
    closing: int,
    movements: list[Movement],
) -> tuple[AccountStatement, ...]:
    """Each account with balances at both heights; a customer with neither a balance nor an
    entry is left out, the bank's own account never. Refuses entries that do not add up."""
    shown = []
    for index, owner in enumerate(names):
        own = tuple(m for m in movements if m.account == owner)
        before = _balance(chain, code, owner, opening)
        after = _balance(chain, code, owner, closing)
        change = sum(m.amount if m.credit else -m.amount for m in own)
        if before + change != after:
            raise StatementError(
                "STATEMENT_UNBALANCED",
                f"{owner}'s {code} balance went from {before} to {after} between heights "
                f"{opening} and {closing}, its entries sum to {change}: a movement the "
                "statement read model does not know (contracts/statement_movements.py)",
            )
        if index == 0 or own or before or after:
            shown.append(AccountStatement(owner, before, after, own))
    return tuple(shown)
