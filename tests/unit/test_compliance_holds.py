"""A repayment due to a sanctioned holder is held on the ledger, and released when the sanction
is lifted: sanction, repay, the holder's share blocked, sanction lifted, share released."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts import receivables_queries
from tests.support.compliance_flow import events_of, refused, sanction
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import MILLION, issue_accepted, piece

SHARE = 30_000_000  # 300,000.00 CNY of the 1,000,000.00 invoice, passed on to rhein-parts


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("bigauto", "CNY", 2 * MILLION)
    yield chain
    chain.close()


def invoice_with_a_share_for(chain: ContractChain, org: str, number: str = "INV-1001") -> Any:
    """acme-steel's accepted invoice to bigauto, SHARE of it passed on to `org`."""
    root = issue_accepted(chain, invoice_no=number)
    args = {"id": root, "to": org, "amount": SHARE}
    child = chain.call("acme-steel", "receivables", "transfer", args)["id"]
    return root, child


def money(chain: ContractChain) -> dict[str, int]:
    """Every CNY balance and hold, and the supply."""
    return {
        **{k: int(v) for k, v in chain.state_items("cash/bal/CNY/").items()},
        **{k: int(v) for k, v in chain.state_items("cash/held/CNY/").items()},
        "supply": int(chain.state("cash/supply/CNY")),
    }


def conserved(chain: ContractChain) -> bool:
    balances = sum(int(v) for v in chain.state_items("cash/bal/CNY/").values())
    held = sum(int(v) for v in chain.state_items("cash/held/CNY/").values())
    return balances + held == int(chain.state("cash/supply/CNY"))


def test_a_sanctioned_holders_share_is_held_then_released_when_the_sanction_is_lifted(
    chain: ContractChain,
) -> None:
    root, child = invoice_with_a_share_for(chain, "rhein-parts")
    sanction(chain, "rhein-parts")
    debtor_before = chain.balance("CNY", "bigauto")

    receipt = chain.submit("bigauto", "receivables", "repay", {"id": root})
    assert receipt.status == "ok", receipt.error
    assert receipt.result == {
        "paid": {"acme-steel": MILLION - SHARE},
        "outstanding": 0,
        "held": {"rhein-parts": SHARE},
    }
    # The debtor paid everything; the sanctioned holder received nothing; the share is held.
    assert chain.balance("CNY", "bigauto") == debtor_before - MILLION
    assert chain.balance("CNY", "acme-steel") == MILLION - SHARE
    assert chain.balance("CNY", "rhein-parts") == 0
    assert chain.state("cash/held/CNY/rhein-parts") == SHARE
    assert conserved(chain)
    hold = chain.state(f"hold/piece/{child}")
    assert (hold["status"], hold["holder"], hold["amount"], hold["reason"]) == (
        "held", "rhein-parts", SHARE, "SANCTIONED"
    )  # fmt: skip
    assert [e["amount"] for e in events_of(receipt, "repayment_held")] == [SHARE]
    assert events_of(receipt, "receivable_repaid")[0]["held"] == {"rhein-parts": SHARE}
    blocked = piece(chain, child)
    assert blocked["status"] == "settled"
    assert blocked["history"][-1]["action"] == "repay_held"
    assert blocked["history"][-1]["held"] == SHARE
    # Nothing can be repaid twice, and the held cash cannot be reached by its holder.
    assert refused(chain, "bigauto", "receivables", "repay", {"id": root}) == "ALREADY_SETTLED"

    lifted = sanction(chain, "rhein-parts", False)
    released = events_of(lifted, "repayment_released")
    assert [(e["piece"], e["holder"], e["amount"]) for e in released] == [
        (child, "rhein-parts", SHARE)
    ]
    assert chain.balance("CNY", "rhein-parts") == SHARE
    assert chain.state("cash/held/CNY/rhein-parts") is None
    assert chain.state(f"hold/piece/{child}")["status"] == "released"
    assert chain.state(f"hold/piece/{child}")["released_tx"] == lifted.tx.hex()
    assert piece(chain, child)["history"][-1]["action"] == "hold_released"
    assert conserved(chain)


def test_lifting_again_releases_nothing_twice_and_holds_release_oldest_first(
    chain: ContractChain,
) -> None:
    first, first_child = invoice_with_a_share_for(chain, "rhein-parts", "INV-1")
    second, second_child = invoice_with_a_share_for(chain, "rhein-parts", "INV-2")
    sanction(chain, "rhein-parts")
    chain.call("bigauto", "receivables", "repay", {"id": second})
    chain.call("bigauto", "receivables", "repay", {"id": first})
    assert chain.state("cash/held/CNY/rhein-parts") == 2 * SHARE
    lifted = sanction(chain, "rhein-parts", False)
    assert [e["piece"] for e in events_of(lifted, "repayment_released")] == [
        second_child,
        first_child,
    ]
    assert chain.balance("CNY", "rhein-parts") == 2 * SHARE
    before = money(chain)
    sanction(chain, "rhein-parts")
    again = sanction(chain, "rhein-parts", False)
    assert events_of(again, "repayment_released") == []
    assert money(chain) == before


def test_a_repayment_to_a_clean_holder_is_paid_as_before(chain: ContractChain) -> None:
    root, _ = invoice_with_a_share_for(chain, "fuel-co")
    result = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert result == {"paid": {"acme-steel": MILLION - SHARE, "fuel-co": SHARE}, "outstanding": 0}
    assert chain.state_items("cash/held/") == {} and chain.state_items("hold/") == {}


def test_the_trace_shows_what_is_held_and_why(chain: ContractChain) -> None:
    root, child = invoice_with_a_share_for(chain, "rhein-parts")
    sanction(chain, "rhein-parts")
    chain.call("bigauto", "receivables", "repay", {"id": root})
    trace = receivables_queries.trace(chain.store, root)
    assert trace is not None
    assert trace["totals"]["held"] == SHARE
    held = {p["id"]: p["hold"] for p in trace["pieces"]}
    assert held[root] is None
    assert (held[child]["status"], held[child]["reason"]) == ("held", "SANCTIONED")
    sanction(chain, "rhein-parts", False)
    trace = receivables_queries.trace(chain.store, child)
    assert trace is not None and trace["totals"]["held"] == 0
    view = receivables_queries.piece_view(chain.store, child)
    assert view is not None and view["hold"]["status"] == "released"
