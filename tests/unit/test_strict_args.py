"""Arguments are exactly what the rules compare and export (issue 12, findings 3 and 4).

Dates are exactly YYYY-MM-DD and real days: `2026-W01-1` and `20260101xx` were taken by
Python's permissive `date.fromisoformat` while contracts compare dates as strings, so an
invoice due in the past was never overdue. Text holds no control character, surrogate or
noncharacter: a remittance with U+FFFF broke the ISO 20022 export. Each refusal goes through
the executor, has its code and changes no state at all.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.args import forbidden_character, iso_date, org_id, text
from contracts.errors import ContractError
from ledger import codec
from ledger.chain import P_STATE
from ledger.dates import is_calendar_date
from ledger.errors import GenesisError
from ledger.genesis import genesis_from_value
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import issue, issue_args
from tests.support.xborder_chain import pay_args

NOT_DATES = (
    "2026-W01-1",  # ISO week date
    "20260101xx",
    "20260101",  # basic form
    "2026-001",  # ordinal date
    "2026-02-29",  # not a leap year
    "2026-04-31",
    "2026-13-01",
    "0000-01-01",
    "2026-1-01",
    "2026-01-01T00:00",
    "2026-01-01\n",
    " 2026-01-01",
    "\uff12\uff10\uff12\uff16-01-01",  # full-width digits
    "\u0662\u0660\u0662\u0666-01-01",  # Arabic-Indic digits
)
DATES = ("2026-01-01", "2028-02-29", "2000-02-29", "9999-12-31", "0001-01-01")
NOT_TEXT = ("\uffff", "\ufffe", "\ufdd0", "\ufdef", "\U0001fffe", "\U0010ffff", "\x00", "\t",
            "\n", "\r", "\x1f", "\x7f", "\x85", "\x9f", "\ud800")  # fmt: skip
TEXT = ("Z\u00fcrich", "\u6771\u4eac", "\U0001f680", "\ufffd", "\ue000", "a b", "\u00a0", "\u200b")


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "EUR", 1_000_000)
    yield chain
    chain.close()


def refused(
    chain: ContractChain,
    code: str,
    org: str,
    call: str,
    args: dict[str, Any],
    role: str = "operator",
) -> str:
    """`call` fails with `code` and leaves every state key (balances, pieces, counters, ...)
    exactly as it was; the message, for the test to read."""
    contract, method = call.split(".")
    before = chain.state_items()
    receipt = chain.submit(org, contract, method, args, role)
    assert receipt.status == "failed", f"{call} succeeded, expected {code}"
    assert receipt.error is not None and receipt.error.code == code, receipt.error
    assert chain.state_items() == before
    return receipt.error.message


# -- the rules themselves -----------------------------------------------------------------


@pytest.mark.parametrize("value", NOT_DATES)
def test_what_is_not_a_calendar_day_written_yyyy_mm_dd_is_refused(value: str) -> None:
    assert not is_calendar_date(value)
    with pytest.raises(ContractError) as caught:
        iso_date("due_date", value)
    assert caught.value.code == "BAD_ARGUMENT"


@pytest.mark.parametrize("value", DATES)
def test_real_days_pass(value: str) -> None:
    assert is_calendar_date(value) and iso_date("due_date", value) == value


@pytest.mark.parametrize("character", NOT_TEXT)
def test_text_without_controls_surrogates_or_noncharacters(character: str) -> None:
    assert forbidden_character(f"ok{character}") is not None
    with pytest.raises(ContractError) as caught:
        text(140)("remittance", f"ok{character}")
    assert caught.value.code == "BAD_ARGUMENT"
    assert f"U+{ord(character):04X}" in caught.value.message


@pytest.mark.parametrize("value", TEXT)
def test_other_unicode_text_passes(value: str) -> None:
    assert text(140)("remittance", value) == value


def test_patterns_match_the_whole_value_not_up_to_a_trailing_newline() -> None:
    with pytest.raises(ContractError):
        org_id("to", "bigauto\n")


# -- dates through the executor (finding 3) -------------------------------------------------


@pytest.mark.parametrize("value", ["2026-W01-1", "20260101xx", "2026-02-29"])
@pytest.mark.parametrize("field", ["due_date", "issue_date"])
def test_an_invoice_with_a_date_that_is_no_day_is_refused(
    chain: ContractChain, field: str, value: str
) -> None:
    message = refused(chain, "BAD_ARGUMENT", "acme-steel", "receivables.issue",
                      issue_args(**{field: value}))  # fmt: skip
    assert field in message


@pytest.mark.parametrize("value", ["2026-W01-1", "20260101xx", "2027-02-29"])
def test_a_kyc_expiry_that_is_no_day_is_refused_when_proposed(
    chain: ContractChain, value: str
) -> None:
    proposal = {"action": "set_kyc", "params": {"org": "bigauto", "kyc_expires": value}}
    refused(chain, "BAD_ARGUMENT", "bank-a", "registry.propose", proposal, role="admin")
    new_org = {
        "id": "new-co", "name": "New Co", "kind": "enterprise", "kyc_expires": value,
        "keys": [{"public": b"\x01" * 32, "role": "admin"}],
    }  # fmt: skip
    proposal = {"action": "add_org", "params": new_org}
    refused(chain, "BAD_ARGUMENT", "bank-a", "registry.propose", proposal, role="admin")


def test_a_proposal_stored_before_the_rule_cannot_apply_its_bad_date(chain: ContractChain) -> None:
    """Params are checked again when the deciding approval applies them."""
    args = {"action": "set_kyc", "params": {"org": "bigauto", "kyc_expires": "2030-01-01"}}
    pid = chain.call("bank-a", "registry", "propose", args, "admin")["id"]
    chain.call("bank-b", "registry", "approve", {"id": pid}, "admin")
    stored = dict(chain.state("gov/prop/" + pid))
    stored["params"] = {"org": "bigauto", "kyc_expires": "2026-W01-1"}
    chain.kv.put(P_STATE + f"gov/prop/{pid}".encode(), codec.encode(stored))
    chain.store.cache.clear()  # written behind the store's back: its read cache forgets
    refused(chain, "BAD_ARGUMENT", "bank-c", "registry.approve", {"id": pid}, role="admin")
    assert chain.state("reg/org/bigauto")["kyc_expires"] == "2099-12-31"


@pytest.mark.parametrize("value", ["2026-W01-1", "20991231", "2099-02-30"])
def test_a_genesis_kyc_expiry_that_is_no_day_is_refused(chain: ContractChain, value: str) -> None:
    genesis = copy.deepcopy(chain.devnet.genesis)
    genesis["orgs"][0]["kyc_expires"] = value
    with pytest.raises(GenesisError, match="kyc_expires"):
        genesis_from_value(genesis)


# -- text through the executor (finding 4) --------------------------------------------------


def _text_calls(bad: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every text argument of every contract, each holding `bad`: (org, call, args)."""
    return [
        ("acme-steel", "payments.send", pay_args(remittance=f"Invoice 42 {bad}")),
        ("acme-steel", "payments.send", pay_args(end_to_end_id=f"E2E{bad}")),
        ("acme-steel", "payments.send", pay_args(purpose=f"Go{bad}ods")),
        ("acme-steel", "payments.send", pay_args(originator={"name": f"Ac{bad}me"})),
        ("acme-steel", "payments.send", pay_args(beneficiary={"town": f"Duis{bad}burg"})),
        ("acme-steel", "cash.transfer",
         {"currency": "EUR", "to": "bigauto", "amount": 1, "memo": f"rent{bad}"}),
        ("acme-steel", "receivables.issue", issue_args(invoice_no=f"INV-42{bad}")),
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["\uffff", "\ufdd0", "\x85", "\x0b"])
def test_text_arguments_with_what_xml_cannot_carry_are_refused(
    chain: ContractChain, bad: str
) -> None:
    for org, call, args in _text_calls(bad):
        message = refused(chain, "BAD_ARGUMENT", org, call, args)
        assert f"U+{ord(bad):04X}" in message, (call, message)


def test_a_rejection_reason_and_a_new_org_name_hold_the_same_rule(chain: ContractChain) -> None:
    piece = issue(chain)
    reason = {"id": piece, "reason": "not ordered\uffff"}
    refused(chain, "BAD_ARGUMENT", "bigauto", "receivables.reject", reason)
    new_org = {
        "id": "new-co", "name": "New\ufffeCo", "kind": "enterprise", "kyc_expires": "2030-01-01",
        "keys": [{"public": b"\x01" * 32, "role": "admin"}],
    }  # fmt: skip
    proposal = {"action": "add_org", "params": new_org}
    refused(chain, "BAD_ARGUMENT", "bank-a", "registry.propose", proposal, role="admin")


def test_a_netting_reference_holds_the_same_rule(chain: ContractChain) -> None:
    window = chain.call(
        "bank-a",
        "netting",
        "open",
        {
            "currency": "EUR",
            "participants": ["bank-a", "bank-b"],
            "close_ms": chain.now_ms + 60_000,
        },
    )["id"]
    args = {"window": window, "to": "bank-b", "amount": 5, "ref": "batch\uffff"}
    refused(chain, "BAD_ARGUMENT", "bank-a", "netting.submit", args)


def test_any_other_unicode_is_accepted_and_stored_as_sent(chain: ContractChain) -> None:
    remittance = "Rechnung Z\u00fcrich \u6771\u4eac \U0001f680 \u2014 \u00a0ok"
    paid = chain.call("acme-steel", "payments", "send", pay_args(remittance=remittance))
    assert chain.state("pay/rec/" + paid["id"])["remittance"] == remittance
