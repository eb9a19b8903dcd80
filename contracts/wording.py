"""Amounts and times as a clerk reads them: the one formatter of contract messages.

A receipt's message is read by people, so `holds 20000100 CNY, needs 9999999900` and `expired at
1796151449288` (issue 12, finding 5) become `holds 200,001.00 CNY, needs 99,999,999.00 CNY` and
`expired at 2026-12-01T18:57:29.288Z`: an amount with its currency's decimals from the registry,
a time as a UTC ISO 8601 date-time. The raw values travel beside the message, in the error's
`details` (contracts/errors.py), for scripts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.registry import currency_key
from contracts.runtime import Context


def decimal_amount(minor: int, decimals: int, group: str = "") -> str:
    """Minor units as a decimal: (12345, 2) -> '123.45', (5, 3) -> '0.005', (5, 0) -> '5';
    `group` separates thousands ('1,234.50'), the ISO 20022 export uses none."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    digits = f"{whole:,}".replace(",", group)
    return sign + (f"{digits}.{fraction:0{decimals}d}" if decimals else digits)


def money(ctx: Context, currency: str, minor: int) -> str:
    """`minor` units of `currency` as people write it: '200,001.00 CNY', '1,234,567 JPY'."""
    record = ctx.get(currency_key(currency))
    if record is None:  # not a currency of this chain: say what the number is
        return f"{minor} minor units of {currency}"
    return f"{decimal_amount(minor, int(record['decimals']), ',')} {currency}"


def moment(time_ms: int) -> str:
    """Block-time milliseconds as a UTC date-time: 1796151449288 -> '2026-12-01T18:57:29.288Z'."""
    seconds, millis = divmod(time_ms, 1000)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{millis:03d}Z"
