"""Every receivables rule fails with its own code and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.contract_chain import DAY_MS, ContractChain
from tests.support.receivables_flow import (
    DOC,
    MILLION,
    document,
    expect_failure,
    issue,
    issue_accepted,
    issue_args,
    piece,
)

ABSENT = "ab" * 32


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def _split(chain: ContractChain, piece_id: str, holder: str, to: str, amount: int) -> str:
    args = {"id": piece_id, "to": to, "amount": amount}
    return str(chain.call(holder, "receivables", "transfer", args)["id"])


def _offer(chain: ContractChain, piece_id: str, bank: str = "bank-a", rate: int = 600) -> str:
    args = {"id": piece_id, "rate_bps": rate, "expires_ms": chain.now_ms + DAY_MS}
    return str(chain.call(bank, "receivables", "offer_financing", args)["id"])


def _past_due(chain: ContractChain) -> None:
    chain.set_time(chain.genesis.time_ms + 91 * DAY_MS)  # 2026-04-02


# -- issue -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "org", "overrides"),
    [
        ("NOT_AUTHORIZED", "bank-a", {}),  # only an enterprise issues invoices
        ("NOT_AUTHORIZED", "audit-co", {}),
        ("UNKNOWN_CURRENCY", "acme-steel", {"currency": "XAU"}),
        ("SELF_INVOICE", "acme-steel", {"debtor": "acme-steel"}),
        ("UNKNOWN_ORG", "acme-steel", {"debtor": "nobody"}),
        ("DEBTOR_NOT_ENTERPRISE", "acme-steel", {"debtor": "bank-b"}),
        ("BAD_DATES", "acme-steel", {"due_date": "2026-01-01"}),
        ("BAD_DATES", "acme-steel", {"due_date": "2025-12-31"}),
        ("BAD_ARGUMENT", "acme-steel", {"amount": 0}),
        ("BAD_ARGUMENT", "acme-steel", {"amount": -5}),
        ("BAD_ARGUMENT", "acme-steel", {"doc_hash": b"short"}),
        ("BAD_ARGUMENT", "acme-steel", {"due_date": "2026-02-30"}),
        ("BAD_ARGUMENT", "acme-steel", {"invoice_no": ""}),
    ],
)
def test_issue_rules(
    chain: ContractChain, code: str, org: str, overrides: dict[str, object]
) -> None:
    expect_failure(chain, code, org, "issue", issue_args(**overrides))


def test_creditor_is_the_caller_never_an_argument(chain: ContractChain) -> None:
    expect_failure(chain, "BAD_ARGUMENT", "acme-steel", "issue", {**issue_args(), "creditor": "x"})


def test_issuer_is_creditor_and_first_holder(chain: ContractChain) -> None:
    record = piece(chain, issue(chain, "ore-mining", debtor="acme-steel"))
    assert (record["creditor"], record["holder"], record["debtor"]) == (
        "ore-mining", "ore-mining", "acme-steel"
    )  # fmt: skip
    assert record["doc_hash"] == DOC and record["status"] == "issued"


def test_same_invoice_issued_twice_is_refused(chain: ContractChain) -> None:
    issue_accepted(chain)
    expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", issue_args())
    expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", issue_args(amount=5))


def test_rejected_invoice_number_stays_used(chain: ContractChain) -> None:
    root = issue(chain)
    chain.call("bigauto", "receivables", "reject", {"id": root, "reason": "not delivered"})
    expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", issue_args())


def test_same_number_for_another_debtor_or_creditor_is_a_different_invoice(
    chain: ContractChain,
) -> None:
    issue(chain)
    issue(chain, debtor="rhein-parts", doc_hash=document("INV-1001 to rhein-parts"))
    issue(chain, "ore-mining", doc_hash=document("INV-1001 of ore-mining"))


def test_invoice_numbers_with_slashes_cannot_collide(chain: ContractChain) -> None:
    first = issue(chain, invoice_no="2026/1")
    second = issue(chain, invoice_no="2026%2F1")
    assert first != second
    assert chain.state("rcv/invno/2026%2F1/acme-steel/bigauto") == first
    assert chain.state("rcv/invno/2026%252F1/acme-steel/bigauto") == second
    assert chain.state("rcv/invoice/acme-steel/bigauto/20261") == first  # normalized
    assert chain.state("rcv/invoice/acme-steel/bigauto/2026%252f1") == second


def test_duplicate_in_one_block_second_fails(chain: ContractChain) -> None:
    txs = [chain.tx("acme-steel", "receivables", "issue", issue_args()) for _ in range(2)]
    first, second = chain.commit(txs)
    assert first.status == "ok"
    assert second.error is not None and second.error.code == "DUPLICATE_INVOICE"


# -- accept / reject -------------------------------------------------------------------------


def test_only_the_debtor_accepts_or_rejects(chain: ContractChain) -> None:
    root = issue(chain)
    expect_failure(chain, "NOT_DEBTOR", "acme-steel", "accept", {"id": root})
    expect_failure(chain, "NOT_DEBTOR", "ore-mining", "reject", {"id": root, "reason": "no"})
    expect_failure(chain, "NOT_AUTHORIZED", "bank-a", "accept", {"id": root})


def test_accept_and_reject_only_once(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    expect_failure(chain, "NOT_PENDING", "bigauto", "accept", {"id": root})
    expect_failure(chain, "NOT_PENDING", "bigauto", "reject", {"id": root, "reason": "late"})


def test_unknown_receivable(chain: ContractChain) -> None:
    expect_failure(chain, "UNKNOWN_RECEIVABLE", "bigauto", "accept", {"id": ABSENT})
    expect_failure(chain, "BAD_ARGUMENT", "bigauto", "accept", {"id": "INV-1001"})


# -- transfer --------------------------------------------------------------------------------


def test_only_the_holder_transfers(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    args = {"id": root, "to": "fuel-co", "amount": 1}
    expect_failure(chain, "NOT_HOLDER", "ore-mining", "transfer", args)
    expect_failure(chain, "NOT_HOLDER", "bigauto", "transfer", args)


def test_transfer_needs_acceptance(chain: ContractChain) -> None:
    root = issue(chain)
    args = {"id": root, "to": "ore-mining", "amount": 1}
    expect_failure(chain, "NOT_ACCEPTED", "acme-steel", "transfer", args)


def test_no_transfer_of_rejected_settled_overdue_or_due_pieces(chain: ContractChain) -> None:
    rejected = issue(chain, invoice_no="R")
    chain.call("bigauto", "receivables", "reject", {"id": rejected, "reason": "damaged"})
    settled = issue_accepted(chain, invoice_no="S", amount=100)
    chain.fund("bigauto", "CNY", 100)
    chain.call("bigauto", "receivables", "repay", {"id": settled})
    due = issue_accepted(chain, invoice_no="D")
    overdue = issue_accepted(chain, invoice_no="O")
    _past_due(chain)
    chain.call("bigauto", "receivables", "mark_overdue", {"id": overdue})
    for piece_id in (rejected, settled, due, overdue):
        args = {"id": piece_id, "to": "ore-mining", "amount": 1}
        expect_failure(chain, "NOT_TRANSFERABLE", "acme-steel", "transfer", args)


def test_transfer_amount_and_recipient_rules(chain: ContractChain) -> None:
    root = issue_accepted(chain)

    def args(to: str, amount: int) -> dict[str, object]:
        return {"id": root, "to": to, "amount": amount}

    expect_failure(
        chain, "AMOUNT_EXCEEDS_PIECE", "acme-steel", "transfer", args("fuel-co", MILLION + 1)
    )
    expect_failure(chain, "BAD_ARGUMENT", "acme-steel", "transfer", args("fuel-co", 0))
    expect_failure(chain, "SELF_TRANSFER", "acme-steel", "transfer", args("acme-steel", 1))
    expect_failure(chain, "BAD_RECIPIENT", "acme-steel", "transfer", args("bigauto", 1))
    expect_failure(chain, "BAD_RECIPIENT", "acme-steel", "transfer", args("audit-co", 1))
    expect_failure(chain, "UNKNOWN_ORG", "acme-steel", "transfer", args("nobody", 1))


def test_whole_transfer_keeps_the_id_and_moves_the_index(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    args = {"id": root, "to": "ore-mining", "amount": MILLION}
    assert chain.call("acme-steel", "receivables", "transfer", args) == {"id": root}
    assert piece(chain, root)["holder"] == "ore-mining"
    assert chain.state(f"rcv/holder/acme-steel/{root}") is None
    assert chain.state(f"rcv/holder/ore-mining/{root}") == 1
    history = piece(chain, root)["history"]
    assert [e["action"] for e in history] == ["issue", "accept", "transfer"]
    assert all(len(e["tx"]) == 64 and e["height"] >= 1 for e in history)


def test_split_conserves_the_face_amount(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    child = _split(chain, root, "acme-steel", "ore-mining", 1)
    grandchild = _split(chain, child, "ore-mining", "fuel-co", 1)
    assert grandchild == child  # 1 of 1 is the whole piece: same id, new holder
    assert piece(chain, child)["holder"] == "fuel-co"
    assert piece(chain, root)["amount"] + piece(chain, child)["amount"] == MILLION
    assert piece(chain, root)["children"] == [child]


# -- financing -------------------------------------------------------------------------------


def test_only_a_bank_offers_and_not_on_its_own_piece(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    args = {"id": root, "rate_bps": 600, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "NOT_AUTHORIZED", "ore-mining", "offer_financing", args)
    chain.call("acme-steel", "receivables", "transfer", {"id": root, "to": "bank-c", "amount": 1})
    child = piece(chain, root)["children"][0]
    expect_failure(chain, "OWN_PIECE", "bank-c", "offer_financing", {**args, "id": child})


def test_offer_rules(chain: ContractChain) -> None:
    pending = issue(chain, invoice_no="P")
    root = issue_accepted(chain)
    args = {"id": root, "rate_bps": 600, "expires_ms": chain.now_ms}
    expect_failure(chain, "OFFER_EXPIRED", "bank-a", "offer_financing", args)
    expect_failure(chain, "BAD_ARGUMENT", "bank-a", "offer_financing", {**args, "rate_bps": 10_001})
    later = {"id": pending, "rate_bps": 600, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "NOT_ACCEPTED", "bank-a", "offer_financing", later)


def test_accept_financing_pays_the_price_and_moves_the_piece(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    chain.fund("bank-b", "CNY", MILLION)
    offer = _offer(chain, root, "bank-b", 360)  # 3.6 %, 90 days: 0.9 % discount
    result = chain.call("acme-steel", "receivables", "accept_financing", {"offer": offer})
    assert result == {"price": MILLION - 900_000}
    assert chain.balance("CNY", "acme-steel") == MILLION - 900_000
    assert chain.balance("CNY", "bank-b") == 900_000
    record = piece(chain, root)
    assert (record["holder"], record["financed_by"]) == ("bank-b", "bank-b")
    assert record["financing"]["days"] == 90
    assert chain.state(f"rcv/offer/{offer}")["status"] == "taken"


def test_accept_financing_rules(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    offer = _offer(chain, root)
    expect_failure(chain, "UNKNOWN_OFFER", "acme-steel", "accept_financing", {"offer": ABSENT})
    expect_failure(chain, "NOT_HOLDER", "ore-mining", "accept_financing", {"offer": offer})
    expect_failure(chain, "INSUFFICIENT_FUNDS", "acme-steel", "accept_financing", {"offer": offer})
    chain.advance_time(days=2)
    expect_failure(chain, "OFFER_EXPIRED", "acme-steel", "accept_financing", {"offer": offer})


def test_offer_on_a_piece_that_changed_amount_or_holder_is_void(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    root = issue_accepted(chain)
    offer = _offer(chain, root)
    _split(chain, root, "acme-steel", "ore-mining", 1)
    expect_failure(chain, "OFFER_VOID", "acme-steel", "accept_financing", {"offer": offer})
    child = piece(chain, root)["children"][0]
    child_offer = _offer(chain, child)
    _split(chain, child, "ore-mining", "fuel-co", 1)  # whole: holder changes
    _split(chain, child, "fuel-co", "ore-mining", 1)  # and back: same holder and amount ...
    assert piece(chain, child)["holder"] == "ore-mining"
    # ... but the piece changed hands since the offer, so the offer stays void.
    expect_failure(chain, "OFFER_VOID", "ore-mining", "accept_financing", {"offer": child_offer})
    assert chain.call(
        "ore-mining", "receivables", "accept_financing", {"offer": _offer(chain, child)}
    )
    moved = _offer(chain, root)
    _split(chain, root, "acme-steel", "fuel-co", piece(chain, root)["amount"])
    expect_failure(chain, "NOT_HOLDER", "acme-steel", "accept_financing", {"offer": moved})
    expect_failure(chain, "OFFER_VOID", "fuel-co", "accept_financing", {"offer": moved})


def test_zero_price_is_refused(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    root = issue_accepted(chain, due_date="2027-06-01")  # 516 days at 100 %: nothing left
    offer = _offer(chain, root, rate=10_000)
    expect_failure(chain, "ZERO_PRICE", "acme-steel", "accept_financing", {"offer": offer})


def test_same_piece_sold_to_two_banks_is_refused(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    chain.fund("bank-b", "CNY", MILLION)
    root = issue_accepted(chain)
    first = _offer(chain, root, "bank-a")
    second = _offer(chain, root, "bank-b")
    chain.call("acme-steel", "receivables", "accept_financing", {"offer": first})
    expect_failure(chain, "ALREADY_FINANCED", "acme-steel", "accept_financing", {"offer": second})
    expect_failure(chain, "ALREADY_FINANCED", "bank-a", "accept_financing", {"offer": second})
    expect_failure(chain, "OFFER_CLOSED", "acme-steel", "accept_financing", {"offer": first})
    args = {"id": root, "rate_bps": 1, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "ALREADY_FINANCED", "bank-c", "offer_financing", args)


def test_same_piece_sold_twice_in_one_block_second_fails(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    chain.fund("bank-b", "CNY", MILLION)
    root = issue_accepted(chain)
    offers = [_offer(chain, root, "bank-a"), _offer(chain, root, "bank-b")]
    txs = [chain.tx("acme-steel", "receivables", "accept_financing", {"offer": o}) for o in offers]
    first, second = chain.commit(txs)
    assert first.status == "ok"
    assert second.error is not None and second.error.code == "ALREADY_FINANCED"
    assert chain.balance("CNY", "bank-b") == MILLION


def test_piece_sold_then_transferred_by_the_old_holder_is_refused(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    root = issue_accepted(chain)
    chain.call("acme-steel", "receivables", "accept_financing", {"offer": _offer(chain, root)})
    args = {"id": root, "to": "ore-mining", "amount": 1}
    expect_failure(chain, "NOT_HOLDER", "acme-steel", "transfer", args)
    expect_failure(chain, "NOT_HOLDER", "acme-steel", "transfer", {**args, "amount": MILLION})


def test_financed_piece_keeps_its_mark_when_split(chain: ContractChain) -> None:
    chain.fund("bank-a", "CNY", MILLION)
    root = issue_accepted(chain)
    chain.call("acme-steel", "receivables", "accept_financing", {"offer": _offer(chain, root)})
    child = _split(chain, root, "bank-a", "bank-b", 10)
    args = {"id": child, "rate_bps": 1, "expires_ms": chain.now_ms + DAY_MS}
    expect_failure(chain, "ALREADY_FINANCED", "bank-c", "offer_financing", args)


# -- repay and overdue -----------------------------------------------------------------------


def test_repay_rules(chain: ContractChain) -> None:
    pending = issue(chain, invoice_no="P")
    root = issue_accepted(chain)
    child = _split(chain, root, "acme-steel", "ore-mining", 5)
    expect_failure(chain, "NOT_ACCEPTED", "bigauto", "repay", {"id": pending})
    expect_failure(chain, "NOT_ROOT", "bigauto", "repay", {"id": child})
    expect_failure(chain, "NOT_DEBTOR", "acme-steel", "repay", {"id": root})
    chain.fund("bigauto", "CNY", MILLION - 1)
    expect_failure(chain, "INSUFFICIENT_FUNDS", "bigauto", "repay", {"id": root})
    chain.fund("bigauto", "CNY", 1)
    paid = chain.call("bigauto", "receivables", "repay", {"id": root})
    assert paid == {"paid": {"acme-steel": MILLION - 5, "ore-mining": 5}, "outstanding": 0}
    expect_failure(chain, "ALREADY_SETTLED", "bigauto", "repay", {"id": root})


def test_repaying_a_rejected_invoice_is_refused(chain: ContractChain) -> None:
    root = issue(chain)
    chain.call("bigauto", "receivables", "reject", {"id": root, "reason": "wrong price"})
    chain.fund("bigauto", "CNY", MILLION)
    expect_failure(chain, "NOT_ACCEPTED", "bigauto", "repay", {"id": root})


def test_mark_overdue_rules(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    child = _split(chain, root, "acme-steel", "fuel-co", 5)
    expect_failure(chain, "NOT_DUE", "bigauto", "mark_overdue", {"id": root})
    chain.set_time(chain.genesis.time_ms + 90 * DAY_MS)  # the due date itself: not yet overdue
    expect_failure(chain, "NOT_DUE", "fuel-co", "mark_overdue", {"id": child})
    _past_due(chain)
    expect_failure(chain, "NOT_AUTHORIZED", "rhein-parts", "mark_overdue", {"id": root})
    expect_failure(chain, "NOT_AUTHORIZED", "audit-co", "mark_overdue", {"id": root})
    chain.call("fuel-co", "receivables", "mark_overdue", {"id": child})  # a holder of any piece
    assert piece(chain, root)["status"] == piece(chain, child)["status"] == "overdue"
    expect_failure(chain, "NOT_OUTSTANDING", "bank-d", "mark_overdue", {"id": root})
    chain.fund("bigauto", "CNY", MILLION)
    chain.call("bigauto", "receivables", "repay", {"id": root})  # late payment still settles
    assert piece(chain, child)["status"] == "settled"


@pytest.mark.parametrize("who", ["bigauto", "bank-d", "acme-steel"])
def test_debtor_any_bank_or_holder_may_mark_overdue(chain: ContractChain, who: str) -> None:
    root = issue_accepted(chain)
    _past_due(chain)
    chain.call(who, "receivables", "mark_overdue", {"id": root})
    assert piece(chain, root)["status"] == "overdue"
    assert [e["action"] for e in piece(chain, root)["history"]][-1] == "overdue"
