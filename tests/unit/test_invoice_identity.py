"""One invoice, however its number is written, is issued once; one document backs one invoice.

The vectors are the normalization of DESIGN.md §10 (contracts/invoice_identity.py): the six
spellings of issue 12, finding 2, and more (ligatures, full-width digits, other dashes, spaces,
dots and slashes) are one invoice; numbers that differ in a letter or digit are not. Through
the executor: each refusal has its code and changes no state at all, and both registries
outlive a rejection and a repayment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.invoice_identity import UNICODE_VERSION, normalize_invoice_number
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import (
    DOC,
    MILLION,
    document,
    expect_failure,
    issue,
    issue_accepted,
    issue_args,
)

# The six invoices of the finding: same creditor, debtor, amount and document.
FINDING_VARIANTS = (
    "INV-42",
    "INV-42 ",  # trailing space
    "inv-42",
    "INV-\u200b42",  # zero-width space
    "INV\u201142",  # non-breaking hyphen
    "\uff29\uff2e\uff36-42",  # full-width INV
)
MORE_VARIANTS = (
    "INV42",
    "inv 42",
    "\uff29\uff2e\uff36\u201142",  # ＩＮＶ‑42, DESIGN.md's own example
    "\uff29\uff2e\uff36\uff0d\uff14\uff12",  # all full width, digits too
    "INV\u201342",  # en dash
    "INV\u201442",  # em dash
    "INV\u221242",  # minus sign
    "INV\u2010\u200d42",  # hyphen and zero-width joiner
    "INV_42",
    "INV.42",
    "INV/42",
    "INV\\42",
    "INV\u204442",  # fraction slash
    "INV\u00a042",  # no-break space
    "INV\u300042",  # ideographic space
    "INV\u2009-\u200942",  # thin spaces around the hyphen
    "\ufeffINV-42",  # byte-order mark
    "INV-42\u00ad",  # soft hyphen
    "INV-4\u00b2",  # superscript two
    "I\u200cN\u2060V-42",  # zero-width non-joiner, word joiner
    "INV-42\ufe0f",  # variation selector
    "INV\u30fb42",  # Katakana middle dot
)
DISTINCT = (
    ("INV-42", "INV-43"),
    ("42A", "42B"),
    ("INV-42", "INV-420"),
    ("INV-42", "INV-4-2-1"),
    ("INV-42", "IN-V42A"),
    ("\u0406NV-42", "INV-42"),  # Cyrillic І is another letter (the document registry backs it)
)


def test_the_normalization_runs_on_the_unicode_database_it_was_written_for() -> None:
    assert unicodedata.unidata_version == UNICODE_VERSION


@pytest.mark.parametrize("variant", FINDING_VARIANTS + MORE_VARIANTS)
def test_every_spelling_of_inv_42_is_one_invoice(variant: str) -> None:
    assert normalize_invoice_number(variant) == "inv42"


@pytest.mark.parametrize(
    ("variant", "normalized"),
    [
        ("\ufb01le-7", "file7"),  # ligature fi
        ("\ufb03x-7", "ffix7"),  # ligature ffi
        ("STRASSE-1", "strasse1"),
        ("Stra\u00dfe-1", "strasse1"),  # sharp s folds to ss
        ("\u2163-2026", "iv2026"),  # Roman numeral four
        ("\u2460\u2461", "12"),  # circled digits
        ("\u0661\u0662", "\u0661\u0662"),  # Arabic-Indic digits stay themselves
        ("\u30a2\u30fc\u30eb", "\u30a2\u30fc\u30eb"),  # the Katakana long vowel is no dash
    ],
)
def test_ligatures_and_compatibility_forms_fold(variant: str, normalized: str) -> None:
    assert normalize_invoice_number(variant) == normalized


@pytest.mark.parametrize(("one", "other"), DISTINCT)
def test_invoices_that_differ_in_a_letter_or_digit_stay_distinct(one: str, other: str) -> None:
    assert normalize_invoice_number(one) != normalize_invoice_number(other)


_SEPARATORS = (" ", "-", "_", ".", "/", "\u200b", "\u2011", "\u2014", "\u3000", "\u00ad")


@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12),
    st.lists(st.tuples(st.integers(0, 12), st.sampled_from(_SEPARATORS)), max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_separators_case_and_width_never_change_the_fingerprint(
    number: str, inserts: list[tuple[int, str]], lower: bool, wide: bool
) -> None:
    spelled = number.lower() if lower else number
    if wide:  # the full-width forms of ASCII letters and digits
        spelled = "".join(chr(ord(ch) + 0xFEE0) for ch in spelled)
    for position, separator in inserts:
        spelled = spelled[:position] + separator + spelled[position:]
    assert normalize_invoice_number(spelled) == number.lower()


# -- through the executor ------------------------------------------------------------------


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def _receivables_of(chain: ContractChain, creditor: str) -> list[str]:
    return sorted(key.rsplit("/", 1)[1] for key in chain.state_items(f"rcv/creditor/{creditor}/"))


def test_the_six_invoices_of_the_finding_issue_once(chain: ContractChain) -> None:
    """Same creditor, debtor, amount and document: the first issues, every other spelling is
    refused before its document is even looked at, and nothing of it is stored."""
    same = {"debtor": "bigauto", "amount": 10_000_000, "doc_hash": DOC}
    first = issue_accepted(chain, invoice_no=FINDING_VARIANTS[0], **same)
    for variant in FINDING_VARIANTS[1:]:
        args = issue_args(invoice_no=variant, **same)
        expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", args)
    assert _receivables_of(chain, "acme-steel") == [first]


def test_a_variant_with_its_own_document_is_still_the_same_invoice(chain: ContractChain) -> None:
    issue(chain, invoice_no="INV-42")
    for variant in MORE_VARIANTS:
        args = issue_args(invoice_no=variant, doc_hash=document(variant))
        expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", args)


def test_a_document_backs_one_invoice_whoever_presents_it(chain: ContractChain) -> None:
    issue(chain, invoice_no="INV-42", doc_hash=DOC)
    other_number = issue_args(invoice_no="INV-43", doc_hash=DOC)
    expect_failure(chain, "DUPLICATE_DOCUMENT", "acme-steel", "issue", other_number)
    other_debtor = issue_args(invoice_no="INV-42", debtor="rhein-parts", doc_hash=DOC)
    expect_failure(chain, "DUPLICATE_DOCUMENT", "acme-steel", "issue", other_debtor)
    expect_failure(chain, "DUPLICATE_DOCUMENT", "ore-mining", "issue", other_number)


def test_distinct_invoices_issue_side_by_side(chain: ContractChain) -> None:
    issued = [issue(chain, invoice_no=number) for pair in DISTINCT[:2] for number in pair]
    assert len(set(issued)) == 4
    assert chain.state("rcv/invoice/acme-steel/bigauto/inv42") == issued[0]
    assert chain.state("rcv/doc/" + document("42B").hex()) == issued[3]


def test_a_rejected_invoice_keeps_its_number_and_document(chain: ContractChain) -> None:
    root = issue(chain, invoice_no="INV-42", doc_hash=DOC)
    chain.call("bigauto", "receivables", "reject", {"id": root, "reason": "not ordered"})
    again = issue_args(invoice_no="inv 42", doc_hash=document("inv 42"))
    expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", again)
    expect_failure(
        chain, "DUPLICATE_DOCUMENT", "acme-steel", "issue", issue_args(invoice_no="X", doc_hash=DOC)
    )


def test_a_repaid_invoice_keeps_its_number_and_document(chain: ContractChain) -> None:
    chain.fund("bigauto", "CNY", MILLION)
    root = issue_accepted(chain, invoice_no="INV-42", doc_hash=DOC)
    chain.call("bigauto", "receivables", "repay", {"id": root})
    again = issue_args(invoice_no="\uff29\uff2e\uff36\u201142", doc_hash=document("again"))
    expect_failure(chain, "DUPLICATE_INVOICE", "acme-steel", "issue", again)
    expect_failure(
        chain, "DUPLICATE_DOCUMENT", "acme-steel", "issue", issue_args(invoice_no="X", doc_hash=DOC)
    )


@pytest.mark.parametrize("number", ["-", " - ", "./_", "\u200b", "\u3000\u2014"])
def test_a_number_of_only_separators_is_refused(chain: ContractChain, number: str) -> None:
    expect_failure(chain, "BAD_ARGUMENT", "acme-steel", "issue", issue_args(invoice_no=number))


def test_two_spellings_in_one_block_issue_once(chain: ContractChain) -> None:
    txs = [
        chain.tx("acme-steel", "receivables", "issue", issue_args(invoice_no=n))
        for n in ("INV-42", "inv 42")
    ]
    first, second = chain.commit(txs)
    assert first.status == "ok"
    assert second.error is not None and second.error.code == "DUPLICATE_INVOICE"
