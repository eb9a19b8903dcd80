"""Governance scopes an auditor's or regulator's reads: recorded in state, with an event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.reader_scope import reader_scope
from tests.support.contract_chain import ContractChain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def _pass(chain: ContractChain, params: dict[str, Any]) -> Any:
    """Propose `scope_reader` with `params` and approve it to the threshold (3 of 4 banks)."""
    args = {"action": "scope_reader", "params": params}
    proposal = chain.call("bank-a", "registry", "propose", args, "admin")["id"]
    chain.call("bank-b", "registry", "approve", {"id": proposal}, "admin")
    return chain.submit("bank-c", "registry", "approve", {"id": proposal}, "admin")


def test_a_passed_scope_is_recorded_with_an_event(chain: ContractChain) -> None:
    assert reader_scope(chain.store, "audit-co") is None
    receipt = _pass(chain, {"org": "audit-co", "orgs": ["bigauto"], "jurisdictions": ["DE"]})
    assert receipt.status == "ok" and receipt.result == {"passed": True}
    assert reader_scope(chain.store, "audit-co") == (frozenset({"bigauto"}), frozenset({"DE"}))
    scoped = [e for e in receipt.events if e["type"] == "reader_scoped"]
    assert scoped == [
        {"contract": "registry", "type": "reader_scoped", "org": "audit-co", "orgs": ["bigauto"],
         "jurisdictions": ["DE"], "lifted": False}
    ]  # fmt: skip


def test_a_scope_takes_effect_only_with_the_deciding_approval(chain: ContractChain) -> None:
    args = {"action": "scope_reader", "params": {"org": "audit-co", "orgs": ["bigauto"]}}
    proposal = chain.call("bank-a", "registry", "propose", args, "admin")["id"]
    chain.call("bank-b", "registry", "approve", {"id": proposal}, "admin")
    assert reader_scope(chain.store, "audit-co") is None  # 2 of 4 banks: not yet


def test_lifting_a_scope_gives_the_reader_everything_again(chain: ContractChain) -> None:
    _pass(chain, {"org": "audit-co", "jurisdictions": ["CN"]})
    receipt = _pass(chain, {"org": "audit-co", "lift": True})
    assert receipt.status == "ok"
    assert reader_scope(chain.store, "audit-co") is None
    assert any(e["type"] == "reader_scoped" and e["lifted"] for e in receipt.events)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"org": "audit-co"}, "BAD_ARGUMENT"),  # neither a list nor lift
        ({"org": "audit-co", "orgs": ["bigauto"], "lift": True}, "BAD_ARGUMENT"),
        ({"org": "audit-co", "jurisdictions": ["cn"]}, "BAD_ARGUMENT"),
    ],
)
def test_a_malformed_scope_is_refused_when_proposed(
    chain: ContractChain, params: dict[str, Any], code: str
) -> None:
    args = {"action": "scope_reader", "params": params}
    receipt = chain.submit("bank-a", "registry", "propose", args, "admin")
    assert receipt.status == "failed" and receipt.error is not None
    assert receipt.error.code == code


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"org": "bigauto", "orgs": ["acme-steel"]}, "NOT_A_READER"),  # an enterprise
        ({"org": "audit-co", "orgs": ["no-such-org"]}, "UNKNOWN_ORG"),
    ],
)
def test_a_scope_the_registry_cannot_hold_fails_as_it_passes_and_changes_nothing(
    chain: ContractChain, params: dict[str, Any], code: str
) -> None:
    receipt = _pass(chain, params)
    assert receipt.status == "failed" and receipt.error is not None
    assert receipt.error.code == code
    assert reader_scope(chain.store, params["org"]) is None


def test_only_a_bank_admin_proposes_a_scope(chain: ContractChain) -> None:
    args = {"action": "scope_reader", "params": {"org": "audit-co", "orgs": ["bigauto"]}}
    for org, role in (("audit-co", "admin"), ("bank-a", "operator")):
        receipt = chain.submit(org, "registry", "propose", args, role)
        assert receipt.status == "failed"
    assert reader_scope(chain.store, "audit-co") is None
