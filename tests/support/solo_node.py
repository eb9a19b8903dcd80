"""A one-validator node's parts around a chain store, for API tests that mount the whole app.

The driver is real (mempool, outcomes, a `SoloReplica` that commits what arrives once started);
tests that commit blocks themselves (tests/support/contract_chain.py) never start it.
"""

from __future__ import annotations

from contracts import queries
from ledger.chain import ChainStore
from ledger.genesis import Genesis
from node.api.context import NodeHandle
from node.ops.devnet import ValidatorSecrets
from node.runtime.admission import Signers
from node.runtime.driver import Driver
from node.runtime.executor import Executor
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics
from tests.support.solo import SoloReplica


def solo_handle(
    store: ChainStore, executor: Executor, genesis: Genesis, validator: ValidatorSecrets
) -> NodeHandle:
    """What `make_app` needs of a node whose only validator is `validator`."""
    mempool = Mempool(
        genesis,
        lambda t: store.tx_location(t) is not None,
        lambda: executor.tip.height,
        signers=Signers(store.state_trusted, lambda: queries.active_org_count(store)),
    )
    replica = SoloReplica(genesis.chain, validator.bls, 0, executor.tip.block_hash, 5)
    driver = Driver(
        replica, executor, mempool, store,
        proposer=validator.ed25519.public, validator_count=1, metrics=Metrics(),
    )  # fmt: skip
    return NodeHandle(validator.name, genesis, driver, driver.metrics, dict)
