"""The index's reading of events into balance movements, its exports, and its database URLs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from explorer.index import export
from explorer.index.db import IndexDbError, connect
from explorer.index.money import Move, movements
from explorer.index.queries import BadFilter, day_ms


def _cny(_: str) -> str:
    return "CNY"


def test_a_transfer_is_two_movements_that_sum_to_nothing() -> None:
    event = {"contract": "cash", "type": "transferred", "currency": "EUR", "payer": "bank-a",
             "to": "bank-b", "amount": 250, "memo": ""}  # fmt: skip
    assert movements(event, None, _cny) == [
        Move("bank-a", "EUR", -250, "bank-b", "transferred"),
        Move("bank-b", "EUR", 250, "bank-a", "transferred"),
    ]


def test_a_pvp_payment_moves_both_legs_through_the_dealer() -> None:
    event = {"contract": "payments", "type": "payment_fx", "id": "p", "payer": "acme-steel",
             "payee": "rhein-parts", "dealer": "bank-c", "quote": "q", "base": "CNY",
             "base_amount": 39_000_000, "credit_currency": "EUR", "credit": 5_000_000,
             "rate": 1}  # fmt: skip
    moved = movements(event, None, _cny)
    assert [(m.org, m.currency, m.amount) for m in moved] == [
        ("acme-steel", "CNY", -39_000_000), ("bank-c", "CNY", 39_000_000),
        ("bank-c", "EUR", -5_000_000), ("rhein-parts", "EUR", 5_000_000),
    ]  # fmt: skip


def test_a_repayment_pays_each_holder_and_holds_a_sanctioned_ones_share() -> None:
    event = {"contract": "receivables", "type": "receivable_repaid", "id": "root",
             "debtor": "bigauto", "total": 100, "paid": {"acme-steel": 70}, "held": {"fuel-co": 30},
             "outstanding": 0, "pieces": {"a": 70, "b": 30}}  # fmt: skip
    moved = movements(event, {}, _cny)
    assert sum(m.amount for m in moved if m.org == "bigauto") == -100
    assert Move("bigauto", "CNY", -30, "hold:fuel-co", "repayment_held") in moved
    assert not any(m.org == "fuel-co" for m in moved)  # nothing reaches a sanctioned holder


def test_a_netting_settlement_moves_each_net_position_from_the_receipts_result() -> None:
    event = {"contract": "netting", "type": "window_settled", "id": "w", "currency": "EUR",
             "gross": 650_000, "net": 200_000}  # fmt: skip
    result = {"positions": {"bank-a": -200_000, "bank-b": 50_000, "bank-c": 150_000, "x": 0}}
    moved = movements(event, result, _cny)
    assert [(m.org, m.amount) for m in moved] == [
        ("bank-a", -200_000), ("bank-b", 50_000), ("bank-c", 150_000),
    ]  # fmt: skip
    assert sum(m.amount for m in moved) == 0


def test_mint_and_burn_and_self_transfers() -> None:
    issued = {"contract": "cash", "type": "issued", "currency": "JPY", "to": "a", "amount": 5}
    burnt = {"contract": "cash", "type": "redeemed", "currency": "JPY", "org": "a", "amount": 2}
    to_self = {"contract": "cash", "type": "transferred", "currency": "JPY", "payer": "a",
               "to": "a", "amount": 9}  # fmt: skip
    assert movements(issued, None, _cny) == [Move("a", "JPY", 5, "mint", "issued")]
    assert movements(burnt, None, _cny) == [Move("a", "JPY", -2, "burn", "redeemed")]
    assert movements(to_self, None, _cny) == []


@pytest.mark.parametrize(
    ("minor", "decimals", "text"),
    [(123456, 2, "1234.56"), (-5, 2, "-0.05"), (7, 0, "7"), (1_000_001, 3, "1000.001")],
)
def test_decimal_amounts_use_the_currencys_decimals(minor: int, decimals: int, text: str) -> None:
    assert export.decimal_text(minor, decimals) == text


def _records_then_fault() -> Iterator[dict[str, Any]]:
    yield dict.fromkeys(export.TX_FIELDS, "x")
    raise RuntimeError("the export read past the first row before writing it")


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_an_export_writes_each_row_before_reading_the_next(fmt: str) -> None:
    lines = export.lines(_records_then_fault(), export.TX_FIELDS, fmt)
    first = next(lines)
    assert "x" in first
    with pytest.raises(RuntimeError):
        next(lines)


def test_bad_database_urls_and_dates_have_codes() -> None:
    for url in ("mysql://x/y", "sqlite://", "nonsense"):
        with pytest.raises(IndexDbError) as error:
            connect(url)
        assert error.value.code == "BAD_DB_URL"
    with pytest.raises(BadFilter) as bad:
        day_ms("2026-02-30")
    assert bad.value.code == "BAD_DATE"
    assert day_ms("1970-01-02") == 86_400_000 == day_ms("1970-01-01", end=True)
