"""Money as people write it ("1,000,000.00") to and from integer minor units, per currency."""

from __future__ import annotations

import re

_UNDERSCORED = re.compile(r"^[0-9]{1,3}(_[0-9]{3})+(\.[0-9]+)?$")
_AMOUNT = re.compile(r"^[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?$|^[0-9]+(\.[0-9]+)?$")


def parse_amount(text: str, decimals: int) -> int:
    """'1,000,000.00' with 2 decimals -> 100000000; more decimals than the currency has is an
    error, never a silent rounding."""
    cleaned = text.strip()
    if _UNDERSCORED.match(cleaned):
        cleaned = cleaned.replace("_", "")
    if not _AMOUNT.match(cleaned):
        raise ValueError(f"{text!r} is not an amount (e.g. 1,000,000.00)")
    cleaned = cleaned.replace(",", "")
    whole, _, fraction = cleaned.partition(".")
    if len(fraction) > decimals:
        raise ValueError(f"{text!r} has more than {decimals} decimals")
    minor = int(whole) * int(10**decimals) + int((fraction or "0").ljust(decimals, "0") or "0")
    if minor <= 0:
        raise ValueError("amount must be positive")
    return minor


def format_amount(minor: int, decimals: int, code: str = "") -> str:
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**decimals)
    text = f"{sign}{whole:,}" + (f".{fraction:0{decimals}d}" if decimals else "")
    return f"{text} {code}".strip()
