"""The financing price: price = amount - floor(amount × rate_bps × days / 3,600,000)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contracts.receivables_pricing import days_to_maturity, discount, price

amounts = st.integers(1, 10**15)
rates = st.integers(0, 10_000)
days = st.integers(0, 3_650)


def test_story_price_is_floored_in_the_sellers_favour() -> None:
    # 200,000.00 CNY, 6 %, 80 days: 266,666.67 discount floors to 266,666.
    assert discount(20_000_000, 600, 80) == 266_666
    assert price(20_000_000, 600, 80) == 19_733_334


def test_edge_cases() -> None:
    assert price(1_000, 600, 0) == 1_000  # due today: no discount
    assert price(1_000, 0, 90) == 1_000  # zero rate
    assert discount(1, 10_000, 359) == 0  # below one minor unit: floors to 0
    assert discount(3_600_000, 1, 1) == 1  # exactly one minor unit
    assert discount(3_599_999, 1, 1) == 0
    assert discount(100, 10_000, 360) == 100  # 100 % for a year: everything
    assert discount(100, 10_000, 720) == 100  # capped at the amount
    assert price(100, 10_000, 720) == 0


def test_days_are_whole_calendar_days_and_never_negative() -> None:
    assert days_to_maturity("2026-01-01", "2026-04-01") == 90
    assert days_to_maturity("2028-02-28", "2028-03-01") == 2  # leap year
    assert days_to_maturity("2026-04-01", "2026-04-01") == 0
    assert days_to_maturity("2026-05-01", "2026-04-01") == 0


@given(amounts, rates, days)
def test_price_is_between_zero_and_the_amount(amount: int, rate: int, day_count: int) -> None:
    assert 0 <= price(amount, rate, day_count) <= amount
    assert discount(amount, rate, day_count) == min(amount, amount * rate * day_count // 3_600_000)


@given(amounts, rates, days)
def test_longer_or_dearer_never_pays_more(amount: int, rate: int, day_count: int) -> None:
    assert price(amount, rate, day_count + 1) <= price(amount, rate, day_count)
    assert price(amount, min(rate + 1, 10_000), day_count) <= price(amount, rate, day_count)
