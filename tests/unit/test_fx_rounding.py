"""The FX rounding rule, to the minor unit, across 0-, 2- and 3-decimal currencies.

credit_minor = floor(base_minor × rate × 10^quote_decimals / (10^8 × 10^base_decimals))
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.fx import base_for_credit, convert
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS, fx_args


@pytest.mark.parametrize(
    ("base_minor", "rate", "base_dec", "quote_dec", "credit"),
    [
        # 1,000.00 EUR at 162.35 JPY/EUR -> 162,350 JPY (0 decimals)
        (100_000, 16_235_000_000, 2, 0, 162_350),
        # 0.01 EUR at 162.35 -> 1.6235 JPY -> 1 JPY (floor)
        (1, 16_235_000_000, 2, 0, 1),
        # 10,000 JPY at 0.00615953 EUR/JPY -> 61.5953 EUR -> 61.59 EUR
        (10_000, 615_953, 0, 2, 6_159),
        # 1.000 KWD at 3.25412345 USD/KWD -> 3.25412345 USD -> 3.25 USD
        (1_000, 325_412_345, 3, 2, 325),
        # 123.456 KWD at 486.12345678 JPY/KWD -> 60,014.25... JPY -> 60,014 JPY
        (123_456, 48_612_345_678, 3, 0, 60_014),
        # 100.00 USD at 0.30730000 KWD/USD -> 30.730 KWD (3 decimals, exact)
        (10_000, 30_730_000, 2, 3, 30_730),
        # 0.07 USD at 0.30730000 -> 0.021511 KWD -> 0.021 KWD
        (7, 30_730_000, 2, 3, 21),
        # 1 JPY at 0.00205432 KWD/JPY -> 0.00205432 KWD -> 0.002 KWD
        (1, 205_432, 0, 3, 2),
    ],
)
def test_credit_is_floored_to_the_quote_minor_unit(
    base_minor: int, rate: int, base_dec: int, quote_dec: int, credit: int
) -> None:
    assert convert(base_minor, rate, base_dec, quote_dec) == credit


@given(
    base_minor=st.integers(1, 10**15),
    rate=st.integers(1, 10**13),
    base_dec=st.sampled_from([0, 2, 3]),
    quote_dec=st.sampled_from([0, 2, 3]),
)
def test_convert_equals_exact_rational_floor(
    base_minor: int, rate: int, base_dec: int, quote_dec: int
) -> None:
    exact = Fraction(base_minor, 10**base_dec) * Fraction(rate, 10**8) * 10**quote_dec
    assert convert(base_minor, rate, base_dec, quote_dec) == exact.numerator // exact.denominator


@given(
    credit=st.integers(1, 10**12),
    rate=st.integers(1, 10**13),
    base_dec=st.sampled_from([0, 2, 3]),
    quote_dec=st.sampled_from([0, 2, 3]),
)
def test_base_for_credit_is_the_smallest_base_that_pays_the_credit(
    credit: int, rate: int, base_dec: int, quote_dec: int
) -> None:
    base = base_for_credit(credit, rate, base_dec, quote_dec)
    assert convert(base, rate, base_dec, quote_dec) >= credit
    assert base == 1 or convert(base - 1, rate, base_dec, quote_dec) < credit


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def test_jpy_to_kwd_payment_credits_the_floored_amount(chain: ContractChain) -> None:
    """0-decimal base, 3-decimal quote, on chain: 123,457 JPY at 0.00205432 -> 253.620 KWD."""
    chain.fund("acme-steel", "JPY", 1_000_000)
    chain.fund("bank-d", "KWD", 1_000_000)
    quote = chain.call(
        "bank-d",
        "fx",
        "quote",
        {
            "base": "JPY",
            "quote": "KWD",
            "rate": 205_432,
            "max_base": 500_000,
            "expires_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    result = chain.call("acme-steel", "payments", "send_fx", fx_args(quote, 123_457))
    # 123,457 × 0.00205432 = 253.62018... KWD -> 253.620 KWD = 253,620 fils
    assert result["credit"] == 253_620
    assert chain.balance("KWD", "rhein-parts") == 253_620
    assert chain.balance("KWD", "bank-d") == 1_000_000 - 253_620
    assert chain.balance("JPY", "bank-d") == 123_457
    assert chain.balance("JPY", "acme-steel") == 1_000_000 - 123_457


def test_a_conversion_that_rounds_to_zero_is_refused(chain: ContractChain) -> None:
    chain.fund("acme-steel", "JPY", 1_000)
    chain.fund("bank-d", "KWD", 1_000)
    quote = chain.call(
        "bank-d",
        "fx",
        "quote",
        {
            "base": "JPY",
            "quote": "KWD",
            "rate": 205_432,
            "max_base": 500_000,
            "expires_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    receipt = chain.submit("acme-steel", "payments", "send_fx", fx_args(quote, 1))
    # 1 JPY × 0.00205432 = 0.00205 KWD -> 2 fils; at 0.0001 KWD/JPY it would be 0.1 fils -> 0
    assert receipt.status == "ok"
    tiny = chain.call(
        "bank-d",
        "fx",
        "quote",
        {
            "base": "JPY",
            "quote": "KWD",
            "rate": 10_000,
            "max_base": 500_000,
            "expires_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    receipt = chain.submit("acme-steel", "payments", "send_fx", fx_args(tiny, 1, end_to_end_id="Z"))
    assert receipt.error is not None and receipt.error.code == "AMOUNT_TOO_SMALL"
    assert chain.balance("JPY", "acme-steel") == 999
