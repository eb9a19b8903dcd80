"""The supply-chain finance story of the issue, step by step, through a real executor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import MILLION, issue_args, piece


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def test_story_every_holder_is_paid_what_its_piece_says(chain: ContractChain) -> None:
    chain.fund("bigauto", "CNY", MILLION)
    chain.fund("bank-a", "CNY", MILLION)

    # Acme Steel issues INV-1001 to BigAuto: 1,000,000.00 CNY due in 90 days.
    root = chain.call("acme-steel", "receivables", "issue", issue_args())["id"]
    assert piece(chain, root)["holder"] == "acme-steel"
    assert piece(chain, root)["status"] == "issued"

    chain.call("bigauto", "receivables", "accept", {"id": root})
    assert piece(chain, root)["status"] == "accepted"

    # Acme pays Ore Mining 300,000.00 with a piece of it.
    ore = chain.call(
        "acme-steel",
        "receivables",
        "transfer",
        {"id": root, "to": "ore-mining", "amount": 30_000_000},
    )["id"]
    assert ore != root
    assert (piece(chain, root)["amount"], piece(chain, root)["holder"]) == (
        70_000_000,
        "acme-steel",
    )
    assert (piece(chain, ore)["amount"], piece(chain, ore)["holder"]) == (30_000_000, "ore-mining")
    assert piece(chain, ore)["parent"] == root

    # Ore Mining passes 100,000.00 of that to Fuel Co.
    fuel = chain.call(
        "ore-mining", "receivables", "transfer", {"id": ore, "to": "fuel-co", "amount": 10_000_000}
    )["id"]
    assert (piece(chain, ore)["amount"], piece(chain, fuel)["amount"]) == (20_000_000, 10_000_000)
    assert piece(chain, fuel)["holder"] == "fuel-co"
    assert piece(chain, fuel)["root"] == root

    # Ten days later Ore Mining sells its remaining 200,000.00 to Bank A at 6 % a year:
    # 80 days to 2026-04-01, discount floor(20,000,000 × 600 × 80 / 3,600,000) = 266,666.
    chain.advance_time(days=10)
    offer = chain.call(
        "bank-a",
        "receivables",
        "offer_financing",
        {"id": ore, "rate_bps": 600, "expires_ms": chain.now_ms + 3_600_000},
    )["id"]
    result = chain.call("ore-mining", "receivables", "accept_financing", {"offer": offer})
    assert result == {"price": 19_733_334}
    assert chain.balance("CNY", "ore-mining") == 19_733_334
    assert chain.balance("CNY", "bank-a") == MILLION - 19_733_334
    assert piece(chain, ore)["holder"] == "bank-a"
    assert piece(chain, ore)["financed_by"] == "bank-a"

    # At maturity BigAuto repays once; every holder gets what its piece says.
    chain.set_time(chain.genesis.time_ms + 90 * 86_400_000)
    paid = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert paid == {
        "paid": {"acme-steel": 70_000_000, "bank-a": 20_000_000, "fuel-co": 10_000_000},
        "outstanding": 0,
    }
    assert chain.balance("CNY", "bigauto") == 0
    assert chain.balance("CNY", "acme-steel") == 70_000_000
    assert chain.balance("CNY", "fuel-co") == 10_000_000
    assert chain.balance("CNY", "ore-mining") == 19_733_334
    assert chain.balance("CNY", "bank-a") == MILLION - 19_733_334 + 20_000_000
    for piece_id in (root, ore, fuel):
        assert piece(chain, piece_id)["status"] == "settled"
    total = sum(piece(chain, p)["amount"] for p in (root, ore, fuel))
    assert total == piece(chain, root)["face"] == MILLION
