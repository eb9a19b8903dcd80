"""Registry changes pass only with ⌈2b/3⌉ of the b banks, and take effect with the deciding vote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.governance import threshold
from ledger.crypto import Ed25519Key
from tests.support.contract_chain import DAY_MS, ContractChain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def propose(chain: ContractChain, bank: str, action: str, params: dict[str, Any]) -> Any:
    return chain.call(bank, "registry", "propose", {"action": action, "params": params}, "admin")


def approve(chain: ContractChain, bank: str, proposal: str) -> Any:
    return chain.call(bank, "registry", "approve", {"id": proposal}, "admin")


def org(chain: ContractChain, org_id: str) -> dict[str, Any]:
    return dict(chain.state("reg/org/" + org_id))


@pytest.mark.parametrize(("banks", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 4), (7, 5)])
def test_threshold_is_ceiling_of_two_thirds(banks: int, needed: int) -> None:
    assert threshold(banks) == needed


def test_sanction_takes_effect_only_with_the_third_of_four_banks(chain: ContractChain) -> None:
    result = propose(chain, "bank-a", "set_sanctioned", {"org": "bigauto", "sanctioned": True})
    assert result["passed"] is False
    assert org(chain, "bigauto")["sanctioned"] is False
    assert approve(chain, "bank-b", result["id"]) == {"passed": False}
    assert org(chain, "bigauto")["sanctioned"] is False  # 2 of 4 is not 2/3
    assert approve(chain, "bank-d", result["id"]) == {"passed": True}
    assert org(chain, "bigauto")["sanctioned"] is True
    proposal = chain.state("gov/prop/" + result["id"])
    assert proposal["status"] == "passed"
    assert proposal["approvals"] == ["bank-a", "bank-b", "bank-d"]


def test_refusals_have_codes_and_change_nothing(chain: ContractChain) -> None:
    pid = propose(chain, "bank-a", "set_kyc", {"org": "bigauto", "kyc_expires": "2030-01-01"})["id"]
    registry_before = chain.state_items("reg/")

    def code(org_id: str, method: str, args: dict[str, Any], role: str = "admin") -> str:
        receipt = chain.submit(org_id, "registry", method, args, role)
        assert receipt.status == "failed" and receipt.error is not None
        return receipt.error.code

    assert code("bank-a", "approve", {"id": pid}) == "ALREADY_APPROVED"
    assert code("acme-steel", "approve", {"id": pid}) == "NOT_AUTHORIZED"
    assert code("bank-b", "approve", {"id": pid}, role="operator") == "NOT_AUTHORIZED"
    assert code("bank-b", "approve", {"id": "ab" * 32}) == "PROPOSAL_NOT_FOUND"
    assert (
        code("acme-steel", "propose", {"action": "set_sanctioned", "params": {"org": "bank-a"}})
        == "NOT_AUTHORIZED"
    )
    assert (
        code("bank-b", "propose", {"action": "set_kyc", "params": {"org": "bigauto"}})
        == "BAD_ARGUMENT"
    )
    assert code("bank-b", "propose", {"action": "drop_table", "params": {}}) == "BAD_ARGUMENT"
    assert chain.state_items("reg/") == registry_before
    assert org(chain, "bigauto")["kyc_expires"] == "2099-12-31"


def test_proposals_expire(chain: ContractChain) -> None:
    pid = propose(chain, "bank-a", "set_limit", {"org": "fuel-co", "currency": "CNY", "amount": 5})[
        "id"
    ]
    chain.advance_time(ms=7 * DAY_MS + 1)
    receipt = chain.submit("bank-b", "registry", "approve", {"id": pid}, "admin")
    assert receipt.error is not None and receipt.error.code == "PROPOSAL_EXPIRED"


def test_a_passed_proposal_cannot_be_approved_again(chain: ContractChain) -> None:
    pid = propose(chain, "bank-a", "set_limit", {"org": "fuel-co", "currency": "CNY", "amount": 5})[
        "id"
    ]
    approve(chain, "bank-b", pid)
    approve(chain, "bank-c", pid)
    assert org(chain, "fuel-co")["daily_limits"] == {"CNY": 5}
    receipt = chain.submit("bank-d", "registry", "approve", {"id": pid}, "admin")
    assert receipt.error is not None and receipt.error.code == "PROPOSAL_CLOSED"


def test_limit_can_be_removed_again(chain: ContractChain) -> None:
    for amount in (5, None):
        pid = propose(
            chain, "bank-a", "set_limit", {"org": "fuel-co", "currency": "CNY", "amount": amount}
        )["id"]
        approve(chain, "bank-b", pid)
        approve(chain, "bank-c", pid)
    assert org(chain, "fuel-co")["daily_limits"] == {}


def test_added_bank_can_sign_and_raises_the_threshold(chain: ContractChain) -> None:
    admin = Ed25519Key.from_seed(b"\x07" * 32)
    params = {
        "id": "bank-e",
        "name": "Bank E",
        "kind": "bank",
        "jurisdiction": "SG",
        "keys": [{"public": admin.public, "role": "admin"}],
        "kyc_expires": "2099-12-31",
    }
    pid = propose(chain, "bank-a", "add_org", params)["id"]
    approve(chain, "bank-b", pid)
    approve(chain, "bank-c", pid)
    assert chain.state("reg/banks") == ["bank-a", "bank-b", "bank-c", "bank-d", "bank-e"]
    assert chain.state("reg/key/" + admin.public.hex()) == {"org": "bank-e", "role": "admin"}
    # five banks now: three approvals are no longer enough (⌈10/3⌉ = 4)
    pid = propose(chain, "bank-a", "suspend_org", {"org": "bigauto"})["id"]
    approve(chain, "bank-b", pid)
    assert approve(chain, "bank-c", pid) == {"passed": False}
    assert approve(chain, "bank-d", pid) == {"passed": True}
    assert org(chain, "bigauto")["suspended"] is True
    receipt = chain.submit(
        "bigauto", "cash", "transfer", {"currency": "CNY", "to": "bank-a", "amount": 1}
    )
    assert receipt.error is not None and receipt.error.code == "ORG_SUSPENDED"
