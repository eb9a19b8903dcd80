"""Governance removes a key of an organization that cannot act itself (a compromised key)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.contract_chain import ContractChain


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def vote(chain: ContractChain, params: dict[str, Any]) -> Any:
    """bank-a proposes `remove_key`, bank-b and bank-c approve: 3 of 4 banks."""
    pid = chain.call(
        "bank-a", "registry", "propose", {"action": "remove_key", "params": params}, "admin"
    )["id"]
    assert chain.call("bank-b", "registry", "approve", {"id": pid}, "admin") == {"passed": False}
    return chain.submit("bank-c", "registry", "approve", {"id": pid}, "admin")


def test_passed_remove_key_deletes_the_key_and_its_registry_entry(chain: ContractChain) -> None:
    operator = chain.devnet.key("acme-steel", "operator").public
    assert chain.state("reg/key/" + operator.hex()) == {"org": "acme-steel", "role": "operator"}
    receipt = vote(chain, {"org": "acme-steel", "public": operator})
    assert receipt.status == "ok"
    assert chain.state("reg/key/" + operator.hex()) is None
    keys = chain.state("reg/org/acme-steel")["keys"]
    assert [k["role"] for k in keys] == ["admin"]
    assert ("key_removed", "acme-steel") in [(e["type"], e.get("org")) for e in receipt.events]
    # the removed key signs nothing any more
    refused = chain.submit("acme-steel", "cash", "transfer", {"to": "bigauto", "currency": "CNY"})
    assert refused.error is not None and refused.error.code == "UNKNOWN_SIGNER"


def _propose(chain: ContractChain, params: dict[str, Any]) -> Any:
    args = {"action": "remove_key", "params": params}
    return chain.submit("bank-a", "registry", "propose", args, "admin")


def test_the_last_admin_key_is_refused_when_proposed(chain: ContractChain) -> None:
    admin = chain.devnet.key("acme-steel", "admin").public
    receipt = _propose(chain, {"org": "acme-steel", "public": admin})
    assert receipt.error is not None and receipt.error.code == "LAST_ADMIN"
    assert chain.state_items("gov/prop/") == {}
    assert chain.state("reg/key/" + admin.hex()) == {"org": "acme-steel", "role": "admin"}


def test_a_key_gone_before_the_vote_fails_the_deciding_approval(chain: ContractChain) -> None:
    operator = chain.devnet.key("acme-steel", "operator").public
    pid = _propose(chain, {"org": "acme-steel", "public": operator}).result["id"]
    chain.call("bank-b", "registry", "approve", {"id": pid}, "admin")
    args = {"org": "acme-steel", "public": operator}
    chain.call("acme-steel", "registry", "remove_key", args, "admin")  # the org acted itself
    receipt = chain.submit("bank-c", "registry", "approve", {"id": pid}, "admin")
    assert receipt.error is not None and receipt.error.code == "UNKNOWN_KEY"
    assert chain.state("gov/prop/" + pid)["status"] == "open"


def test_a_key_of_another_organization_is_unknown(chain: ContractChain) -> None:
    operator = chain.devnet.key("bigauto", "operator").public
    receipt = _propose(chain, {"org": "acme-steel", "public": operator})
    assert receipt.error is not None and receipt.error.code == "UNKNOWN_KEY"
    assert chain.state("reg/key/" + operator.hex()) == {"org": "bigauto", "role": "operator"}


def test_remove_key_needs_org_and_public(chain: ContractChain) -> None:
    receipt = chain.submit(
        "bank-a",
        "registry",
        "propose",
        {"action": "remove_key", "params": {"org": "acme-steel"}},
        "admin",
    )
    assert receipt.error is not None and receipt.error.code == "BAD_ARGUMENT"
