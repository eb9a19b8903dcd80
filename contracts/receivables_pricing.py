"""What a bank pays for a receivable: face minus simple interest, act/360, rounded in its favour.

    days     = max(0, due_date - block_date)               (whole calendar days)
    discount = floor(amount * rate_bps * days / (10000 * 360))
    price    = amount - discount

Integers only, so every replica computes the same price; the floor keeps the discount a whole
minor unit and never overstates it (the seller gets the rounding).
"""

from __future__ import annotations

from datetime import date

DAY_COUNT_BASIS = 360
BPS = 10_000


def days_to_maturity(today: str, due_date: str) -> int:
    """Whole days from the block's date to the due date; 0 on or after it."""
    return max(0, (date.fromisoformat(due_date) - date.fromisoformat(today)).days)


def discount(amount: int, rate_bps: int, days: int) -> int:
    """floor(amount × rate_bps × days / (10000 × 360)), capped at `amount`."""
    return min(amount, amount * rate_bps * days // (BPS * DAY_COUNT_BASIS))


def price(amount: int, rate_bps: int, days: int) -> int:
    """The cash a bank pays now for `amount` due in `days` at `rate_bps` a year."""
    return amount - discount(amount, rate_bps, days)
