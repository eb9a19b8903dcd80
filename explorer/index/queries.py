"""Reading the index: filtered transaction and movement lists, cursor-paged, and statements.

Filters become parameterised WHERE clauses on indexed columns; pages are keyed by position
(height, index), never by offset, so a page deep in the chain costs what the first one does.
Dates are UTC days compared with block time; `until` is inclusive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from explorer.index.db import Database, Row
from ledger.errors import TallyError

MAX_PAGE = 500

TX_COLUMNS = (
    "height, idx, time_ms, id, contract, method, sender, recipient, currency, amount, status, "
    "error_code"
)
MOVEMENT_COLUMNS = (
    "m.height, m.idx, m.pos, m.time_ms, m.tx, t.contract, t.method, m.org, m.counterparty, "
    "m.currency, m.amount, m.balance, m.kind, t.status, t.error_code"
)


class BadFilter(TallyError):
    """A filter that cannot be read (a date that is no day, a negative height)."""


def day_ms(day: str, *, end: bool = False) -> int:
    """Block-time milliseconds at the start of `day` (the next day's start when `end`)."""
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise BadFilter("BAD_DATE", f"{day!r} is not a date YYYY-MM-DD") from None
    if end:
        parsed += timedelta(days=1)
    return int(datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class TxFilter:
    org: str = ""  # as sender or recipient
    contract: str = ""
    method: str = ""
    status: str = ""
    currency: str = ""
    from_height: int | None = None
    to_height: int | None = None
    since: str = ""  # YYYY-MM-DD
    until: str = ""
    after: tuple[int, int] | None = None  # the (height, idx) a page continues after


def _range(clauses: list[str], params: list[Any], prefix: str, f: TxFilter) -> None:
    if f.from_height is not None:
        clauses.append(f"{prefix}height >= ?")
        params.append(f.from_height)
    if f.to_height is not None:
        clauses.append(f"{prefix}height <= ?")
        params.append(f.to_height)
    if f.since:
        clauses.append(f"{prefix}time_ms >= ?")
        params.append(day_ms(f.since))
    if f.until:
        clauses.append(f"{prefix}time_ms < ?")
        params.append(day_ms(f.until, end=True))
    if f.after is not None:
        clauses.append(f"({prefix}height > ? OR ({prefix}height = ? AND {prefix}idx > ?))")
        params += [f.after[0], f.after[0], f.after[1]]


def _tx_where(f: TxFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.org:
        clauses.append("(sender = ? OR recipient = ?)")
        params += [f.org, f.org]
    for column in ("contract", "method", "status", "currency"):
        value = getattr(f, column)
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    _range(clauses, params, "", f)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def txs(db: Database, f: TxFilter, limit: int | None = 50) -> Iterator[Row]:
    """Transactions matching `f` in chain order; `limit=None` streams them all (exports)."""
    where, params = _tx_where(f)
    sql = f"SELECT {TX_COLUMNS} FROM txs{where} ORDER BY height, idx"
    if limit is not None:
        sql += f" LIMIT {max(1, min(int(limit), MAX_PAGE))}"
    return db.stream(sql, params)


def _movement_where(f: TxFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if f.org:
        clauses.append("m.org = ?")
        params.append(f.org)
    if f.currency:
        clauses.append("m.currency = ?")
        params.append(f.currency)
    for column in ("contract", "method"):
        value = getattr(f, column)
        if value:
            clauses.append(f"t.{column} = ?")
            params.append(value)
    _range(clauses, params, "m.", f)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def movements(db: Database, f: TxFilter, limit: int | None = 50) -> Iterator[Row]:
    """Balance movements matching `f` (one row per side), in chain order."""
    where, params = _movement_where(f)
    sql = (
        f"SELECT {MOVEMENT_COLUMNS} FROM movements m JOIN txs t ON t.id = m.tx{where} "
        "ORDER BY m.height, m.idx, m.pos"
    )
    if limit is not None:
        sql += f" LIMIT {max(1, min(int(limit), MAX_PAGE))}"
    return db.stream(sql, params)


@dataclass(frozen=True, slots=True)
class Statement:
    """One organization's account in one currency over a period (whole chain by default)."""

    org: str
    currency: str
    since: str
    until: str
    opening: int
    closing: int
    count: int


def _balance_before(db: Database, org: str, currency: str, start_ms: int | None) -> int:
    if start_ms is None:
        return 0
    row = db.one(
        "SELECT balance FROM movements WHERE org = ? AND currency = ? AND time_ms < ? "
        "ORDER BY height DESC, idx DESC, pos DESC LIMIT 1",
        (org, currency, start_ms),
    )
    return int(row[0]) if row else 0


def statement(db: Database, org: str, currency: str, since: str = "", until: str = "") -> Statement:
    """Opening balance, number of movements and closing balance of `org` in `currency`."""
    if not org or not currency:
        raise BadFilter("BAD_FILTER", "a statement needs an organization and a currency")
    start = day_ms(since) if since else None
    end = day_ms(until, end=True) if until else None
    opening = _balance_before(db, org, currency, start)
    clauses = "org = ? AND currency = ?"
    params: list[Any] = [org, currency]
    if start is not None:
        clauses += " AND time_ms >= ?"
        params.append(start)
    if end is not None:
        clauses += " AND time_ms < ?"
        params.append(end)
    count_row = db.one(f"SELECT COUNT(*) FROM movements WHERE {clauses}", params)
    last = db.one(
        f"SELECT balance FROM movements WHERE {clauses} "
        "ORDER BY height DESC, idx DESC, pos DESC LIMIT 1",
        params,
    )
    closing = int(last[0]) if last else opening
    count = int(count_row[0]) if count_row else 0
    return Statement(org, currency, since, until, opening, closing, count)


def statement_filter(org: str, currency: str, since: str = "", until: str = "") -> TxFilter:
    """The movement filter whose rows a statement lists."""
    return TxFilter(org=org, currency=currency, since=since, until=until)


def decimals(db: Database) -> dict[str, int]:
    """Each currency's decimals, as the indexed genesis has them."""
    row = db.one("SELECT value FROM index_meta WHERE name = 'decimals'")
    return {str(k): int(v) for k, v in json.loads(row[0]).items()} if row else {}


def status(db: Database) -> dict[str, Any]:
    """Where the index stands and what it holds."""
    meta = {str(n): str(v) for n, v in db.all("SELECT name, value FROM index_meta")}
    counts = {
        table: int((db.one(f"SELECT COUNT(*) FROM {table}") or (0,))[0])
        for table in ("blocks", "txs", "events", "movements", "pieces", "payments")
    }
    return {"chain": meta.get("chain"), "height": int(meta.get("height", 0)), **counts}


def quotes(db: Database, limit: int = MAX_PAGE) -> list[Row]:
    """FX quotes, newest first: id, height, tx, dealer, base, quote, rate, max, used, expiry,
    status."""
    return db.all(
        "SELECT id, height, tx, dealer, base, quote, rate, max_base, used, expires_ms, status "
        f"FROM fx_quotes ORDER BY height DESC, id LIMIT {int(limit)}"
    )


def windows(db: Database, limit: int = MAX_PAGE) -> list[tuple[Row, list[Row]]]:
    """Netting windows, newest first, each with its obligations (payer, payee, amount, ref, tx)."""
    found = db.all(
        "SELECT id, height, tx, currency, participants, status, gross, net, positions, "
        f"settled_height FROM netting_windows ORDER BY height DESC, id LIMIT {int(limit)}"
    )
    return [
        (window, db.all(
            "SELECT payer, payee, amount, ref, tx, height FROM netting_obligations "
            "WHERE window_id = ? ORDER BY height, idx, pos", (window[0],)))
        for window in found
    ]  # fmt: skip


def proposals(db: Database, limit: int = MAX_PAGE) -> list[tuple[Row, list[Row]]]:
    """Governance proposals, newest first, each with its approvals (org, height, tx)."""
    found = db.all(
        "SELECT id, height, tx, action, params, proposer, status, decided_height FROM proposals "
        f"ORDER BY height DESC, id LIMIT {int(limit)}"
    )
    return [
        (proposal, db.all(
            "SELECT org, height, tx FROM proposal_approvals WHERE proposal = ? "
            "ORDER BY height, org", (proposal[0],)))
        for proposal in found
    ]  # fmt: skip


def currencies(db: Database) -> list[dict[str, Any]]:
    """Per currency: what each issuer minted and what was burnt (from the movements), the
    supply outstanding, and how many organizations hold some."""
    minted = db.all(
        "SELECT m.currency, t.sender, SUM(m.amount) FROM movements m JOIN txs t ON t.id = m.tx "
        "WHERE m.counterparty = 'mint' GROUP BY m.currency, t.sender"
    )
    burnt: dict[Any, Any] = dict(db.all(
        "SELECT currency, SUM(amount) FROM movements WHERE counterparty = 'burn' GROUP BY currency"
    ))  # fmt: skip
    holders: dict[Any, Any] = dict(db.all(
        "SELECT currency, COUNT(*) FROM balances WHERE balance > 0 GROUP BY currency"
    ))  # fmt: skip
    table: dict[str, dict[str, Any]] = {}
    for code in decimals(db):
        table[code] = {"code": code, "issued": {}, "burnt": -int(burnt.get(code, 0) or 0),
                       "holders": int(holders.get(code, 0) or 0)}  # fmt: skip
    for code, issuer, amount in minted:
        entry = table.setdefault(code, {"code": code, "issued": {}, "burnt": 0, "holders": 0})
        entry["issued"][str(issuer)] = int(amount)
    for entry in table.values():
        entry["supply"] = sum(entry["issued"].values()) - entry["burnt"]
    return list(table.values())
