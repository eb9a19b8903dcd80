"""Disputes: the debtor freezes the family; creditor and debtor settle it with one agreed
reduction, shared pro rata across the pieces still owed; every refusal changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.compliance_flow import events_of
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import MILLION, expect_failure, issue, issue_accepted, piece

DUE_DAY = 90


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    for org in ("bigauto", "bank-a"):
        chain.fund(org, "CNY", 2 * MILLION)
    yield chain
    chain.close()


def family(chain: ContractChain) -> tuple[str, str, str]:
    """INV-1001 as 700,000.00 (acme-steel), 200,000.00 (ore-mining), 100,000.00 (fuel-co)."""
    root = issue_accepted(chain)
    move = {"id": root, "to": "ore-mining", "amount": 30_000_000}
    ore = chain.call("acme-steel", "receivables", "transfer", move)["id"]
    move = {"id": ore, "to": "fuel-co", "amount": 10_000_000}
    fuel = chain.call("ore-mining", "receivables", "transfer", move)["id"]
    return root, ore, fuel


def disputed(chain: ContractChain) -> tuple[str, str, str]:
    ids = family(chain)
    chain.call("bigauto", "receivables", "dispute", {"id": ids[1], "reason": "short delivery"})
    return ids


def settle(chain: ContractChain, org: str, root: str, reduction: int) -> bool:
    args = {"id": root, "reduction": reduction}
    return bool(chain.call(org, "receivables", "settle_dispute", args)["applied"])


def test_a_dispute_freezes_the_whole_family(chain: ContractChain) -> None:
    root, ore, fuel = disputed(chain)
    record = chain.state(f"rcv/dispute/{root}")
    assert record["status"] == "open" and record["reason"] == "short delivery"
    assert all(piece(chain, i)["history"][-1]["action"] == "dispute" for i in (root, ore, fuel))
    move = {"id": fuel, "to": "rhein-parts", "amount": 1}
    expect_failure(chain, "DISPUTED", "fuel-co", "transfer", move)
    offer = {"id": ore, "rate_bps": 100, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "DISPUTED", "bank-a", "offer_financing", offer)
    expect_failure(chain, "DISPUTED", "bigauto", "repay", {"id": root})
    expect_failure(chain, "DISPUTED", "bigauto", "repay", {"id": root, "amount": 1})
    chain.set_time(chain.genesis.time_ms + 200 * DAY_MS)
    expect_failure(chain, "DISPUTED", "bank-a", "mark_overdue", {"id": root})
    expect_failure(chain, "DISPUTED", "acme-steel", "declare_default", {"id": root})


def test_an_offer_made_before_the_dispute_cannot_be_taken(chain: ContractChain) -> None:
    root, ore, _ = family(chain)
    terms = {"id": ore, "rate_bps": 100, "expires_ms": chain.now_ms + DAY_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    chain.call("bigauto", "receivables", "dispute", {"id": root, "reason": "late"})
    expect_failure(chain, "OFFER_VOID", "ore-mining", "accept_financing", {"offer": offer})


def test_dispute_refusals_change_nothing(chain: ContractChain) -> None:
    pending = issue(chain, invoice_no="P")
    expect_failure(chain, "NOT_ACCEPTED", "bigauto", "dispute", {"id": pending, "reason": "x"})
    rejected = issue(chain, invoice_no="R")
    chain.call("bigauto", "receivables", "reject", {"id": rejected, "reason": "no"})
    expect_failure(chain, "NOT_DISPUTABLE", "bigauto", "dispute", {"id": rejected, "reason": "x"})
    root, ore, _ = family(chain)
    expect_failure(chain, "NOT_DEBTOR", "acme-steel", "dispute", {"id": root, "reason": "x"})
    expect_failure(chain, "NOT_AUTHORIZED", "bank-a", "dispute", {"id": root, "reason": "x"})
    expect_failure(chain, "BAD_ARGUMENT", "bigauto", "dispute", {"id": root, "reason": ""})
    expect_failure(chain, "NOT_DISPUTED", "bigauto", "settle_dispute", {"id": root, "reduction": 0})
    chain.call("bigauto", "receivables", "dispute", {"id": ore, "reason": "x"})
    expect_failure(chain, "ALREADY_DISPUTED", "bigauto", "dispute", {"id": root, "reason": "y"})
    expect_failure(chain, "NOT_PARTY", "ore-mining", "settle_dispute", {"id": root, "reduction": 0})
    too_much = {"id": root, "reduction": MILLION + 1}
    expect_failure(chain, "REDUCTION_TOO_LARGE", "acme-steel", "settle_dispute", too_much)
    expect_failure(
        chain, "BAD_ARGUMENT", "acme-steel", "settle_dispute", {"id": root, "reduction": -1}
    )
    settle(chain, "acme-steel", root, 0)
    settle(chain, "bigauto", root, 0)
    chain.call("bigauto", "receivables", "repay", {"id": root})
    expect_failure(chain, "NOT_DISPUTABLE", "bigauto", "dispute", {"id": root, "reason": "x"})


def test_a_defaulted_invoice_cannot_be_disputed(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    chain.set_time(chain.genesis.time_ms + (DUE_DAY + 31) * DAY_MS)
    chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    expect_failure(chain, "NOT_DISPUTABLE", "bigauto", "dispute", {"id": root, "reason": "x"})


def test_settlement_needs_both_parties_to_name_the_same_reduction(chain: ContractChain) -> None:
    root, ore, fuel = disputed(chain)
    assert settle(chain, "acme-steel", root, 10_000_000) is False
    assert settle(chain, "bigauto", root, 20_000_000) is False  # not the same: still frozen
    expect_failure(chain, "DISPUTED", "bigauto", "repay", {"id": root})
    args = {"id": root, "reduction": 20_000_000}
    receipt = chain.submit("acme-steel", "receivables", "settle_dispute", args)  # now agreed
    assert receipt.result == {"applied": True}
    # 200,000.00 off 700/200/100 thousand: exactly 140/40/20 thousand.
    assert [piece(chain, i)["amount"] for i in (root, ore, fuel)] == [
        56_000_000,
        16_000_000,
        8_000_000,
    ]
    assert [piece(chain, i)["reduced"] for i in (root, ore, fuel)] == [
        14_000_000,
        4_000_000,
        2_000_000,
    ]
    assert {piece(chain, i)["face"] for i in (root, ore, fuel)} == {80_000_000}
    shrunk = {e["id"]: e["reduction"] for e in events_of(receipt, "receivable_reduced")}
    assert shrunk == {root: 14_000_000, ore: 4_000_000, fuel: 2_000_000}
    assert chain.state(f"rcv/dispute/{root}")["status"] == "settled"
    assert chain.state(f"rcv/dispute/{root}")["reduction"] == 20_000_000
    # Unfrozen: the reduced invoice moves and is repaid.
    move = {"id": fuel, "to": "rhein-parts", "amount": 1}
    chain.call("fuel-co", "receivables", "transfer", move)
    result = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert sum(result["paid"].values()) == 80_000_000


def test_a_reduction_after_a_partial_repayment_is_shared_by_what_is_still_owed(
    chain: ContractChain,
) -> None:
    root, ore, fuel = family(chain)
    chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 33_333_333})
    chain.call("bigauto", "receivables", "dispute", {"id": root, "reason": "quality"})
    settle(chain, "bigauto", root, 1)
    assert settle(chain, "acme-steel", root, 1) is True
    # Owed 46,666,667 / 13,333,333 / 6,666,667: the one unit goes to the largest remainder.
    reduced = [piece(chain, i).get("reduced", 0) for i in (root, ore, fuel)]
    assert reduced == [1, 0, 0]
    total_owed = sum(
        piece(chain, i)["amount"] - piece(chain, i)["repaid"] for i in (root, ore, fuel)
    )
    assert total_owed == MILLION - 33_333_333 - 1


def test_writing_off_everything_settles_the_invoice(chain: ContractChain) -> None:
    root, ore, fuel = family(chain)
    chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 50_000_000})
    chain.call("bigauto", "receivables", "dispute", {"id": root, "reason": "never delivered"})
    settle(chain, "acme-steel", root, 50_000_000)
    assert settle(chain, "bigauto", root, 50_000_000) is True
    assert {piece(chain, i)["status"] for i in (root, ore, fuel)} == {"settled"}
    assert [piece(chain, i)["amount"] for i in (root, ore, fuel)] == [
        35_000_000,
        10_000_000,
        5_000_000,
    ]
    assert {piece(chain, i)["face"] for i in (root, ore, fuel)} == {50_000_000}
    expect_failure(chain, "ALREADY_SETTLED", "bigauto", "repay", {"id": root})
