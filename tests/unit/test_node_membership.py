"""The node's side of membership (node/runtime/membership.py, roster.py) on a real LevelDB chain:
which replica runs at each height, what the P2P layer is told to admit, and that a replica
never restores the records of an earlier set (also after a crash between commit and switch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consensus import PbftReplica, ReplicaConfig
from consensus.interface import SetContinues
from consensus.records import encode_view
from ledger.genesis import genesis_from_value
from node.api.access import OPEN_ACCESS
from node.api.limits import ApiLimits
from node.config import NodeConfig
from node.keys import ValidatorKeys, write_keys
from node.ops.devnet import make_devnet
from node.runtime.membership import RECORDS_PREFIX, Bystander, SetTracker, Switch, stored_anchor
from node.runtime.roster import Roster
from node.service import NodeService
from tests.support.contract_chain import ContractChain
from tests.support.membership import new_validator, validator_keys

INTERVAL = 4
JOINER = "bank-e-node"


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(
        tmp_path / "db", membership=True, validators=4, params={"checkpoint_interval": INTERVAL}
    )
    yield chain
    chain.close()


def keys_of(chain: ContractChain, index: int) -> ValidatorKeys:
    validator = chain.devnet.validators[index]
    return ValidatorKeys(validator.name, validator.ed25519, validator.bls)


def joiner_keys() -> ValidatorKeys:
    ed25519, bls = validator_keys(JOINER)
    return ValidatorKeys(JOINER, ed25519, bls)


def pass_change(chain: ContractChain, action: str, params: dict[str, Any]) -> None:
    """bank-a proposes, bank-b and bank-c approve: three blocks, the last decides."""
    proposed = chain.submit(
        "bank-a", "registry", "propose", {"action": action, "params": params}, "admin"
    )
    for bank in ("bank-b", "bank-c"):
        chain.submit(bank, "registry", "approve", {"id": proposed.result["id"]}, "admin")


def fill_to(chain: ContractChain, height: int) -> None:
    while chain.executor.tip.height < height:
        chain.submit("bank-a", "cash", "issue", {"currency": "CNY", "to": "bigauto", "amount": 1})


def test_a_membership_genesis_holds_every_replica_at_the_checkpoint_barrier() -> None:
    """Without the barrier a replica votes past a checkpoint whose next set is undecided:
    ReplicaConfig.from_genesis left it off for membership chains."""
    document = make_devnet(4, seed=b"barrier").genesis
    fixed = genesis_from_value(document)
    changing = genesis_from_value({**document, "membership": True})
    assert ReplicaConfig.from_genesis(changing, 0).checkpoint_barrier
    assert not ReplicaConfig.from_genesis(fixed, 0).checkpoint_barrier


def test_the_replica_follows_the_set_in_force_and_the_network_who_is_admitted(
    chain: ContractChain,
) -> None:
    store = chain.store
    tracker = SetTracker(chain.genesis, keys_of(chain, 0), store, Roster(chain.genesis))
    admitted: list[tuple[list[int], int | None]] = []
    tracker.on_peers = lambda peers, ours: admitted.append(([p.index for p in peers], ours))
    first = tracker.replica()
    assert isinstance(first, PbftReplica) and first.config.n == 4
    store.write_meta({RECORDS_PREFIX + "view": encode_view(3)})  # the genesis set's record

    pass_change(chain, "add_validator", new_validator(JOINER, p2p="127.0.0.1:27001"))
    assert chain.executor.tip.height == 3
    step = tracker.after_commit(3, 0)
    assert step == SetContinues(4, 0)  # the genesis set runs to the checkpoint at 4
    assert admitted[-1] == ([0, 1, 2, 3, 4], 0)  # the joiner is admitted once approved
    joiner = SetTracker(chain.genesis, joiner_keys(), store, Roster(chain.genesis))
    assert isinstance(joiner.replica(), Bystander) and joiner.our_id() == 4

    fill_to(chain, 4)
    switch = tracker.after_commit(4, 0)
    assert isinstance(switch, Switch) and switch.member
    replica = switch.replica
    assert isinstance(replica, PbftReplica)
    assert (replica.config.n, replica.config.quorum, replica.config.anchor_height) == (5, 4, 4)
    assert replica.config.anchor_hash == store.header(4).hash()  # type: ignore[union-attr]
    assert store.meta_items(RECORDS_PREFIX) == {} and stored_anchor(store) == 4
    assert switch.validator_set.members == (0, 1, 2, 3, 4)
    voting = SetTracker(chain.genesis, joiner_keys(), store, Roster(chain.genesis)).replica()
    assert isinstance(voting, PbftReplica) and voting.config.index == 4

    pass_change(chain, "remove_validator", {"name": chain.devnet.validators[1].name})
    assert isinstance(tracker.after_commit(7, 0), SetContinues)
    fill_to(chain, 8)
    left = tracker.after_commit(8, 0)
    assert isinstance(left, Switch) and left.validator_set.members == (0, 2, 3, 4)
    assert admitted[-1] == ([0, 2, 3, 4], 0)  # the removed one is no longer admitted
    removed = SetTracker(chain.genesis, keys_of(chain, 1), store, Roster(chain.genesis))
    assert isinstance(removed.replica(), Bystander)


def test_a_restart_after_the_switch_height_never_restores_the_earlier_sets_records(
    chain: ContractChain,
) -> None:
    """A crash between committing the anchor and the switch leaves the old set's records:
    the next start sees the marker of another set and starts the new set's replica fresh."""
    store = chain.store
    pass_change(chain, "add_validator", new_validator(JOINER, p2p="127.0.0.1:27001"))
    fill_to(chain, 4)
    store.write_meta({RECORDS_PREFIX + "view": encode_view(3)})  # written in the genesis set
    replica = SetTracker(chain.genesis, keys_of(chain, 2), store, Roster(chain.genesis)).replica()
    assert isinstance(replica, PbftReplica)
    assert replica.view == 0 and replica.config.n == 5
    assert store.meta_items(RECORDS_PREFIX) == {}
    store.write_meta({RECORDS_PREFIX + "view": encode_view(2)})  # now the new set's own
    again = SetTracker(chain.genesis, keys_of(chain, 2), store, Roster(chain.genesis)).replica()
    assert isinstance(again, PbftReplica) and again.view == 2


def test_a_node_opens_a_membership_chain_with_a_key_no_set_names_yet(tmp_path: Path) -> None:
    """The joining bank's node starts as a follower (it was refused with
    MEMBERSHIP_UNSUPPORTED, and a key outside genesis with NOT_A_VALIDATOR)."""
    devnet = make_devnet(4, seed=b"joiner")
    genesis_file = tmp_path / "genesis.json"
    genesis_file.write_text(json.dumps({**devnet.genesis, "membership": True}))
    write_keys(tmp_path / "validator.key", joiner_keys())
    config = NodeConfig(
        name=JOINER,
        data_dir=tmp_path / "data",
        genesis=genesis_file,
        key_file=tmp_path / "validator.key",
        log_level="info",
        api_host="127.0.0.1",
        api_port=0,
        api_limits=ApiLimits(),
        api_access=OPEN_ACCESS,
        p2p_listen="127.0.0.1:0",
    )
    service = NodeService.open(config)
    try:
        assert isinstance(service.driver.replica, Bystander)
        assert service.peering is not None and service.peering.transport.network.follower
    finally:
        service.driver.executor.close()
        service.store.close()
