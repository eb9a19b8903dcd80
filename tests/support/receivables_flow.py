"""Shortcuts for receivables tests: the dev cast's usual invoice, issued and accepted."""

from __future__ import annotations

from typing import Any

from ledger.hashing import sha256
from tests.support.contract_chain import ContractChain

DOC = sha256(b"INV-1001.pdf")  # document("INV-1001")
ISSUE_DATE = "2026-01-01"  # the genesis date
DUE_DATE = "2026-04-01"  # 90 days later
MILLION = 100_000_000  # 1,000,000.00 CNY in minor units


def document(invoice_no: str) -> bytes:
    """The hash of an invoice's document: one document per invoice number (a document backs
    at most one invoice, so invoices that share none must not share a document either)."""
    return sha256(f"{invoice_no}.pdf".encode())


def issue_args(**overrides: Any) -> dict[str, Any]:
    invoice_no = overrides.get("invoice_no", "INV-1001")
    args: dict[str, Any] = {
        "invoice_no": invoice_no,
        "debtor": "bigauto",
        "amount": MILLION,
        "currency": "CNY",
        "issue_date": ISSUE_DATE,
        "due_date": DUE_DATE,
        "doc_hash": document(invoice_no) if isinstance(invoice_no, str) else DOC,
    }
    args.update(overrides)
    return args


def issue(chain: ContractChain, creditor: str = "acme-steel", **overrides: Any) -> str:
    return str(chain.call(creditor, "receivables", "issue", issue_args(**overrides))["id"])


def issue_accepted(chain: ContractChain, creditor: str = "acme-steel", **overrides: Any) -> str:
    piece_id = issue(chain, creditor, **overrides)
    debtor = overrides.get("debtor", "bigauto")
    chain.call(debtor, "receivables", "accept", {"id": piece_id})
    return piece_id


def piece(chain: ContractChain, piece_id: str) -> dict[str, Any]:
    record = chain.state(f"rcv/piece/{piece_id}")
    assert record is not None, piece_id
    return dict(record)


def expect_failure(
    chain: ContractChain,
    code: str,
    org: str,
    method: str,
    args: dict[str, Any],
    role: str = "operator",
) -> None:
    """The call fails with `code` and leaves every state key exactly as it was."""
    before = chain.state_items()
    receipt = chain.submit(org, "receivables", method, args, role)
    assert receipt.status == "failed", f"{method} succeeded, expected {code}"
    assert receipt.error is not None and receipt.error.code == code, receipt.error
    assert chain.state_items() == before
