"""The one range every amount and running sum in a contract keeps: ±(2^63 − 1) minor units.

Why here and not in the codec: a block's writes are encoded only after all its txs ran, so a
sum that left the codec's integer range (ledger/codec.py: −2^63 to 2^64 − 1) failed the whole
block instead of the tx that made it, and one tx could stop block building on every replica.
So each contract checks a sum where it computes it, with `add`, `subtract` or `checked`, and the
tx that would overflow fails with AMOUNT_OVERFLOW and changes nothing.

The bound is the signed 64-bit range on both sides, tighter than the codec's: a net position
(negative for a net debtor) and a balance obey one rule, and anything a contract stores is
itself a valid `amount` argument, so it can be paid, transferred or redeemed again.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.errors import ensure

MAX_AMOUNT = 2**63 - 1
OVERFLOW = "AMOUNT_OVERFLOW"


def checked(value: int, what: str) -> int:
    """`value`, or fail AMOUNT_OVERFLOW naming `what` (e.g. "the CNY balance of acme-steel")."""
    ensure(
        -MAX_AMOUNT <= value <= MAX_AMOUNT,
        OVERFLOW,
        f"{what} would pass the largest amount a ledger sum holds",
        {"value": value, "limit": MAX_AMOUNT},
    )
    return value


def add(total: int, value: int, what: str) -> int:
    """`total + value`, checked."""
    return checked(total + value, what)


def subtract(total: int, value: int, what: str) -> int:
    """`total - value`, checked."""
    return checked(total - value, what)


def checked_sum(values: Iterable[int], what: str) -> int:
    """The sum of `values`, every partial sum checked (so no intermediate leaves the range)."""
    total = 0
    for value in values:
        total = add(total, value, what)
    return total
