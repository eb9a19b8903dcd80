"""Rates as people write them, exactly: "0.12820513" is 12,820,513 ×10^-8, never a float.

Shared by `tally pay --fx`, `tally payment` and `tally fx`.
"""

from __future__ import annotations

import re

from ledger.errors import TallyError

RATE_SCALE = 10**8
_RATE = re.compile(r"^\d+(\.\d{1,8})?$")


def parse_rate(text: str) -> int:
    """'0.12820513' -> 12820513 (×10^8), exactly; more than 8 decimals is an error."""
    cleaned = text.strip().replace(",", "")
    if not _RATE.match(cleaned):
        raise TallyError("BAD_RATE", f"{text!r} is not a rate with at most 8 decimals")
    whole, _, fraction = cleaned.partition(".")
    rate = int(whole) * RATE_SCALE + int(fraction.ljust(8, "0") or "0")
    if rate <= 0:
        raise TallyError("BAD_RATE", "the rate must be positive")
    return rate


def format_rate(rate: int) -> str:
    whole, fraction = divmod(rate, RATE_SCALE)
    return f"{whole}.{fraction:08d}"


def base_needed(credit: int, rate: int, base_decimals: int, quote_decimals: int) -> int:
    """The smallest base amount whose floored conversion pays `credit` (see fx.convert)."""
    numerator: int = credit * RATE_SCALE * 10**base_decimals
    denominator: int = rate * 10**quote_decimals
    return -(-numerator // denominator)
