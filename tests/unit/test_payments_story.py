"""The cross-border story of the issue, through a real executor, every balance at every step.

Acme Steel (CNY at Bank A) pays Rhein Parts (EUR at Bank B) 50,000.00 EUR; Bank C quotes
CNY→EUR and takes both legs in one transaction. At the end of the day the banks net.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts.fx import base_for_credit, convert
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args

RATE = 12_820_513  # 0.12820513 EUR per CNY (≈ 7.8 CNY per EUR)
EUR_50K = 5_000_000  # 50,000.00 EUR in cents


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def balances(chain: ContractChain) -> dict[tuple[str, str], int]:
    orgs = ("acme-steel", "rhein-parts", "bank-a", "bank-b", "bank-c")
    return {(c, o): chain.balance(c, o) for c in ("CNY", "EUR") for o in orgs}


def test_acme_pays_rhein_parts_50k_eur_atomically_at_the_quoted_rate(chain: ContractChain) -> None:
    chain.fund("acme-steel", "CNY", 50_000_000)  # 500,000.00 CNY at Bank A
    chain.fund("bank-c", "EUR", 6_000_000)  # Bank C holds 60,000.00 EUR at Bank B
    before = balances(chain)
    assert before[("CNY", "acme-steel")] == 50_000_000
    assert before[("EUR", "bank-c")] == 6_000_000

    quote = chain.call(
        "bank-c",
        "fx",
        "quote",
        {
            "base": "CNY",
            "quote": "EUR",
            "rate": RATE,
            "max_base": 45_000_000,
            "expires_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    assert balances(chain) == before  # a quote moves nothing

    # 50,000.00 EUR needs ceil(5,000,000 × 10^8 × 10^2 / (12,820,513 × 10^2)) CNY cents.
    base = base_for_credit(EUR_50K, RATE, 2, 2)
    assert base == 39_000_000  # 390,000.00 CNY
    assert (
        convert(base, RATE, 2, 2) == EUR_50K
    )  # floor(39,000,000 × 0.12820513) = 5,000,000.07 → 5,000,000
    assert convert(base - 1, RATE, 2, 2) == EUR_50K - 1

    result = chain.call("acme-steel", "payments", "send_fx", fx_args(quote, base))
    assert result["credit"] == EUR_50K
    after = balances(chain)
    assert after[("CNY", "acme-steel")] == 50_000_000 - base
    assert after[("CNY", "bank-c")] == base
    assert after[("EUR", "bank-c")] == 6_000_000 - EUR_50K
    assert after[("EUR", "rhein-parts")] == EUR_50K
    unchanged = {k: v for k, v in after.items() if k[1] in ("bank-a", "bank-b")}
    assert all(v == before[k] for k, v in unchanged.items())

    payment = chain.state("pay/rec/" + result["id"])
    assert payment["kind"] == "fx"
    assert (payment["payer"], payment["payee"], payment["dealer"]) == (
        "acme-steel",
        "rhein-parts",
        "bank-c",
    )
    assert payment["legs"] == [
        {"currency": "CNY", "from": "acme-steel", "to": "bank-c", "amount": base},
        {"currency": "EUR", "from": "bank-c", "to": "rhein-parts", "amount": EUR_50K},
    ]
    assert payment["rate"] == RATE
    assert payment["originator"]["name"] == "Acme Steel Co., Ltd."
    assert payment["remittance"].startswith("Invoice RP-2026-0042")
    assert chain.state("fx/quote/" + quote)["remaining"] == 45_000_000 - base
    for org, role in (("acme-steel", "sent"), ("rhein-parts", "received"), ("bank-c", "dealer")):
        index = chain.state_items(f"pay/by_org/{org}/")
        assert [v["roles"] for v in index.values()] == [[role]]


def test_fx_payment_is_all_or_nothing_when_the_dealer_lacks_the_quote_currency(
    chain: ContractChain,
) -> None:
    chain.fund("acme-steel", "CNY", 50_000_000)
    chain.fund("bank-c", "EUR", 1_000_000)  # only 10,000.00 EUR
    quote = chain.call(
        "bank-c",
        "fx",
        "quote",
        {
            "base": "CNY",
            "quote": "EUR",
            "rate": RATE,
            "max_base": 45_000_000,
            "expires_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    before = balances(chain)
    receipt = chain.submit("acme-steel", "payments", "send_fx", fx_args(quote, 38_999_998))
    assert receipt.status == "failed"
    assert receipt.error is not None and receipt.error.code == "INSUFFICIENT_FUNDS"
    assert balances(chain) == before  # the CNY leg did not settle either
    assert chain.state("fx/quote/" + quote)["remaining"] == 45_000_000


def test_end_of_day_netting_settles_only_net_positions(chain: ContractChain) -> None:
    for bank in ("bank-a", "bank-b", "bank-c"):
        chain.fund(bank, "EUR", 10_000_000)
    window = chain.call(
        "bank-a",
        "netting",
        "open",
        {
            "currency": "EUR",
            "participants": ["bank-a", "bank-b", "bank-c"],
            "close_ms": chain.now_ms + HOUR_MS,
        },
    )["id"]
    obligations = [
        ("bank-a", "bank-b", 3_000_000),
        ("bank-b", "bank-c", 2_500_000),
        ("bank-c", "bank-a", 1_000_000),
        ("bank-b", "bank-a", 700_000),
        ("bank-a", "bank-c", 400_000),
    ]
    for payer, payee, value in obligations:
        chain.call(payer, "netting", "submit", {"window": window, "to": payee, "amount": value})
    chain.advance_time(ms=HOUR_MS + 1)
    result = chain.call("bank-b", "netting", "settle", {"window": window})
    # a: -3.0 +1.0 +0.7 -0.4 = -1.7; b: +3.0 -2.5 -0.7 = -0.2; c: +2.5 -1.0 +0.4 = +1.9 (M EUR/100)
    assert result["positions"] == {"bank-a": -1_700_000, "bank-b": -200_000, "bank-c": 1_900_000}
    assert result["gross"] == 7_600_000
    assert result["net"] == 1_900_000
    assert chain.balance("EUR", "bank-a") == 10_000_000 - 1_700_000
    assert chain.balance("EUR", "bank-b") == 10_000_000 - 200_000
    assert chain.balance("EUR", "bank-c") == 10_000_000 + 1_900_000
    window_record = chain.state("net/win/" + window)
    assert window_record["status"] == "settled"
    assert window_record["transfers"] == [
        {"from": "bank-a", "to": "bank-c", "amount": 1_700_000},
        {"from": "bank-b", "to": "bank-c", "amount": 200_000},
    ]


def test_same_currency_payment_moves_exactly_the_amount(chain: ContractChain) -> None:
    chain.fund("rhein-parts", "EUR", 1_000_000)
    result = chain.call("rhein-parts", "payments", "send", pay_args(to="acme-steel", amount=12_345))
    assert chain.balance("EUR", "rhein-parts") == 1_000_000 - 12_345
    assert chain.balance("EUR", "acme-steel") == 12_345
    record = chain.state("pay/rec/" + result["id"])
    assert record["kind"] == "send"
    assert record["legs"] == [
        {"currency": "EUR", "from": "rhein-parts", "to": "acme-steel", "amount": 12_345}
    ]
