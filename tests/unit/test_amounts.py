"""Amounts as people write them, to and from integer minor units."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.amounts import format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "decimals", "minor"),
    [
        ("1,000,000.00", 2, 100_000_000),
        ("1000000", 2, 100_000_000),
        ("0.5", 2, 50),
        ("0.05", 2, 5),
        ("12", 0, 12),
        ("1.5", 3, 1500),
        ("1.005", 3, 1005),
        ("  7.10 ", 2, 710),
        ("1_000", 2, 100_000),
        ("123,456", 2, 12_345_600),
    ],
)
def test_parse(text: str, decimals: int, minor: int) -> None:
    assert parse_amount(text, decimals) == minor


@pytest.mark.parametrize(
    ("text", "decimals", "words"),
    [
        ("1.234", 2, "more than 2 decimals"),
        ("5.0", 0, "more than 0 decimals"),
        ("0", 2, "positive"),
        ("0.00", 2, "positive"),
        ("-1", 2, "not an amount"),
        ("1,00", 2, "not an amount"),
        ("1,0000", 2, "not an amount"),
        (".5", 2, "not an amount"),
        ("1.", 2, "not an amount"),
        ("1e3", 2, "not an amount"),
        ("abc", 2, "not an amount"),
        ("", 2, "not an amount"),
        ("1.2.3", 2, "not an amount"),
    ],
)
def test_parse_refuses_with_a_reason(text: str, decimals: int, words: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_amount(text, decimals)
    assert words in str(error.value)


@pytest.mark.parametrize("text", ["١٢", "１００"])
def test_only_ascii_digits_are_amounts(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, 2)


@pytest.mark.parametrize(
    ("minor", "decimals", "code", "text"),
    [
        (100_000_000, 2, "CNY", "1,000,000.00 CNY"),
        (5, 2, "EUR", "0.05 EUR"),
        (-5, 2, "", "-0.05"),
        (0, 2, "", "0.00"),
        (1234, 0, "JPY", "1,234 JPY"),
        (1500, 3, "KWD", "1.500 KWD"),
    ],
)
def test_format(minor: int, decimals: int, code: str, text: str) -> None:
    assert format_amount(minor, decimals, code) == text


@given(st.integers(min_value=1, max_value=2**63), st.integers(min_value=0, max_value=4))
def test_property_format_then_parse_is_identity(minor: int, decimals: int) -> None:
    assert parse_amount(format_amount(minor, decimals), decimals) == minor
