"""One daily-limit counter per organization and currency, fed by every contract that moves value:
cash, receivable pieces, financing, repayments, payments (both FX legs) and netting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.compliance_flow import refused, set_limit
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import MILLION, issue_accepted
from tests.support.xborder_chain import HOUR_MS, pay_args

DAY = "2026-01-01"  # the dev chain's genesis date


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "CNY", 10 * MILLION)
    chain.fund("bigauto", "CNY", 10 * MILLION)
    chain.fund("bank-a", "CNY", 10 * MILLION)
    yield chain
    chain.close()


def used(chain: ContractChain, org: str, currency: str = "CNY", day: str = DAY) -> int:
    return int(chain.state(f"pay/used/{org}/{currency}/{day}") or 0)


def cny(to: str, amount: int) -> dict[str, object]:
    return {"currency": "CNY", "to": to, "amount": amount}


def test_cash_transfer_and_payments_send_share_one_daily_limit(chain: ContractChain) -> None:
    set_limit(chain, "acme-steel", "CNY", 1_000)
    chain.call("acme-steel", "cash", "transfer", cny("bigauto", 600))
    send = pay_args(to="bigauto", currency="CNY", amount=401, end_to_end_id="L1")
    assert refused(chain, "acme-steel", "payments", "send", send) == "DAILY_LIMIT_EXCEEDED"
    chain.call("acme-steel", "payments", "send", {**send, "amount": 400})
    assert used(chain, "acme-steel") == 1_000
    code = refused(chain, "acme-steel", "cash", "transfer", cny("bigauto", 1))
    assert code == "DAILY_LIMIT_EXCEEDED"
    chain.advance_time(ms=DAY_MS)  # a new block date starts from zero
    chain.call("acme-steel", "cash", "transfer", cny("bigauto", 1_000))
    assert used(chain, "acme-steel", day="2026-01-02") == 1_000


def test_every_contract_counts_what_an_organization_gives_away(chain: ContractChain) -> None:
    chain.call("acme-steel", "cash", "transfer", cny("bigauto", 100))
    chain.call("acme-steel", "payments", "send", pay_args(to="bigauto", currency="CNY", amount=200))
    chain.call("acme-steel", "cash", "redeem", {"currency": "CNY", "amount": 50})
    root = issue_accepted(chain)
    chain.call(
        "acme-steel", "receivables", "transfer", {"id": root, "to": "fuel-co", "amount": 300}
    )
    assert used(chain, "acme-steel") == 650
    # Both sides of a financing: the seller's piece and the bank's price.
    terms = {"id": root, "rate_bps": 0, "expires_ms": chain.now_ms + HOUR_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    price = chain.call("acme-steel", "receivables", "accept_financing", {"offer": offer})["price"]
    assert used(chain, "acme-steel") == 650 + MILLION - 300
    assert used(chain, "bank-a") == price
    chain.call("bigauto", "receivables", "repay", {"id": root})
    assert used(chain, "bigauto") == MILLION


def test_a_limit_set_during_the_day_counts_the_days_earlier_movements(
    chain: ContractChain,
) -> None:
    chain.call("acme-steel", "cash", "transfer", cny("bigauto", 600))
    set_limit(chain, "acme-steel", "CNY", 1_000)
    code = refused(chain, "acme-steel", "cash", "transfer", cny("bigauto", 401))
    assert code == "DAILY_LIMIT_EXCEEDED"


def test_a_repayment_over_the_debtors_limit_is_refused(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    set_limit(chain, "bigauto", "CNY", MILLION - 1)
    assert refused(chain, "bigauto", "receivables", "repay", {"id": root}) == (
        "DAILY_LIMIT_EXCEEDED"
    )


def test_a_financing_over_the_banks_limit_is_refused(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    terms = {"id": root, "rate_bps": 0, "expires_ms": chain.now_ms + HOUR_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    set_limit(chain, "bank-a", "CNY", 1_000)
    assert refused(chain, "acme-steel", "receivables", "accept_financing", {"offer": offer}) == (
        "DAILY_LIMIT_EXCEEDED"
    )


def test_a_net_settlement_over_a_net_debtors_limit_moves_nothing(chain: ContractChain) -> None:
    chain.fund("bank-b", "USD", 1_000)
    window = {"currency": "USD", "participants": ["bank-a", "bank-b"], "close_ms": chain.now_ms + 1}
    window_id = chain.call("bank-a", "netting", "open", window)["id"]
    chain.call("bank-b", "netting", "submit", {"window": window_id, "to": "bank-a", "amount": 500})
    set_limit(chain, "bank-b", "USD", 499)
    chain.advance_time(ms=2)
    assert refused(chain, "bank-a", "netting", "settle", {"window": window_id}) == (
        "DAILY_LIMIT_EXCEEDED"
    )
    set_limit(chain, "bank-b", "USD", 500)
    chain.call("bank-a", "netting", "settle", {"window": window_id})
    assert used(chain, "bank-b", "USD") == 500


def test_the_limit_is_checked_before_the_funds_in_every_contract(chain: ContractChain) -> None:
    """The documented order: a call both over the limit and short of funds is over the limit."""
    root = issue_accepted(chain, debtor="fuel-co")  # fuel-co has no CNY at all
    set_limit(chain, "fuel-co", "CNY", 1)
    assert refused(chain, "fuel-co", "receivables", "repay", {"id": root}) == (
        "DAILY_LIMIT_EXCEEDED"
    )
    assert refused(chain, "fuel-co", "cash", "transfer", cny("bigauto", 2)) == (
        "DAILY_LIMIT_EXCEEDED"
    )
    window = {"currency": "USD", "participants": ["bank-a", "bank-b"], "close_ms": chain.now_ms + 1}
    window_id = chain.call("bank-a", "netting", "open", window)["id"]
    chain.call("bank-b", "netting", "submit", {"window": window_id, "to": "bank-a", "amount": 500})
    set_limit(chain, "bank-b", "USD", 499)  # and bank-b holds no USD
    chain.advance_time(ms=2)
    assert refused(chain, "bank-a", "netting", "settle", {"window": window_id}) == (
        "DAILY_LIMIT_EXCEEDED"
    )
