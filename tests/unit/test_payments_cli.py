"""The pure parts of the payments CLI: rates as people write them, and the FX base amount."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from contracts.fx import base_for_credit
from ledger.errors import TallyError
from node.cli import tally
from wallet.cli.governance import parse_value
from wallet.cli.rates import base_needed, format_rate, parse_rate


def test_rates_parse_exactly() -> None:
    assert parse_rate("0.12820513") == 12_820_513
    assert parse_rate("7.8") == 780_000_000
    assert parse_rate("162") == 16_200_000_000
    assert format_rate(12_820_513) == "0.12820513"
    for bad in ("0.123456789", "-1", "abc", "0"):
        with pytest.raises(TallyError):
            parse_rate(bad)


@given(
    st.integers(1, 10**12),
    st.integers(1, 10**13),
    st.sampled_from([0, 2, 3]),
    st.sampled_from([0, 2, 3]),
)
def test_cli_base_amount_matches_the_contract_rule(
    credit: int, rate: int, base_dec: int, quote_dec: int
) -> None:
    assert base_needed(credit, rate, base_dec, quote_dec) == base_for_credit(
        credit, rate, base_dec, quote_dec
    )


def test_param_values() -> None:
    assert parse_value("true") is True
    assert parse_value("null") is None
    assert parse_value("500") == 500
    assert parse_value("fuel-co") == "fuel-co"


def test_groups_are_mounted() -> None:
    result = CliRunner().invoke(tally, ["--help"])
    for name in ("pay", "payment", "fx", "netting", "cash", "governance"):
        assert f"  {name} " in result.output
