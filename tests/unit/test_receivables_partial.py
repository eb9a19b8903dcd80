"""Partial repayment: shared pro rata among the pieces still owed, exact to the minor unit,
repeated until settled, a sanctioned holder's shares held; every refusal changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.compliance_flow import events_of, sanction
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import (
    MILLION,
    expect_failure,
    issue,
    issue_accepted,
    piece,
)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("bigauto", "CNY", 2 * MILLION)
    yield chain
    chain.close()


def three_pieces(chain: ContractChain) -> tuple[str, str, str]:
    """INV-1001 as 700,000.00 (acme-steel), 200,000.00 (ore-mining), 100,000.00 (fuel-co)."""
    root = issue_accepted(chain)
    ore = chain.call(
        "acme-steel",
        "receivables",
        "transfer",
        {"id": root, "to": "ore-mining", "amount": 30_000_000},
    )["id"]
    fuel = chain.call(
        "ore-mining", "receivables", "transfer", {"id": ore, "to": "fuel-co", "amount": 10_000_000}
    )["id"]
    return root, ore, fuel


def owed(chain: ContractChain, *ids: str) -> list[int]:
    return [
        0 if (p := piece(chain, i))["status"] == "settled" else p["amount"] - p.get("repaid", 0)
        for i in ids
    ]


def test_a_partial_repayment_is_shared_pro_rata_by_largest_remainder(chain: ContractChain) -> None:
    root, ore, fuel = three_pieces(chain)
    before = {org: chain.balance("CNY", org) for org in ("acme-steel", "ore-mining", "fuel-co")}
    receipt = chain.submit("bigauto", "receivables", "repay", {"id": root, "amount": 33_333_333})
    assert receipt.status == "ok", receipt.error
    # Quotas 23,333,333.1 / 6,666,666.6 / 3,333,333.3: floors leave one unit, for ore-mining.
    assert receipt.result == {
        "paid": {"acme-steel": 23_333_333, "ore-mining": 6_666_667, "fuel-co": 3_333_333},
        "outstanding": MILLION - 33_333_333,
    }
    assert owed(chain, root, ore, fuel) == [
        70_000_000 - 23_333_333,
        20_000_000 - 6_666_667,
        10_000_000 - 3_333_333,
    ]
    assert [piece(chain, i)["status"] for i in (root, ore, fuel)] == ["accepted"] * 3
    assert [piece(chain, i)["amount"] for i in (root, ore, fuel)] == [
        70_000_000,
        20_000_000,
        10_000_000,
    ]
    (event,) = events_of(receipt, "receivable_repaid")
    assert event["pieces"] == {root: 23_333_333, ore: 6_666_667, fuel: 3_333_333}
    assert event["outstanding"] == MILLION - 33_333_333
    assert chain.balance("CNY", "ore-mining") == before["ore-mining"] + 6_666_667


def test_repeated_partial_repayments_settle_every_piece_exactly(chain: ContractChain) -> None:
    root, ore, fuel = three_pieces(chain)
    for part in (33_333_333, 1, 33_333_333, 7):
        chain.call("bigauto", "receivables", "repay", {"id": root, "amount": part})
    left = MILLION - 66_666_674
    assert sum(owed(chain, root, ore, fuel)) == left
    result = chain.call("bigauto", "receivables", "repay", {"id": root})  # all that is due
    assert result["outstanding"] == 0 and sum(result["paid"].values()) == left
    assert [piece(chain, i)["status"] for i in (root, ore, fuel)] == ["settled"] * 3
    assert all("repaid" not in piece(chain, i) for i in (root, ore, fuel))
    assert chain.balance("CNY", "acme-steel") == 70_000_000
    assert chain.balance("CNY", "ore-mining") == 20_000_000
    assert chain.balance("CNY", "fuel-co") == 10_000_000
    assert chain.balance("CNY", "bigauto") == MILLION
    expect_failure(chain, "ALREADY_SETTLED", "bigauto", "repay", {"id": root, "amount": 1})


def test_a_piece_can_settle_alone_by_rounding(chain: ContractChain) -> None:
    root = issue_accepted(chain, amount=100)
    small = chain.call(
        "acme-steel", "receivables", "transfer", {"id": root, "to": "ore-mining", "amount": 1}
    )["id"]
    # Quotas 98.01 and 0.99: floors 98 and 0, the unit left goes to the larger remainder.
    result = chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 99})
    assert result == {"paid": {"acme-steel": 98, "ore-mining": 1}, "outstanding": 1}
    assert piece(chain, small)["status"] == "settled"
    assert piece(chain, root)["status"] == "accepted" and piece(chain, root)["repaid"] == 98
    assert chain.call("bigauto", "receivables", "repay", {"id": root}) == {
        "paid": {"acme-steel": 1},
        "outstanding": 0,
    }
    assert piece(chain, root)["status"] == "settled"


def test_repayment_refusals_change_nothing(chain: ContractChain) -> None:
    pending = issue(chain, invoice_no="P")
    root, ore, _ = three_pieces(chain)
    expect_failure(chain, "NOT_ACCEPTED", "bigauto", "repay", {"id": pending, "amount": 1})
    expect_failure(chain, "NOT_ROOT", "bigauto", "repay", {"id": ore, "amount": 1})
    expect_failure(chain, "NOT_DEBTOR", "acme-steel", "repay", {"id": root, "amount": 1})
    expect_failure(chain, "BAD_ARGUMENT", "bigauto", "repay", {"id": root, "amount": 0})
    expect_failure(
        chain, "AMOUNT_EXCEEDS_DUE", "bigauto", "repay", {"id": root, "amount": MILLION + 1}
    )
    chain.call("bigauto", "receivables", "repay", {"id": root, "amount": MILLION - 10})
    expect_failure(chain, "AMOUNT_EXCEEDS_DUE", "bigauto", "repay", {"id": root, "amount": 11})
    chain.call(
        "bigauto",
        "cash",
        "transfer",
        {"currency": "CNY", "to": "rhein-parts", "amount": MILLION + 5},
    )
    expect_failure(chain, "INSUFFICIENT_FUNDS", "bigauto", "repay", {"id": root, "amount": 6})


def test_a_sanctioned_holders_partial_shares_are_held_and_released_in_full(
    chain: ContractChain,
) -> None:
    root, _, fuel = three_pieces(chain)
    sanction(chain, "fuel-co")
    first = chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 10_000_000})
    assert first["held"] == {"fuel-co": 1_000_000}
    assert "fuel-co" not in first["paid"]
    second = chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 20_000_000})
    assert second["held"] == {"fuel-co": 2_000_000}
    hold = chain.state(f"hold/piece/{fuel}")
    assert hold["amount"] == 3_000_000 and hold["status"] == "held"
    assert chain.state("cash/held/CNY/fuel-co") == 3_000_000
    assert chain.balance("CNY", "fuel-co") == 0
    sanction(chain, "fuel-co", False)
    assert chain.balance("CNY", "fuel-co") == 3_000_000
    assert chain.state("cash/held/CNY/fuel-co") is None
    # Sanctioned again: the next share opens a new hold, released in turn.
    sanction(chain, "fuel-co")
    chain.call("bigauto", "receivables", "repay", {"id": root})
    assert chain.state(f"hold/piece/{fuel}")["amount"] == 7_000_000
    sanction(chain, "fuel-co", False)
    assert chain.balance("CNY", "fuel-co") == 10_000_000
    assert piece(chain, fuel)["status"] == "settled"


def test_a_partly_repaid_piece_passes_on_only_what_is_still_owed(chain: ContractChain) -> None:
    root, ore, _ = three_pieces(chain)
    chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 10_000_000})
    # ore-mining's 200,000.00 was repaid 20,000.00: 180,000.00 is left to pass on or sell.
    too_much = {"id": ore, "to": "rhein-parts", "amount": 18_000_001}
    expect_failure(chain, "AMOUNT_EXCEEDS_PIECE", "ore-mining", "transfer", too_much)
    part = {"id": ore, "to": "rhein-parts", "amount": 8_000_000}
    child = chain.call("ore-mining", "receivables", "transfer", part)["id"]
    assert piece(chain, child)["amount"] == 8_000_000 and "repaid" not in piece(chain, child)
    assert piece(chain, ore)["amount"] == 12_000_000 and piece(chain, ore)["repaid"] == 2_000_000
    terms = {"id": ore, "rate_bps": 0, "expires_ms": chain.now_ms + 86_400_000}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    assert chain.state(f"rcv/offer/{offer}")["amount"] == 10_000_000
    chain.fund("bank-a", "CNY", MILLION)
    assert chain.call("ore-mining", "receivables", "accept_financing", {"offer": offer}) == {
        "price": 10_000_000
    }
    result = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert result["paid"]["bank-a"] == 10_000_000 and result["paid"]["rhein-parts"] == 8_000_000
    assert result["outstanding"] == 0
