"""receivables.share_document through the real executor: the creditor or a holder grants an
organization the invoice's document; every refusal leaves the whole state as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import receivables_documents
from contracts.receivables_documents import MAX_SHARES, document_access
from tests.support.compliance_flow import events_of
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import document, expect_failure, issue, issue_accepted


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def share(chain: ContractChain, org: str, piece_id: str, to: str) -> None:
    receipt = chain.submit(org, "receivables", "share_document", {"id": piece_id, "org": to})
    assert receipt.status == "ok", receipt.error
    (event,) = events_of(receipt, "document_shared")
    assert event["by"] == org and event["to"] == to and event["piece"] == piece_id


def test_the_creditor_shares_and_the_ledger_records_who_may_read(chain: ContractChain) -> None:
    root = issue(chain)
    share(chain, "acme-steel", root, "bank-a")
    access = document_access(chain.store, document("INV-1001"))
    assert access is not None and access.root == root
    assert access.readers() == {"acme-steel", "bigauto", "bank-a"}
    (grant,) = access.shared
    assert grant["org"] == "bank-a" and grant["by"] == "acme-steel"


def test_a_holder_of_a_piece_shares_the_invoices_document(chain: ContractChain) -> None:
    root = issue_accepted(chain)
    move = {"id": root, "to": "ore-mining", "amount": 1_000}
    ore = chain.call("acme-steel", "receivables", "transfer", move)["id"]
    share(chain, "ore-mining", ore, "bank-b")
    access = document_access(chain.store, document("INV-1001"))
    assert access is not None and "bank-b" in access.readers()
    assert access.root == root


def test_share_refusals_change_nothing(chain: ContractChain) -> None:
    root = issue(chain)
    ask = {"id": root, "org": "bank-a"}
    expect_failure(chain, "NOT_PARTY", "fuel-co", "share_document", ask)
    expect_failure(chain, "NOT_PARTY", "bigauto", "share_document", ask)  # the debtor
    expect_failure(
        chain, "UNKNOWN_ORG", "acme-steel", "share_document", {"id": root, "org": "nobody"}
    )
    expect_failure(
        chain, "UNKNOWN_RECEIVABLE", "acme-steel", "share_document", {**ask, "id": "ab" * 32}
    )
    expect_failure(
        chain, "SELF_SHARE", "acme-steel", "share_document", {**ask, "org": "acme-steel"}
    )
    expect_failure(
        chain, "ALREADY_SHARED", "acme-steel", "share_document", {**ask, "org": "bigauto"}
    )
    share(chain, "acme-steel", root, "bank-a")
    expect_failure(chain, "ALREADY_SHARED", "acme-steel", "share_document", ask)


def test_an_invoice_is_shared_with_at_most_max_shares(
    chain: ContractChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cast has fewer organizations than MAX_SHARES, so the bound is lowered to reach it."""
    assert MAX_SHARES >= 8
    monkeypatch.setattr(receivables_documents, "MAX_SHARES", 2)
    root = issue(chain)
    share(chain, "acme-steel", root, "bank-a")
    share(chain, "acme-steel", root, "audit-co")
    assert chain.state(f"rcv/docshares/{root}") == 2
    ask = {"id": root, "org": "bank-b"}
    expect_failure(chain, "SHARE_LIMIT", "acme-steel", "share_document", ask)
