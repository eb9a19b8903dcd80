"""CSV and JSON lines of filtered transaction and movement lists and of statements, streamed.

Each line is produced from one row of a streamed query and written at once, so an export of a
long chain never sits in memory whole. The columns are the ones an auditor reconciles on:
height, time, tx id, method, from, to, currency, amount in decimal and in minor units, status,
error code (movements and statements add the running balance).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from explorer.index.db import Row

TX_FIELDS = (
    "height",
    "time",
    "tx_id",
    "method",
    "from",
    "to",
    "currency",
    "amount",
    "amount_minor",
    "status",
    "error_code",
)
MOVEMENT_FIELDS = (*TX_FIELDS, "balance", "balance_minor")
FORMATS = ("csv", "jsonl")


def decimal_text(minor: int, decimals: int) -> str:
    """Minor units as a plain decimal: 123456 with 2 decimals is "1234.56" (no separators)."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    return f"{sign}{whole}" + (f".{fraction:0{decimals}d}" if decimals else "")


def iso_time(time_ms: int) -> str:
    moment = datetime.fromtimestamp(time_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time_ms % 1000:03d}Z"


def _amount(minor: Any, currency: str, decimals: dict[str, int]) -> tuple[str, Any]:
    if not isinstance(minor, int) or currency not in decimals:
        return "", "" if minor is None else minor
    return decimal_text(minor, decimals[currency]), minor


def tx_record(row: Row, decimals: dict[str, int]) -> dict[str, Any]:
    """A row of queries.txs as export fields."""
    height, _idx, time_ms, tx_id, contract, method, sender, to, currency, amount, status, code = row
    shown, minor = _amount(amount, currency, decimals)
    values = (
        height,
        iso_time(time_ms),
        tx_id,
        f"{contract}.{method}",
        sender,
        to,
        currency,
        shown,
        minor,
        status,
        code,
    )
    return dict(zip(TX_FIELDS, values, strict=True))


def movement_record(row: Row, decimals: dict[str, int]) -> dict[str, Any]:
    """A row of queries.movements as export fields: `from` pays, `to` receives."""
    (
        height,
        _idx,
        _pos,
        time_ms,
        tx_id,
        contract,
        method,
        org,
        counterparty,
        currency,
        amount,
        balance,
        _kind,
        status,
        code,
    ) = row
    payer, payee = (org, counterparty) if amount < 0 else (counterparty, org)
    shown, minor = _amount(abs(amount), currency, decimals)
    balance_shown, balance_minor = _amount(balance, currency, decimals)
    values = (
        height,
        iso_time(time_ms),
        tx_id,
        f"{contract}.{method}",
        payer,
        payee,
        currency,
        shown,
        minor,
        status,
        code,
        balance_shown,
        balance_minor,
    )
    return dict(zip(MOVEMENT_FIELDS, values, strict=True))


def lines(records: Iterable[dict[str, Any]], fields: tuple[str, ...], fmt: str) -> Iterator[str]:
    """The export's text, a line at a time: a CSV header then rows, or one JSON object a line."""
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record, sort_keys=False, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
