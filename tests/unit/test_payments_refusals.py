"""Every refusal has a stable code and changes no balance (and no quote, limit or index)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args

BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "CNY", 50_000_000)
    chain.fund("acme-steel", "EUR", 1_000_000)
    chain.fund("bank-c", "EUR", 10_000_000)
    yield chain
    chain.close()


def snapshot(chain: ContractChain) -> dict[str, Any]:
    """All balances, quotes, payments and usage counters: nothing of it may change."""
    return {p: chain.state_items(p) for p in ("cash/", "fx/", "pay/", "net/", "reg/")}


def refused(chain: ContractChain, org: str, contract: str, method: str, args: Any) -> str:
    before = snapshot(chain)
    receipt = chain.submit(org, contract, method, args)
    assert receipt.status == "failed"
    assert snapshot(chain) == before
    assert receipt.error is not None
    return receipt.error.code


def governance(chain: ContractChain, action: str, params: dict[str, Any]) -> None:
    """Pass a registry change with three of the four banks (⌈8/3⌉ = 3)."""
    proposal = chain.call(
        "bank-a", "registry", "propose", {"action": action, "params": params}, role="admin"
    )["id"]
    for bank in BANKS[1:3]:
        chain.call(bank, "registry", "approve", {"id": proposal}, role="admin")


def open_quote(chain: ContractChain, **overrides: Any) -> str:
    args = {
        "base": "CNY",
        "quote": "EUR",
        "rate": 12_820_513,
        "max_base": 10_000_000,
        "expires_ms": chain.now_ms + HOUR_MS,
    }
    args.update(overrides)
    return str(chain.call("bank-c", "fx", "quote", args)["id"])


def test_expired_quote_is_refused(chain: ContractChain) -> None:
    quote = open_quote(chain)
    chain.advance_time(ms=HOUR_MS + 1)
    assert refused(chain, "acme-steel", "payments", "send_fx", fx_args(quote, 1000)) == (
        "QUOTE_EXPIRED"
    )


def test_quote_exactly_at_expiry_still_holds(chain: ContractChain) -> None:
    quote = open_quote(chain)
    chain.advance_time(ms=HOUR_MS)
    assert chain.submit("acme-steel", "payments", "send_fx", fx_args(quote, 1000)).status == "ok"


def test_exhausted_quote_is_refused(chain: ContractChain) -> None:
    quote = open_quote(chain, max_base=1_000_000)
    chain.call("acme-steel", "payments", "send_fx", fx_args(quote, 600_000, end_to_end_id="A"))
    code = refused(
        chain, "acme-steel", "payments", "send_fx", fx_args(quote, 400_001, end_to_end_id="B")
    )
    assert code == "QUOTE_EXHAUSTED"
    chain.call("acme-steel", "payments", "send_fx", fx_args(quote, 400_000, end_to_end_id="C"))
    assert chain.state("fx/quote/" + quote)["status"] == "exhausted"
    assert refused(chain, "acme-steel", "payments", "send_fx", fx_args(quote, 1)) == (
        "QUOTE_EXHAUSTED"
    )


def test_withdrawn_quote_is_refused_and_only_its_dealer_withdraws(chain: ContractChain) -> None:
    quote = open_quote(chain)
    assert refused(chain, "bank-a", "fx", "withdraw", {"id": quote}) == "NOT_AUTHORIZED"
    chain.call("bank-c", "fx", "withdraw", {"id": quote})
    assert refused(chain, "acme-steel", "payments", "send_fx", fx_args(quote, 1000)) == (
        "QUOTE_WITHDRAWN"
    )


def test_enterprises_cannot_quote(chain: ContractChain) -> None:
    args = {"base": "CNY", "quote": "EUR", "rate": 1, "max_base": 1, "expires_ms": 2**40}
    assert refused(chain, "acme-steel", "fx", "quote", args) == "NOT_AUTHORIZED"


def test_sanctioned_beneficiary_is_refused(chain: ContractChain) -> None:
    governance(chain, "set_sanctioned", {"org": "rhein-parts", "sanctioned": True})
    assert refused(chain, "acme-steel", "payments", "send", pay_args()) == "SANCTIONED"
    quote = open_quote(chain)
    assert refused(chain, "acme-steel", "payments", "send_fx", fx_args(quote, 1000)) == (
        "SANCTIONED"
    )


def test_sanctioned_payer_is_refused(chain: ContractChain) -> None:
    governance(chain, "set_sanctioned", {"org": "acme-steel", "sanctioned": True})
    assert refused(chain, "acme-steel", "payments", "send", pay_args()) == "SANCTIONED"


def test_kyc_expired_party_is_refused_from_the_day_after_expiry(chain: ContractChain) -> None:
    governance(chain, "set_kyc", {"org": "rhein-parts", "kyc_expires": "2026-01-02"})
    chain.advance_time(days=1)  # 2026-01-02: still valid that day
    assert chain.submit("acme-steel", "payments", "send", pay_args()).status == "ok"
    chain.advance_time(days=1)
    code = refused(chain, "acme-steel", "payments", "send", pay_args(end_to_end_id="LATE"))
    assert code == "KYC_EXPIRED"


def test_daily_limit_counts_per_org_currency_and_block_date(chain: ContractChain) -> None:
    governance(chain, "set_limit", {"org": "acme-steel", "currency": "EUR", "amount": 1000})
    chain.call("acme-steel", "payments", "send", pay_args(amount=600, end_to_end_id="D1"))
    code = refused(
        chain, "acme-steel", "payments", "send", pay_args(amount=401, end_to_end_id="D2")
    )
    assert code == "DAILY_LIMIT_EXCEEDED"
    chain.call("acme-steel", "payments", "send", pay_args(amount=400, end_to_end_id="D3"))
    # other currencies are not limited; a new block date starts from zero
    chain.fund("acme-steel", "USD", 10_000)
    chain.call("acme-steel", "payments", "send", pay_args(currency="USD", amount=5000))
    chain.advance_time(ms=DAY_MS)
    chain.call("acme-steel", "payments", "send", pay_args(amount=1000, end_to_end_id="D4"))


def test_daily_limit_applies_to_the_fx_base_leg(chain: ContractChain) -> None:
    governance(chain, "set_limit", {"org": "acme-steel", "currency": "CNY", "amount": 100_000})
    quote = open_quote(chain)
    assert refused(chain, "acme-steel", "payments", "send_fx", fx_args(quote, 100_001)) == (
        "DAILY_LIMIT_EXCEEDED"
    )


def test_payment_in_a_currency_the_payer_lacks_is_refused(chain: ContractChain) -> None:
    code = refused(chain, "acme-steel", "payments", "send", pay_args(currency="JPY", amount=5))
    assert code == "INSUFFICIENT_FUNDS"
    code = refused(chain, "acme-steel", "payments", "send", pay_args(currency="XAU", amount=5))
    assert code == "UNKNOWN_CURRENCY"


def test_same_end_to_end_id_twice_is_refused(chain: ContractChain) -> None:
    chain.call("acme-steel", "payments", "send", pay_args(end_to_end_id="ONCE"))
    assert refused(chain, "acme-steel", "payments", "send", pay_args(end_to_end_id="ONCE")) == (
        "DUPLICATE_PAYMENT"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("end_to_end_id", "x" * 36),
        ("remittance", "r" * 141),
        ("purpose", ""),
        ("originator", {"name": "n" * 141}),
        ("beneficiary", {"town": "t" * 36}),
        ("beneficiary", {"country": "Germany"}),
        ("originator", {"nickname": "acme"}),
    ],
)
def test_iso_field_limits_are_enforced(chain: ContractChain, field: str, value: Any) -> None:
    assert refused(chain, "acme-steel", "payments", "send", pay_args(**{field: value})) == (
        "BAD_ARGUMENT"
    )


def test_paying_oneself_is_refused(chain: ContractChain) -> None:
    assert refused(chain, "acme-steel", "payments", "send", pay_args(to="acme-steel")) == (
        "SELF_PAYMENT"
    )
