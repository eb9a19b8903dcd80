"""Issue 12, finding 1: sanctions, KYC and daily limits bind every contract, not only payments.

The finding's cast, through the real executor: governance sanctioned rhein-parts (and bank-d),
expired ore-mining's KYC and gave acme-steel a 100.00 CNY daily limit. Before this, every
refusal below succeeded except the three `payments.send` ones. Each must now fail with its
stable code and leave every state key exactly as it was: balances, supply, pieces, offers,
holds and daily counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.compliance_flow import expire_kyc, refused, sanction, set_limit
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import issue_accepted, issue_args
from tests.support.xborder_chain import pay_args

Ids = dict[str, str]
LIMIT = 10_000  # 100.00 CNY


@pytest.fixture(scope="module")
def cast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ContractChain, Ids]]:
    """Pieces and offers made while everyone was clean; then the three governance changes."""
    chain = ContractChain(tmp_path_factory.mktemp("compliance") / "db")
    for org in ("acme-steel", "rhein-parts", "ore-mining", "bigauto", "fuel-co"):
        chain.fund(org, "CNY", 100_000_000)
    chain.fund("bank-a", "CNY", 500_000_000)
    chain.fund("bank-d", "CNY", 500_000_000)
    chain.fund("bank-d", "USD", 1_000_000)
    chain.fund("bank-a", "USD", 1_000_000)
    ids: Ids = {}
    small = {"amount": 1_000_000}  # 10,000.00 CNY
    ids["rhein_piece"] = issue_accepted(chain, "rhein-parts", invoice_no="RP-1", **small)
    ids["ore_piece"] = issue_accepted(chain, "ore-mining", invoice_no="OM-1", **small)
    ids["acme_piece"] = issue_accepted(chain, "acme-steel", invoice_no="AS-1", **small)
    ids["owed_by_rhein"] = issue_accepted(
        chain, "acme-steel", invoice_no="AS-2", debtor="rhein-parts", **small
    )
    ids["owed_by_ore"] = issue_accepted(
        chain, "acme-steel", invoice_no="AS-3", debtor="ore-mining", **small
    )
    expires = chain.now_ms + 30 * DAY_MS
    offer = {"id": ids["rhein_piece"], "rate_bps": 200, "expires_ms": expires}
    ids["offer_to_rhein"] = chain.call("bank-a", "receivables", "offer_financing", offer)["id"]
    offer = {"id": ids["acme_piece"], "rate_bps": 200, "expires_ms": expires}
    ids["offer_by_bank_d"] = chain.call("bank-d", "receivables", "offer_financing", offer)["id"]
    window = {"currency": "USD", "participants": ["bank-a", "bank-d"], "close_ms": expires}
    ids["window"] = chain.call("bank-a", "netting", "open", window)["id"]
    chain.call(
        "bank-a", "netting", "submit", {"window": ids["window"], "to": "bank-d", "amount": 5}
    )
    sanction(chain, "rhein-parts")
    sanction(chain, "bank-d")
    expire_kyc(chain, "ore-mining")
    set_limit(chain, "acme-steel", "CNY", LIMIT)
    yield chain, ids
    chain.close()


Call = tuple[str, str, str, Callable[[Ids], dict[str, Any]]]


def cny(to: str, amount: int = 10_000) -> Callable[[Ids], dict[str, Any]]:
    return lambda ids: {"currency": "CNY", "to": to, "amount": amount}


def piece_to(piece: str, to: str, amount: int = 100) -> Callable[[Ids], dict[str, Any]]:
    return lambda ids: {"id": ids[piece], "to": to, "amount": amount}


def fixed(args: dict[str, Any]) -> Callable[[Ids], dict[str, Any]]:
    return lambda ids: args


SANCTIONED: dict[str, Call] = {
    "cash.transfer to the sanctioned org": ("acme-steel", "cash", "transfer", cny("rhein-parts")),
    "cash.transfer from the sanctioned org": ("rhein-parts", "cash", "transfer", cny("bigauto")),
    "cash.redeem by the sanctioned org": (
        "rhein-parts", "cash", "redeem", fixed({"currency": "CNY", "amount": 100})
    ),
    "cash.issue to the sanctioned org": ("bank-a", "cash", "issue", cny("rhein-parts")),
    "cash.issue by a sanctioned issuer": (
        "bank-d", "cash", "issue", fixed({"currency": "JPY", "to": "bigauto", "amount": 5})
    ),
    "receivables.issue by the sanctioned org": (
        "rhein-parts", "receivables", "issue", fixed(issue_args(invoice_no="RP-2"))
    ),
    "receivables.issue on a sanctioned debtor": (
        "acme-steel", "receivables", "issue",
        fixed(issue_args(invoice_no="AS-9", debtor="rhein-parts")),
    ),
    "receivables.transfer by the sanctioned holder": (
        "rhein-parts", "receivables", "transfer", piece_to("rhein_piece", "fuel-co")
    ),
    "receivables.transfer to the sanctioned org": (
        "acme-steel", "receivables", "transfer", piece_to("acme_piece", "rhein-parts")
    ),
    "receivables.offer_financing to the sanctioned holder": (
        "bank-b", "receivables", "offer_financing",
        lambda ids: {"id": ids["rhein_piece"], "rate_bps": 300, "expires_ms": 2**41},
    ),
    "receivables.accept_financing by the sanctioned holder": (
        "rhein-parts", "receivables", "accept_financing",
        lambda ids: {"offer": ids["offer_to_rhein"]},
    ),
    "receivables.accept_financing from a sanctioned bank": (
        "acme-steel", "receivables", "accept_financing",
        lambda ids: {"offer": ids["offer_by_bank_d"]},
    ),
    "receivables.repay by a sanctioned debtor": (
        "rhein-parts", "receivables", "repay", lambda ids: {"id": ids["owed_by_rhein"]}
    ),
    "payments.send to the sanctioned org": ("acme-steel", "payments", "send", fixed(pay_args())),
    "netting.submit to a sanctioned bank": (
        "bank-a", "netting", "submit",
        lambda ids: {"window": ids["window"], "to": "bank-d", "amount": 7},
    ),
    "fx.quote by a sanctioned bank": (
        "bank-d", "fx", "quote",
        fixed({"base": "USD", "quote": "JPY", "rate": 1, "max_base": 1, "expires_ms": 2**41}),
    ),
}  # fmt: skip

KYC_EXPIRED: dict[str, Call] = {
    "cash.transfer from the KYC-expired org": ("ore-mining", "cash", "transfer", cny("bigauto")),
    "cash.redeem by the KYC-expired org": (
        "ore-mining", "cash", "redeem", fixed({"currency": "CNY", "amount": 100})
    ),
    "receivables.issue by the KYC-expired org": (
        "ore-mining", "receivables", "issue", fixed(issue_args(invoice_no="OM-2"))
    ),
    "receivables.transfer by the KYC-expired holder": (
        "ore-mining", "receivables", "transfer", piece_to("ore_piece", "fuel-co")
    ),
    "receivables.repay by a KYC-expired debtor": (
        "ore-mining", "receivables", "repay", lambda ids: {"id": ids["owed_by_ore"]}
    ),
    "payments.send by the KYC-expired org": (
        "ore-mining", "payments", "send", fixed(pay_args(to="bigauto", currency="CNY"))
    ),
}  # fmt: skip

OVER_LIMIT: dict[str, Call] = {
    "cash.transfer of 5,000.00 over a 100.00 limit": (
        "acme-steel", "cash", "transfer", cny("bigauto", 500_000)
    ),
    "cash.redeem over the limit": (
        "acme-steel", "cash", "redeem", fixed({"currency": "CNY", "amount": LIMIT + 1})
    ),
    "receivables.transfer of a piece over the limit": (
        "acme-steel", "receivables", "transfer", piece_to("acme_piece", "fuel-co", LIMIT + 1)
    ),
    "payments.send over the limit": (
        "acme-steel", "payments", "send",
        fixed(pay_args(to="bigauto", currency="CNY", amount=500_000)),
    ),
}  # fmt: skip

CASES = [
    pytest.param(code, call, id=name)
    for code, table in (
        ("SANCTIONED", SANCTIONED),
        ("KYC_EXPIRED", KYC_EXPIRED),
        ("DAILY_LIMIT_EXCEEDED", OVER_LIMIT),
    )
    for name, call in table.items()
]


@pytest.mark.parametrize(("code", "call"), CASES)
def test_the_finding_is_refused_with_its_code_and_changes_nothing(
    cast: tuple[ContractChain, Ids], code: str, call: Call
) -> None:
    chain, ids = cast
    org, contract, method, args = call
    assert refused(chain, org, contract, method, args(ids)) == code


def test_netting_settlement_with_a_sanctioned_participant_moves_nothing(
    cast: tuple[ContractChain, Ids],
) -> None:
    chain, ids = cast
    chain.advance_time(days=31)  # past the window's close
    assert refused(chain, "bank-a", "netting", "settle", {"window": ids["window"]}) == (
        "SANCTIONED"
    )


def test_the_same_calls_pass_for_clean_parties_within_the_limit(tmp_path: Path) -> None:
    """The refusals above are the rules', not the calls': clean parties make the same calls."""
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "CNY", 100_000_000)
    set_limit(chain, "acme-steel", "CNY", LIMIT)
    chain.call("acme-steel", "cash", "transfer", cny("rhein-parts", LIMIT // 2)({}))
    chain.call("rhein-parts", "cash", "transfer", cny("bigauto", LIMIT // 2)({}))
    chain.call("acme-steel", "cash", "redeem", {"currency": "CNY", "amount": LIMIT // 2})
    assert chain.balance("CNY", "bigauto") == LIMIT // 2
    chain.close()
