"""add_validator / remove_validator through governance and the real executor (DESIGN.md §7, §10).

Each change passes with ⌈2b/3⌉ banks like every governance action, takes effect at the first
height after the next checkpoint, and from there the header's validators_hash names the new
set; the set history an auditor derives from the receipts alone (ledger.membership) matches the
headers the executor built at every height.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.genesis import validators_hash
from ledger.membership import ValidatorHistory
from tests.support.contract_chain import ContractChain
from tests.support.membership import new_validator

INTERVAL = 4


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(
        tmp_path / "db",
        membership=True,
        validators=4,
        params={"checkpoint_interval": INTERVAL},
    )
    yield chain
    chain.close()


def propose(chain: ContractChain, bank: str, action: str, params: dict[str, Any]) -> Any:
    return chain.submit(bank, "registry", "propose", {"action": action, "params": params}, "admin")


def approve(chain: ContractChain, bank: str, proposal: str) -> Any:
    return chain.submit(bank, "registry", "approve", {"id": proposal}, "admin")


def pass_change(chain: ContractChain, action: str, params: dict[str, Any]) -> Any:
    """Propose (bank-a) and approve (bank-b, bank-c): 3 of 4 banks; the deciding receipt."""
    proposed = propose(chain, "bank-a", action, params)
    assert proposed.status == "ok", proposed.error
    assert approve(chain, "bank-b", proposed.result["id"]).result == {"passed": False}
    decided = approve(chain, "bank-c", proposed.result["id"])
    assert decided.status == "ok", decided.error
    assert decided.result == {"passed": True}
    return decided


def refusal(chain: ContractChain, action: str, params: dict[str, Any]) -> str:
    receipt = propose(chain, "bank-a", action, params)
    assert receipt.status == "failed" and receipt.error is not None
    return receipt.error.code


def names_at(chain: ContractChain, height: int) -> list[str]:
    """Who the header at `height` says validates, looked up among the sets we know."""
    header = chain.store.header(height)
    assert header is not None
    history = derived_history(chain)
    assert header.validators_hash == history.hash_at(height)
    return [v.name for v in history.at(height)]


def derived_history(chain: ContractChain) -> ValidatorHistory:
    """The set history from genesis and the committed receipts only (what an auditor does)."""
    history = ValidatorHistory.of_genesis(chain.genesis)
    for height in range(1, chain.executor.tip.height + 1):
        history = history.follow(height, chain.store.receipts(height))
    return history


def idle_until(chain: ContractChain, height: int) -> None:
    while chain.executor.tip.height < height:
        chain.commit([])


def test_added_validator_is_in_force_from_the_first_height_after_the_next_checkpoint(
    chain: ContractChain,
) -> None:
    decided = pass_change(chain, "add_validator", new_validator("bank-e-node"))
    assert decided.height == 3  # proposal at 1, approvals at 2 and 3; checkpoint at 4
    event = next(e for e in decided.events if e["type"] == "validator_set_changed")
    assert event["effective_height"] == 5
    assert event["change"] == "add_validator" and event["name"] == "bank-e-node"
    assert [v["name"] for v in event["validators"]][-1] == "bank-e-node"
    assert len(event["validators"]) == 5
    idle_until(chain, 6)
    genesis_names = [v.name for v in chain.genesis.validators]
    for height in range(1, 5):
        assert names_at(chain, height) == genesis_names
        header = chain.store.header(height)
        assert header is not None and header.validators_hash == chain.genesis.validators_hash()
    assert names_at(chain, 5) == [*genesis_names, "bank-e-node"]
    assert names_at(chain, 6) == [*genesis_names, "bank-e-node"]
    assert chain.state("val/heights") == [1, 5]
    assert [v["name"] for v in chain.state("val/set/000000000005")] == names_at(chain, 5)


def test_a_change_committed_at_a_checkpoint_height_is_in_force_at_the_next_height(
    chain: ContractChain,
) -> None:
    idle_until(chain, 1)  # the deciding approval then lands at height 4, a checkpoint height
    decided = pass_change(chain, "add_validator", new_validator("bank-e-node"))
    assert decided.height == INTERVAL
    event = next(e for e in decided.events if e["type"] == "validator_set_changed")
    assert event["effective_height"] == INTERVAL + 1


def test_removed_validator_leaves_the_set_and_history_follows_both_changes(
    chain: ContractChain,
) -> None:
    pass_change(chain, "add_validator", new_validator("bank-e-node"))
    idle_until(chain, 5)
    removed = chain.genesis.validators[1].name
    decided = pass_change(chain, "remove_validator", {"name": removed})
    event = next(e for e in decided.events if e["type"] == "validator_set_changed")
    assert event["effective_height"] == 9
    idle_until(chain, 10)
    assert removed not in names_at(chain, 9)
    assert len(names_at(chain, 9)) == 4 and "bank-e-node" in names_at(chain, 9)
    assert removed in names_at(chain, 8)
    history = derived_history(chain)
    assert history.effective_heights() == [5, 9]
    for height in range(1, 11):
        header = chain.store.header(height)
        assert header is not None
        assert header.validators_hash == validators_hash(history.at(height))


def test_refusals_have_stable_codes_and_change_nothing(chain: ContractChain) -> None:
    before = chain.state_items("val/")
    genesis_validator = chain.genesis.validators[0]
    assert refusal(chain, "add_validator", new_validator(genesis_validator.name)) == (
        "VALIDATOR_EXISTS"
    )
    same_ed = new_validator("fresh-1", ed25519=genesis_validator.ed25519)
    assert refusal(chain, "add_validator", same_ed) == "VALIDATOR_EXISTS"
    other = new_validator("other-bls")
    same_bls = new_validator(
        "fresh-2", bls=genesis_validator.bls, bls_pop=genesis_validator.bls_pop
    )
    assert refusal(chain, "add_validator", same_bls) == "VALIDATOR_EXISTS"
    bad_pop = new_validator("fresh-3", bls_pop=other["bls_pop"])
    assert refusal(chain, "add_validator", bad_pop) == "BAD_BLS_POP"
    assert refusal(chain, "add_validator", new_validator("fresh-4", org="acme-steel")) == (
        "NOT_A_BANK"
    )
    assert refusal(chain, "add_validator", new_validator("fresh-5", org="no-such-org")) == (
        "UNKNOWN_ORG"
    )
    assert refusal(chain, "add_validator", new_validator("fresh-6", p2p="nowhere")) == (
        "BAD_ARGUMENT"
    )
    assert refusal(chain, "add_validator", new_validator("fresh-7", bls=b"\x01" * 47)) == (
        "BAD_ARGUMENT"
    )
    assert refusal(chain, "remove_validator", {"name": "nobody"}) == "UNKNOWN_VALIDATOR"
    # 4 -> 3 validators: f drops from 1 to 0, one crash would halt the chain
    assert refusal(chain, "remove_validator", {"name": genesis_validator.name}) == (
        "VALIDATORS_TOO_FEW"
    )
    assert chain.state_items("val/") == before


def test_control_add_passes_where_the_refusals_above_do_not(chain: ContractChain) -> None:
    """The refusal test's 'fresh-3' differs from a valid entry only by its proof: it passes."""
    pass_change(chain, "add_validator", new_validator("fresh-3"))


def test_one_change_at_a_time(chain: ContractChain) -> None:
    pass_change(chain, "add_validator", new_validator("bank-e-node"))  # in force at 5
    second = propose(chain, "bank-a", "add_validator", new_validator("bank-f-node"))
    assert second.status == "ok" and second.height == 4
    approve(chain, "bank-b", second.result["id"])  # height 5: the first is in force now
    chain.commit([])
    decided = approve(chain, "bank-c", second.result["id"])
    assert decided.status == "ok" and decided.result == {"passed": True}
    assert chain.state("val/heights") == [1, 5, 9]


def test_a_change_is_refused_while_the_previous_one_is_not_in_force(
    chain: ContractChain,
) -> None:
    first = propose(chain, "bank-a", "add_validator", new_validator("bank-e-node"))
    second = propose(chain, "bank-a", "add_validator", new_validator("bank-f-node"))
    approve(chain, "bank-b", first.result["id"])
    approve(chain, "bank-b", second.result["id"])
    assert approve(chain, "bank-c", first.result["id"]).result == {"passed": True}  # height 5
    pending = approve(chain, "bank-c", second.result["id"])  # height 6, first in force at 9
    assert pending.status == "failed" and pending.error is not None
    assert pending.error.code == "MEMBERSHIP_CHANGE_PENDING"
    assert pending.error.details == {"effective_height": 9}
    idle_until(chain, 9)
    assert approve(chain, "bank-c", second.result["id"]).result == {"passed": True}


def test_a_removed_key_and_name_are_never_reused(chain: ContractChain) -> None:
    entry = new_validator("bank-e-node")
    pass_change(chain, "add_validator", entry)
    idle_until(chain, 5)
    pass_change(chain, "remove_validator", {"name": "bank-e-node"})
    idle_until(chain, 9)
    assert "bank-e-node" not in names_at(chain, 9)
    assert refusal(chain, "add_validator", entry) == "VALIDATOR_EXISTS"
    renamed = dict(entry, name="bank-e-again")
    assert refusal(chain, "add_validator", renamed) == "VALIDATOR_EXISTS"


def test_the_last_validator_cannot_be_removed(tmp_path: Path) -> None:
    chain = ContractChain(tmp_path / "one", membership=True)
    try:
        receipt = propose(chain, "bank-a", "remove_validator", {"name": "validator-bank-a"})
        assert chain.genesis.validators[0].name == "validator-bank-a"
        assert receipt.status == "failed" and receipt.error is not None
        assert receipt.error.code == "LAST_VALIDATOR"
    finally:
        chain.close()


def test_a_chain_without_membership_refuses_both_actions(tmp_path: Path) -> None:
    chain = ContractChain(tmp_path / "plain", validators=4)
    try:
        for action, params in (
            ("add_validator", new_validator("bank-e-node")),
            ("remove_validator", {"name": chain.genesis.validators[0].name}),
        ):
            receipt = propose(chain, "bank-a", action, params)
            assert receipt.status == "failed" and receipt.error is not None
            assert receipt.error.code == "MEMBERSHIP_DISABLED"
        assert chain.state_items("val/") == {}
    finally:
        chain.close()
