"""Overdue, grace, default and recourse, at controlled block time: every rule, every refusal
with its code and no state change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from contracts import receivables_queries
from contracts.catalog import genesis_state
from ledger.errors import GenesisError
from ledger.genesis import genesis_from_value
from node.ops.devnet import make_devnet
from tests.support.compliance_flow import events_of, sanction
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import (
    MILLION,
    expect_failure,
    issue_accepted,
    issue_args,
    piece,
)

ORE = 30_000_000  # ore-mining's piece of INV-1001
DUE_DAY = 90  # 2026-04-01, days after genesis (2026-01-01)
GRACE = 30  # the dev chain's params.receivable_grace_days


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    for org in ("bigauto", "bank-a", "bank-b", "ore-mining"):
        chain.fund(org, "CNY", 2 * MILLION)
    yield chain
    chain.close()


def on_day(chain: ContractChain, day: int) -> None:
    chain.set_time(chain.genesis.time_ms + day * DAY_MS)


def sold(chain: ContractChain, with_recourse: bool, bank: str = "bank-a") -> tuple[str, str]:
    """INV-1001, ORE of it passed to ore-mining, which sells it to `bank`."""
    root = issue_accepted(chain)
    args = {"id": root, "to": "ore-mining", "amount": ORE}
    ore = chain.call("acme-steel", "receivables", "transfer", args)["id"]
    terms = {"id": ore, "rate_bps": 600, "expires_ms": chain.now_ms + DAY_MS}
    if with_recourse:
        terms["with_recourse"] = True
    offer = chain.call(bank, "receivables", "offer_financing", terms)["id"]
    chain.call("ore-mining", "receivables", "accept_financing", {"offer": offer})
    return root, ore


def defaulted(chain: ContractChain, with_recourse: bool = True) -> tuple[str, str]:
    root, ore = sold(chain, with_recourse)
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    return root, ore


# -- overdue and default ----------------------------------------------------------------------


def test_default_waits_for_the_end_of_the_grace_period(chain: ContractChain) -> None:
    root, ore = sold(chain, with_recourse=False)
    expect_failure(chain, "IN_GRACE", "acme-steel", "declare_default", {"id": root})
    on_day(chain, DUE_DAY + 1)
    chain.call("bank-b", "receivables", "mark_overdue", {"id": ore})
    assert {piece(chain, i)["status"] for i in (root, ore)} == {"overdue"}
    on_day(chain, DUE_DAY + GRACE)  # the last day of grace
    expect_failure(chain, "IN_GRACE", "acme-steel", "declare_default", {"id": root})
    on_day(chain, DUE_DAY + GRACE + 1)
    expect_failure(chain, "NOT_HOLDER", "bigauto", "declare_default", {"id": root})
    expect_failure(chain, "NOT_HOLDER", "bank-b", "declare_default", {"id": root})
    receipt = chain.submit("bank-a", "receivables", "declare_default", {"id": root})
    assert receipt.status == "ok", receipt.error
    assert events_of(receipt, "receivable_defaulted") == [
        {
            "contract": "receivables",
            "type": "receivable_defaulted",
            "id": root,
            "debtor": "bigauto",
            "by": "bank-a",
            "outstanding": MILLION,
        }
    ]
    assert {piece(chain, i)["status"] for i in (root, ore)} == {"defaulted"}
    assert piece(chain, ore)["history"][-1]["action"] == "default"
    expect_failure(chain, "ALREADY_DEFAULTED", "acme-steel", "declare_default", {"id": ore})
    expect_failure(chain, "NOT_OUTSTANDING", "acme-steel", "mark_overdue", {"id": ore})


def _args(number: str, **extra: object) -> dict[str, object]:
    return issue_args(invoice_no=number, **extra)


def test_default_needs_an_accepted_unsettled_invoice(chain: ContractChain) -> None:
    pending = chain.call("acme-steel", "receivables", "issue", _args("P"))["id"]
    root = issue_accepted(chain, invoice_no="S")
    chain.call("bigauto", "receivables", "repay", {"id": root})
    on_day(chain, 365)
    expect_failure(chain, "NOT_OUTSTANDING", "acme-steel", "declare_default", {"id": pending})
    expect_failure(chain, "NOT_OUTSTANDING", "acme-steel", "declare_default", {"id": root})
    expect_failure(chain, "UNKNOWN_RECEIVABLE", "acme-steel", "declare_default", {"id": "ab" * 32})


def test_grace_days_per_invoice(chain: ContractChain) -> None:
    root = chain.call("acme-steel", "receivables", "issue", _args("G0", grace_days=0))["id"]
    chain.call("bigauto", "receivables", "accept", {"id": root})
    assert piece(chain, root)["grace_days"] == 0
    on_day(chain, DUE_DAY)
    expect_failure(chain, "IN_GRACE", "acme-steel", "declare_default", {"id": root})
    on_day(chain, DUE_DAY + 1)
    chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    for bad in (-1, 3651, True, "5"):
        receipt = chain.submit("acme-steel", "receivables", "issue", _args("GB", grace_days=bad))
        assert receipt.error is not None and receipt.error.code == "BAD_ARGUMENT", bad


def test_an_invoice_without_grace_days_stores_none(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    assert "grace_days" not in piece(chain, root)  # the chain's default applies


def test_the_genesis_grace_period_applies_by_default(tmp_path: Path) -> None:
    chain = ContractChain(tmp_path / "db", params={"receivable_grace_days": 5})
    try:
        assert chain.state("reg/param/receivable_grace_days") == 5
        root = issue_accepted(chain)
        on_day(chain, DUE_DAY + 5)
        expect_failure(chain, "IN_GRACE", "acme-steel", "declare_default", {"id": root})
        on_day(chain, DUE_DAY + 6)
        chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    finally:
        chain.close()


def test_genesis_grace_param_is_validated_and_kept_out_of_state_at_its_default() -> None:
    devnet = make_devnet(1, seed=b"grace")
    assert devnet.genesis["params"]["receivable_grace_days"] == GRACE
    assert "reg/param/receivable_grace_days" not in genesis_state(
        genesis_from_value(devnet.genesis)
    )
    for bad in (-1, 3651, True):
        raw = make_devnet(1, seed=b"grace", params={"receivable_grace_days": bad}).genesis
        with pytest.raises(GenesisError, match="receivable_grace_days"):
            genesis_from_value(raw)
    zero = make_devnet(1, seed=b"grace", params={"receivable_grace_days": 0}).genesis
    assert genesis_state(genesis_from_value(zero))["reg/param/receivable_grace_days"] == 0


def test_nothing_changes_hands_once_overdue_or_defaulted(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    on_day(chain, DUE_DAY + 1)
    move = {"id": root, "to": "ore-mining", "amount": 1}
    expect_failure(chain, "NOT_TRANSFERABLE", "acme-steel", "transfer", move)
    offer = {"id": root, "rate_bps": 100, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "NOT_TRANSFERABLE", "bank-a", "offer_financing", offer)
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    expect_failure(chain, "NOT_TRANSFERABLE", "acme-steel", "transfer", move)
    # A defaulted invoice is still repaid, in part too.
    result = chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 5})
    assert result == {"paid": {"acme-steel": 5}, "outstanding": MILLION - 5}
    assert piece(chain, root)["status"] == "defaulted"


# -- recourse ---------------------------------------------------------------------------------


def test_recourse_turns_a_defaulted_piece_on_its_seller(chain: ContractChain) -> None:
    root, ore = defaulted(chain)
    bank_before = chain.balance("CNY", "bank-a")
    receipt = chain.submit("bank-a", "receivables", "recourse", {"id": ore})
    assert receipt.status == "ok", receipt.error
    assert receipt.result == {"debtor": "ore-mining", "amount": ORE}
    turned = piece(chain, ore)
    assert turned["debtor"] == "ore-mining" and turned["recourse_from"] == "bigauto"
    assert turned["status"] == "accepted" and turned["due_date"] == "2026-05-02"
    assert turned["history"][-1]["action"] == "recourse"
    assert chain.state(f"rcv/debtor/ore-mining/{ore}") == 1
    (event,) = events_of(receipt, "receivable_recourse")
    assert event["seller"] == "ore-mining" and event["from"] == "bigauto"
    # The invoice's debtor now owes only the pieces never turned back.
    result = chain.call("bigauto", "receivables", "repay", {"id": root, "amount": 1_000})
    assert result == {"paid": {"acme-steel": 1_000}, "outstanding": MILLION - ORE - 1_000}
    # The seller repays the turned piece, in part, then the rest.
    expect_failure(chain, "NOT_DEBTOR", "ore-mining", "repay", {"id": root})  # not its debt
    part = chain.call("ore-mining", "receivables", "repay", {"id": ore, "amount": 10_000_000})
    assert part == {"paid": {"bank-a": 10_000_000}, "outstanding": ORE - 10_000_000}
    rest = chain.call("ore-mining", "receivables", "repay", {"id": ore})
    assert rest == {"paid": {"bank-a": ORE - 10_000_000}, "outstanding": 0}
    assert chain.balance("CNY", "bank-a") == bank_before + ORE
    assert piece(chain, ore)["status"] == "settled"
    assert piece(chain, root)["status"] == "defaulted"


def test_a_turned_piece_goes_overdue_and_defaults_on_its_own(chain: ContractChain) -> None:
    root, ore = defaulted(chain)
    chain.call("bank-a", "receivables", "recourse", {"id": ore})
    expect_failure(chain, "NOT_DUE", "bank-a", "mark_overdue", {"id": ore})
    move = {"id": ore, "to": "bank-b", "amount": ORE}
    expect_failure(chain, "NOT_TRANSFERABLE", "bank-a", "transfer", move)
    chain.advance_time(days=1)
    chain.call("bank-a", "receivables", "mark_overdue", {"id": ore})
    assert piece(chain, ore)["status"] == "overdue"
    assert piece(chain, root)["status"] == "defaulted"
    expect_failure(chain, "IN_GRACE", "bank-a", "declare_default", {"id": ore})
    chain.advance_time(days=GRACE)
    expect_failure(chain, "NOT_HOLDER", "acme-steel", "declare_default", {"id": ore})
    chain.call("bank-a", "receivables", "declare_default", {"id": ore})
    assert piece(chain, ore)["status"] == "defaulted"
    expect_failure(chain, "ALREADY_TURNED", "bank-a", "recourse", {"id": ore})
    assert chain.call("ore-mining", "receivables", "repay", {"id": ore})["outstanding"] == 0


def test_recourse_refusals_change_nothing(chain: ContractChain) -> None:
    root, ore = sold(chain, with_recourse=True)
    expect_failure(chain, "NOT_DEFAULTED", "bank-a", "recourse", {"id": ore})
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("acme-steel", "receivables", "declare_default", {"id": root})
    expect_failure(chain, "NOT_AUTHORIZED", "ore-mining", "recourse", {"id": ore})
    expect_failure(chain, "NOT_HOLDER", "bank-b", "recourse", {"id": ore})
    expect_failure(chain, "NOT_HOLDER", "bank-a", "recourse", {"id": root})
    expect_failure(chain, "UNKNOWN_RECEIVABLE", "bank-a", "recourse", {"id": "ab" * 32})
    sanction(chain, "ore-mining")
    expect_failure(chain, "SANCTIONED", "bank-a", "recourse", {"id": ore})
    sanction(chain, "ore-mining", False)
    chain.call("bank-a", "receivables", "recourse", {"id": ore})


def test_a_piece_bought_without_recourse_stays_a_claim_on_the_debtor(chain: ContractChain) -> None:
    root, ore = defaulted(chain, with_recourse=False)
    assert piece(chain, ore)["financing"].get("with_recourse") is None
    expect_failure(chain, "WITHOUT_RECOURSE", "bank-a", "recourse", {"id": ore})
    result = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert result["paid"]["bank-a"] == ORE


def test_a_bank_that_did_not_buy_the_piece_has_no_recourse(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    args = {"id": root, "to": "bank-c", "amount": ORE}
    given = chain.call("acme-steel", "receivables", "transfer", args)["id"]
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("bank-c", "receivables", "declare_default", {"id": given})
    expect_failure(chain, "NOT_FINANCED", "bank-c", "recourse", {"id": given})


def test_the_recourse_repayment_to_a_sanctioned_bank_is_held(chain: ContractChain) -> None:
    _, ore = defaulted(chain)
    chain.call("bank-a", "receivables", "recourse", {"id": ore})
    sanction(chain, "bank-a")
    result = chain.call("ore-mining", "receivables", "repay", {"id": ore, "amount": 5})
    assert result == {"paid": {}, "outstanding": ORE - 5, "held": {"bank-a": 5}}
    assert chain.state("cash/held/CNY/bank-a") == 5
    sanction(chain, "ore-mining")
    expect_failure(chain, "SANCTIONED", "ore-mining", "repay", {"id": ore, "amount": 5})


def test_the_trace_keeps_the_invoices_debtor_and_due_date_once_its_root_is_turned(
    chain: ContractChain,
) -> None:
    """Recourse makes the seller the turned piece's debtor, due that day; when the turned piece
    is the invoice's first one, the trace must still name the invoice's own debtor and due date
    (and count the grace days from it), which the recourse step keeps as `was_due`."""
    root = issue_accepted(chain)
    args = {"id": root, "rate_bps": 600, "expires_ms": chain.now_ms + DAY_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", {**args, "with_recourse": True})
    chain.call("acme-steel", "receivables", "accept_financing", {"offer": offer["id"]})
    due = piece(chain, root)["due_date"]
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("bank-a", "receivables", "declare_default", {"id": root})
    chain.call("bank-a", "receivables", "recourse", {"id": root})
    assert piece(chain, root)["history"][-1]["was_due"] == due
    trace = receivables_queries.trace(chain.store, root)
    assert trace is not None
    assert trace["debtor"] == "bigauto" and trace["due_date"] == due
    assert trace["pieces"][0]["debtor"] == "acme-steel"
    assert trace["last_grace_day"] == (date.fromisoformat(due) + timedelta(days=GRACE)).isoformat()


def test_the_trace_says_the_invoice_is_in_default_after_its_root_was_turned_and_repaid(
    chain: ContractChain,
) -> None:
    """The root piece, sold with recourse, turned on its seller and repaid by it, is settled;
    the rest of the invoice is still owed by its debtor, in default: the trace's status is the
    invoice's, not the root piece's (`tally receivable trace` printed "settled")."""
    root = issue_accepted(chain)
    face = piece(chain, root)["amount"]
    part = {"id": root, "to": "ore-mining", "amount": face // 4}
    chain.call("acme-steel", "receivables", "transfer", part)
    args = {"id": root, "rate_bps": 600, "expires_ms": chain.now_ms + DAY_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", {**args, "with_recourse": True})
    chain.call("acme-steel", "receivables", "accept_financing", {"offer": offer["id"]})
    on_day(chain, DUE_DAY + GRACE + 1)
    chain.call("bank-a", "receivables", "declare_default", {"id": root})
    chain.call("bank-a", "receivables", "recourse", {"id": root})
    cash = {"currency": "CNY", "to": "acme-steel", "amount": face}
    chain.call("bank-a", "cash", "issue", cash)
    chain.call("acme-steel", "receivables", "repay", {"id": root})
    assert piece(chain, root)["status"] == "settled"
    trace = receivables_queries.trace(chain.store, root)
    assert trace is not None
    assert trace["status"] == "defaulted"
    assert {p["status"] for p in trace["pieces"] if p["id"] != root} == {"defaulted"}
