"""The composition root: config → genesis, keys, store, executor, mempool, replica, driver, API,
and with more than one validator (or a validator set governance may change) the peer transport,
tx gossip, state transfer and snapshot sync (node/runtime/peering.py).

`NodeService.open(config)` builds the parts (synchronously: it opens LevelDB); `start()` binds
the API and the P2P port and starts the replica; `stop()` undoes all of it. The driver gets
every hook when it is built: with peers, `Peering.connect` builds gossip and state transfer
around it and returns where its messages go; with membership, a `SetTracker` that says after
each commit whether its replica is replaced.
`run_node(config)` is what `tally node start` runs: it logs with node/height/view context and
stops cleanly on SIGTERM or SIGINT.

The replica is `PbftReplica` for every n, restored at each start from its `pbft/` records
(`ChainStore.meta_items`), so a restarted validator is bound by every vote it sent before. On a
chain whose genesis allows membership changes the replica is the one of the set in force at the
tip (node/runtime/membership.py), replaced when governance changes the set; a node whose key
no set in force names yet (a bank joining) starts as a follower (node/runtime/follower.py).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from consensus.interface import Replica
from contracts import queries
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.genesis import Genesis, load_genesis
from ledger.snapshot_build import resume_install
from ledger.store import LevelDBStore
from node.api.app import make_app
from node.api.context import NodeHandle
from node.api.server import ApiServer
from node.config import NodeConfig
from node.keys import ValidatorKeys, load_keys
from node.runtime.admission import Signers
from node.runtime.driver import Driver
from node.runtime.executor import Executor
from node.runtime.membership import Bystander, SetTracker, replica_for
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics
from node.runtime.peering import Peering
from node.runtime.roster import Roster

log = logging.getLogger(__name__)

# How long a thread holding the GIL keeps it while another waits. Heavy API reads run on threads
# (node/api/reads.py); at Python's default of 5 ms, the loop thread waits up to that long to get
# the GIL back after each socket call while one runs, and its I/O slowed about 5x in a measure
# (round trips on loopback); at 1 ms, about 3x. The loop runs consensus, so it gets the shorter.
GIL_SWITCH_INTERVAL_S = 0.001

ReplicaFactory = Callable[[Genesis, ValidatorKeys, int, Executor], Replica]


def default_replica(
    genesis: Genesis, keys: ValidatorKeys, index: int, executor: Executor
) -> Replica:
    """The PBFT replica of a chain whose set never changes, restored from its persisted
    records and the committed chain's tip (a chain with membership: SetTracker.replica)."""
    roster = Roster(genesis)
    return replica_for(genesis, keys, executor.store, roster.set_at(executor.tip.height + 1))


def _genesis_index(config: NodeConfig, genesis: Genesis, keys: ValidatorKeys) -> int:
    """Our index in the genesis set; on a chain with membership a key governance may add
    later is fine too (-1: the node follows the chain until a set in force names it)."""
    index = genesis.validator_index(keys.ed25519.public)
    if index is None and genesis.membership:
        return -1
    if index is None or genesis.validators[index].name != config.name:
        raise TallyError(
            "NOT_A_VALIDATOR", f"{config.key_file} is not the key of validator {config.name}"
        )
    if genesis.validators[index].bls != keys.bls.public:
        raise TallyError("NOT_A_VALIDATOR", "the BLS key does not match the genesis entry")
    return index


class NodeService:
    def __init__(
        self,
        config: NodeConfig,
        genesis: Genesis,
        keys: ValidatorKeys,
        store: ChainStore,
        driver: Driver,
        metrics: Metrics,
        verify_pool: ThreadPoolExecutor,
        peering: Peering | None,
        replica_factory: ReplicaFactory = default_replica,
    ) -> None:
        self.config = config
        self.genesis = genesis
        self.keys = keys
        self.store = store
        self.driver = driver
        self.metrics = metrics
        self._verify_pool = verify_pool
        self._api: ApiServer | None = None
        self.peering = peering
        self.replica_factory = replica_factory
        handle = NodeHandle(config.name, genesis, driver, metrics, self.peers, self.snapshot)
        self.app = make_app(handle, config.api_limits, config.api_access)

    @staticmethod
    def open(
        config: NodeConfig,
        *,
        replica_factory: ReplicaFactory = default_replica,
    ) -> NodeService:
        genesis = load_genesis(config.genesis)
        keys = load_keys(config.key_file)
        index = _genesis_index(config, genesis, keys)
        store = ChainStore(LevelDBStore(config.data_dir))
        resume_install(store)  # a snapshot installed up to its switch: finish it before reads
        executor = Executor(store, genesis, retain_heights=config.state_retain_heights)
        verify_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify")
        mempool = Mempool(
            genesis,
            is_committed=store.tx_committed,
            tip_height=lambda: executor.tip.height,
            verify_pool=verify_pool,
            signers=Signers(store.state_trusted, lambda: queries.active_org_count(store)),
        )
        metrics = Metrics()
        metrics.count_rejections(lambda: mempool.rejections)
        sets = SetTracker(genesis, keys, store, Roster(genesis)) if genesis.membership else None
        peering = None
        if len(genesis.validators) > 1 or sets is not None:
            our_id = index if sets is None else sets.our_id()
            peering = Peering(
                genesis, keys, our_id, config.p2p_listen, config.snapshot_behind_heights, sets
            )
        replica = (
            sets.replica() if sets is not None else replica_factory(genesis, keys, index, executor)
        )
        driver = Driver(
            replica,
            executor,
            mempool,
            store,
            proposer=keys.ed25519.public,
            validator_count=len(sets.current.validators) if sets else len(genesis.validators),
            metrics=metrics,
            connect=None if peering is None else peering.connect,
            max_skew_ms=genesis.params["max_clock_skew_ms"],
            sets=sets,
        )
        if peering is not None:
            peering.rebuild = (
                sets.replica
                if sets is not None
                else lambda: replica_factory(genesis, keys, index, executor)
            )
        return NodeService(
            config, genesis, keys, store, driver, metrics, verify_pool, peering, replica_factory
        )

    def peers(self) -> dict[str, bool]:
        """Other validators' names → connected (empty for a single validator)."""
        return {} if self.peering is None else self.peering.transport.peers_by_name()

    def snapshot(self) -> dict[str, int] | None:
        """The snapshot being fetched or installed (None when none is): API reads wait."""
        sync = None if self.peering is None else self.peering.snapshot
        if sync is None or not sync.active or sync.progress is None:
            return None
        progress = sync.progress
        return {"height": progress.height, "keys": progress.keys, "chunks": progress.chunks}

    async def start(self) -> None:
        self._api = ApiServer(self.app, self.config.api_limits)
        tls = self.config.api_tls
        context = None if tls is None else tls.server_context()
        await self._api.start(self.config.api_host, self.config.api_port, context)
        if self.peering is not None:
            await self.peering.start()
            await self._snapshot_if_behind(self.peering)
        self.driver.start()
        follower = None if self.peering is None else self.peering.follower
        if follower is not None and isinstance(self.driver.replica, Bystander):
            follower.start()
        log.info(
            "serving %s://%s:%d at height %d",
            self.config.api_scheme,
            self.config.api_host,
            self.config.api_port,
            self.driver.executor.tip.height,
        )

    async def _snapshot_if_behind(self, peering: Peering) -> None:
        """Before the replica starts: restore the state by snapshot if peers are far ahead,
        then rebuild the replica at the new tip (its records of older heights still bind it).
        A node not in the set in force follows the chain instead (node/runtime/follower.py)."""
        if peering.follower is not None and isinstance(self.driver.replica, Bystander):
            peering.holding = False
            return
        await peering.snapshot_then_replica(self.driver)

    async def stop(self) -> None:
        self.driver.stop()
        if self.peering is not None:
            await self.peering.stop()
        if self._api is not None:
            await self._api.stop()  # open streams and long polls get a few seconds to finish
        self._verify_pool.shutdown(wait=True)
        self.driver.executor.close()
        self.store.close()
        log.info("stopped at height %d", self.driver.executor.tip.height)


class _ContextFilter(logging.Filter):
    """Adds node, height and view to every record, so interleaved logs stay readable."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.node = name
        self.service: NodeService | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node
        service = self.service
        record.height = service.driver.executor.tip.height if service else "-"
        record.view = service.driver.replica.view if service else "-"
        return True


def configure_logging(config: NodeConfig) -> _ContextFilter:
    context = _ContextFilter(config.name)
    handler = logging.StreamHandler()
    handler.addFilter(context)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s node=%(node)s height=%(height)s view=%(view)s "
            "%(name)s: %(message)s"
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return context


async def run_node(config: NodeConfig) -> None:
    """Run one node until SIGTERM or SIGINT, then stop it cleanly."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    context = configure_logging(config)
    service = NodeService.open(config)
    context.service = service
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await service.start()
    # Most of what exists once the node has started (modules, classes, config, the open stores)
    # lives as long as the process. Frozen, the collector stops re-scanning it on every
    # older-generation pass: a restarted node catching up 100k txs spent 0.47 s collecting,
    # 0.28 s frozen.
    gc.freeze()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await service.stop()
