"""Contract errors speak in people's units; the raw values ride along in `details` (issue 12,
finding 5: `bigauto holds 20000100 CNY, needs 9999999900`, `expired at 1796151449288`).

Each refusal goes through the executor and changes no state; its message shows amounts with the
currency's decimals and times as UTC date-times, never the raw numbers, which are in the
receipt's `details` instead — through the receipt's encoding and the API's JSON forms.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.amounts import MAX_AMOUNT
from contracts.errors import ContractError
from contracts.wording import decimal_amount, moment
from ledger import codec
from ledger.errors import DecodeError
from ledger.types import ErrorInfo, Receipt
from node.api.forms import error_json, receipt_json
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import MILLION, issue_accepted
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args

EXPIRES_MS = 1_796_151_449_288  # the finding's quote expiry ...
BLOCK_MS = 1_796_151_451_817  # ... and block time


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def refused(
    chain: ContractChain,
    code: str,
    org: str,
    call: str,
    args: dict[str, Any],
    role: str = "operator",
) -> ErrorInfo:
    """`call` fails with `code`, changes no state, and words no raw value of its details."""
    contract, method = call.split(".")
    before = chain.state_items()
    receipt = chain.submit(org, contract, method, args, role)
    assert receipt.status == "failed" and receipt.error is not None, call
    assert receipt.error.code == code, receipt.error
    assert chain.state_items() == before
    for name, raw in receipt.error.details.items():
        if isinstance(raw, int) and raw >= 1000:
            assert str(raw) not in receipt.error.message, (name, receipt.error.message)
    stored = chain.store.receipt(receipt.height, receipt.index)
    assert stored == receipt  # details are committed with the receipt, not only returned
    return receipt.error


# -- the formatter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "decimals", "shown"),
    [(20_000_100, 2, "200,001.00"), (9_999_999_900, 2, "99,999,999.00"), (5, 3, "0.005"),
     (1_234_567, 0, "1,234,567"), (12_345, 3, "12.345"), (-150, 2, "-1.50"), (0, 2, "0.00")],
)  # fmt: skip
def test_amounts_show_with_the_currency_decimals(minor: int, decimals: int, shown: str) -> None:
    assert decimal_amount(minor, decimals, ",") == shown
    assert decimal_amount(minor, decimals) == shown.replace(",", "")


def test_times_show_as_utc_iso_date_times() -> None:
    assert moment(EXPIRES_MS) == "2026-12-01T18:57:29.288Z"
    assert moment(BLOCK_MS) == "2026-12-01T18:57:31.817Z"
    assert moment(0) == "1970-01-01T00:00:00.000Z"


# -- the findings, through the executor -------------------------------------------------------


def test_insufficient_funds_says_what_is_held_and_needed_in_cny(chain: ContractChain) -> None:
    chain.fund("bigauto", "CNY", 20_000_100)
    args = {"currency": "CNY", "to": "acme-steel", "amount": 9_999_999_900}
    error = refused(chain, "INSUFFICIENT_FUNDS", "bigauto", "cash.transfer", args)
    assert error.message == "bigauto holds 200,001.00 CNY, needs 99,999,999.00 CNY"
    assert error.details == {"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900}


def test_an_expired_quote_says_when_in_utc(chain: ContractChain) -> None:
    chain.fund("acme-steel", "CNY", MILLION)
    chain.set_time(EXPIRES_MS - HOUR_MS)
    args = {"base": "CNY", "quote": "EUR", "rate": 12_820_513, "max_base": MILLION,
            "expires_ms": EXPIRES_MS}  # fmt: skip
    quote = chain.call("bank-c", "fx", "quote", args)["id"]
    chain.set_time(BLOCK_MS)
    error = refused(chain, "QUOTE_EXPIRED", "acme-steel", "payments.send_fx", fx_args(quote, 100))
    assert error.message == (
        f"quote {quote} expired at 2026-12-01T18:57:29.288Z, block time 2026-12-01T18:57:31.817Z"
    )
    assert error.details == {"expires_ms": EXPIRES_MS, "block_time_ms": BLOCK_MS}


def test_redeem_and_quote_capacity_in_currencies_of_three_and_zero_decimals(
    chain: ContractChain,
) -> None:
    chain.fund("acme-steel", "KWD", 1_234)
    error = refused(chain, "INSUFFICIENT_FUNDS", "acme-steel", "cash.redeem",
                    {"currency": "KWD", "amount": 1_234_000})  # fmt: skip
    assert error.message == "acme-steel holds 1.234 KWD, needs 1,234.000 KWD"
    chain.fund("acme-steel", "JPY", 5_000_000)
    args = {"base": "JPY", "quote": "KWD", "rate": 205_432, "max_base": 1_500_000,
            "expires_ms": chain.now_ms + HOUR_MS}  # fmt: skip
    quote = chain.call("bank-d", "fx", "quote", args)["id"]
    error = refused(chain, "QUOTE_EXHAUSTED", "acme-steel", "payments.send_fx",
                    fx_args(quote, 2_000_000))  # fmt: skip
    assert "has 1,500,000 JPY left, 2,000,000 JPY asked" in error.message
    assert error.details == {"currency": "JPY", "remaining": 1_500_000, "asked": 2_000_000}


def test_receivable_messages_show_money_and_times(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    error = refused(chain, "AMOUNT_EXCEEDS_PIECE", "acme-steel", "receivables.transfer",
                    {"id": root, "to": "ore-mining", "amount": MILLION + 1})  # fmt: skip
    assert error.message == "the piece holds 1,000,000.00 CNY, not 1,000,000.01 CNY"
    error = refused(chain, "INSUFFICIENT_FUNDS", "bigauto", "receivables.repay", {"id": root})
    assert error.message == "bigauto holds 0.00 CNY, owes 1,000,000.00 CNY"
    assert error.details == {"currency": "CNY", "held": 0, "needed": MILLION}
    late = {"id": root, "rate_bps": 500, "expires_ms": chain.now_ms - 1}
    error = refused(chain, "OFFER_EXPIRED", "bank-a", "receivables.offer_financing", late)
    assert moment(chain.now_ms - 1) in error.message and moment(chain.now_ms) in error.message
    terms = {"id": root, "rate_bps": 500, "expires_ms": chain.now_ms + HOUR_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    chain.advance_time(ms=HOUR_MS + 1)
    error = refused(chain, "OFFER_EXPIRED", "acme-steel", "receivables.accept_financing",
                    {"offer": offer})  # fmt: skip
    assert error.details == {"expires_ms": terms["expires_ms"], "block_time_ms": chain.now_ms}


def test_netting_messages_show_money_and_times(chain: ContractChain) -> None:
    close_ms = chain.now_ms + HOUR_MS
    window = chain.call("bank-a", "netting", "open",
                        {"currency": "EUR", "participants": ["bank-a", "bank-b"],
                         "close_ms": close_ms})["id"]  # fmt: skip
    chain.call("bank-a", "netting", "submit", {"window": window, "to": "bank-b", "amount": 123_456})
    error = refused(chain, "WINDOW_OPEN", "bank-b", "netting.settle", {"window": window})
    assert f"closes at {moment(close_ms)}, block time {moment(chain.now_ms)}" in error.message
    chain.advance_time(ms=HOUR_MS + 1)
    submit = {"window": window, "to": "bank-b", "amount": 1}
    error = refused(chain, "WINDOW_CLOSED", "bank-a", "netting.submit", submit)
    assert error.details == {"close_ms": close_ms, "block_time_ms": chain.now_ms}
    error = refused(chain, "INSUFFICIENT_FUNDS", "bank-b", "netting.settle", {"window": window})
    assert "bank-a holds 0.00 EUR, owes 1,234.56 EUR net" in error.message


def test_a_daily_limit_and_an_expired_proposal_in_peoples_units(chain: ContractChain) -> None:
    chain.fund("acme-steel", "EUR", 10_000_000)
    pid = chain.call("bank-a", "registry", "propose", {"action": "set_limit", "params": {
        "org": "acme-steel", "currency": "EUR", "amount": 500_000}}, "admin")["id"]  # fmt: skip
    for bank in ("bank-b", "bank-c"):
        chain.call(bank, "registry", "approve", {"id": pid}, "admin")
    error = refused(chain, "DAILY_LIMIT_EXCEEDED", "acme-steel", "payments.send",
                    pay_args(amount=600_000))  # fmt: skip
    assert "would give away 6,000.00 EUR on 2026-01-01, over its limit of 5,000.00 EUR" in (
        error.message
    )
    assert error.details == {"currency": "EUR", "used": 600_000, "limit": 500_000,
                             "day": "2026-01-01"}  # fmt: skip
    args = {"action": "set_kyc", "params": {"org": "bigauto", "kyc_expires": "2030-01-01"},
            "ttl_ms": HOUR_MS}  # fmt: skip
    proposal = chain.call("bank-a", "registry", "propose", args, "admin")["id"]
    chain.advance_time(days=1)
    error = refused(chain, "PROPOSAL_EXPIRED", "bank-b", "registry.approve", {"id": proposal},
                    role="admin")  # fmt: skip
    assert moment(chain.genesis.time_ms + DAY_MS) in error.message


def test_an_overflow_names_the_sum_and_keeps_the_values_in_details(chain: ContractChain) -> None:
    chain.fund("acme-steel", "CNY", MAX_AMOUNT)
    args = {"currency": "CNY", "to": "acme-steel", "amount": 1}
    error = refused(chain, "AMOUNT_OVERFLOW", "bank-a", "cash.issue", args)
    assert "CNY supply" in error.message and str(MAX_AMOUNT) not in error.message
    assert error.details == {"value": MAX_AMOUNT + 1, "limit": MAX_AMOUNT}


# -- details through the receipt and the API's JSON -------------------------------------------


def _failed_receipt(details: dict[str, Any]) -> Receipt:
    error = ErrorInfo("INSUFFICIENT_FUNDS", "bigauto holds 200,001.00 CNY", details)
    return Receipt(b"\x07" * 32, 3, 0, "failed", error, (), None)


def test_details_survive_the_receipt_encoding() -> None:
    receipt = _failed_receipt({"currency": "CNY", "held": 20_000_100})
    assert Receipt.decode(receipt.encode()) == receipt


def test_a_receipt_without_details_encodes_as_before_details_existed() -> None:
    """Receipts of blocks committed earlier keep their bytes, so their roots still verify."""
    before = {"tx": b"\x07" * 32, "height": 3, "index": 0, "status": "failed",
              "error": {"code": "NOT_DUE", "message": "due on 2026-04-01"},
              "events": [], "result": None}  # fmt: skip
    raw = codec.encode(before)
    receipt = Receipt.decode(raw)
    assert receipt.error == ErrorInfo("NOT_DUE", "due on 2026-04-01")
    assert receipt.encode() == raw


def test_an_empty_details_map_is_not_canonical() -> None:
    value = _failed_receipt({"held": 1}).to_value()
    value["error"]["details"] = {}
    with pytest.raises(DecodeError):
        Receipt.decode(codec.encode(value))


def test_the_api_json_carries_details_beside_the_message() -> None:
    receipt = _failed_receipt({"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900})
    shown = receipt_json(receipt)["error"]
    assert shown == {
        "code": "INSUFFICIENT_FUNDS",
        "message": "bigauto holds 200,001.00 CNY",
        "details": {"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900},
    }
    assert error_json(ErrorInfo("EXPIRED", "validity ran out")) == {
        "code": "EXPIRED",
        "message": "validity ran out",
    }


def test_a_raw_value_past_the_codecs_range_travels_as_a_decimal_string() -> None:
    """An overflowing sum can reach ±2 × MAX_AMOUNT; its receipt must still encode."""
    error = ContractError("AMOUNT_OVERFLOW", "the net position would pass", {"value": -(2**64)})
    assert error.details == {"value": str(-(2**64))}
    receipt = _failed_receipt(error.details)
    assert Receipt.decode(receipt.encode()) == receipt
