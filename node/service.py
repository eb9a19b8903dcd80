"""The composition root: config → genesis, keys, store, executor, mempool, replica, driver, API,
and with more than one validator the peer transport, tx gossip and state transfer.

`NodeService.open(config)` builds the parts (synchronously: it opens LevelDB); `start()` binds
the API and the P2P port and starts the replica; `stop()` undoes all of it. The driver gets
every hook when it is built: with peers, `Peering.connect` builds gossip and state transfer
around it and returns where its messages go.
`run_node(config)` is what `tally node start` runs: it logs with node/height/view context and
stops cleanly on SIGTERM or SIGINT.

The replica is `PbftReplica` for every n, restored at each start from its `pbft/` records
(`ChainStore.meta_items`), so a restarted validator is bound by every vote it sent before.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from consensus import PbftReplica, ReplicaConfig, ValidatorCrypto
from consensus.interface import Replica
from contracts import queries
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.genesis import Genesis, load_genesis
from ledger.snapshot_build import resume_install
from ledger.store import LevelDBStore
from network.envelope import (
    BLOCK,
    BLOCKS,
    CHUNK,
    CHUNK_ASK,
    CONSENSUS,
    FETCH,
    GET_BLOCK,
    SNAPSHOT_ASK,
    SNAPSHOT_OFFER,
    TXS,
)
from node.api.app import make_app
from node.api.context import NodeHandle
from node.api.server import ApiServer
from node.config import NodeConfig
from node.keys import ValidatorKeys, load_keys
from node.runtime.admission import Signers
from node.runtime.blockfetch import BlockFetcher
from node.runtime.driver import Driver
from node.runtime.executor import Executor
from node.runtime.gossip import TxGossip
from node.runtime.links import Links
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics
from node.runtime.snapshot import SnapshotSync
from node.runtime.snapshot_serve import SnapshotServer
from node.runtime.snapshot_txids import remember_recent_tx_ids
from node.runtime.statesync import StateSync
from node.runtime.transport import ConsensusChannel, PeerTransport

log = logging.getLogger(__name__)

# How long a thread holding the GIL keeps it while another waits. Heavy API reads run on threads
# (node/api/reads.py); at Python's default of 5 ms, the loop thread waits up to that long to get
# the GIL back after each socket call while one runs, and its I/O slowed about 5x in a measure
# (round trips on loopback); at 1 ms, about 3x. The loop runs consensus, so it gets the shorter.
GIL_SWITCH_INTERVAL_S = 0.001

ReplicaFactory = Callable[[Genesis, ValidatorKeys, int, Executor], Replica]
RECORDS_PREFIX = "pbft/"


def default_replica(
    genesis: Genesis, keys: ValidatorKeys, index: int, executor: Executor
) -> Replica:
    """The PBFT replica, restored from its persisted records and the committed chain's tip."""
    store = executor.store
    tip = executor.tip

    def block_hash_at(height: int) -> bytes | None:
        header = store.header(height)
        return None if header is None else header.hash()

    return PbftReplica.restore(
        ReplicaConfig.from_genesis(genesis, index),
        ValidatorCrypto.from_genesis(genesis, keys.ed25519, keys.bls),
        store.meta_items(RECORDS_PREFIX),
        tip.height,
        tip.block_hash,
        block_hash_at=block_hash_at,
    )


class Peering:
    """Everything a validator among others has: the P2P transport, gossip, state transfer."""

    def __init__(
        self,
        genesis: Genesis,
        keys: ValidatorKeys,
        index: int,
        listen: str,
        snapshot_behind: int = 0,
    ) -> None:
        self.genesis = genesis
        self.transport = PeerTransport(genesis, index, keys.ed25519, listen)
        self.snapshot_behind = snapshot_behind
        self.statesync: StateSync | None = None
        self.gossip: TxGossip | None = None
        self.blocks: BlockFetcher | None = None
        self.snapshot: SnapshotSync | None = None
        self.snapshot_server: SnapshotServer | None = None
        # Until the start-up snapshot check is over, consensus messages and gossip are dropped:
        # the replica starts after it, at whatever tip it leaves (peers retransmit).
        self.holding = True

    def connect(self, driver: Driver) -> Links:
        """Build gossip and state transfer around `driver` (called from its constructor) and
        route peers' messages to them; return where the driver's output goes."""
        transport, metrics = self.transport, driver.metrics
        statesync = StateSync(transport, driver, self.genesis, metrics)
        gossip = TxGossip(
            transport, driver, metrics, catching_up=lambda: statesync.active or self.holding
        )
        blocks = BlockFetcher(transport, driver)
        self.statesync, self.gossip, self.blocks = statesync, gossip, blocks
        transport.on(CONSENSUS, lambda peer, body: self._consensus(driver, peer, body))
        self._connect_snapshot(driver)
        transport.on(TXS, gossip.on_txs)
        transport.on(FETCH, statesync.on_fetch)
        transport.on(BLOCKS, statesync.on_blocks)
        transport.peer_listeners.append(gossip.peer_changed)
        transport.peer_listeners.append(
            lambda peer, up: metrics.peers_connected.set(len(transport.connected()))
        )
        transport.on(GET_BLOCK, blocks.on_get_block)
        transport.on(BLOCK, blocks.on_block)
        self._watch(metrics)
        return Links(
            ConsensusChannel(transport, statesync.fetch_blocks, blocks.fetch_block), gossip.forward
        )

    def _consensus(self, driver: Driver, peer: int, body: memoryview) -> None:
        if not self.holding:
            driver.message_received(peer, bytes(body))

    def _connect_snapshot(self, driver: Driver) -> None:
        transport, store, metrics = self.transport, driver.store, driver.metrics
        snapshot = SnapshotSync(
            transport, store, self.genesis, metrics, behind=self.snapshot_behind
        )
        server = SnapshotServer.for_params(transport, store, metrics, self.genesis.params)
        self.snapshot, self.snapshot_server = snapshot, server
        transport.on(SNAPSHOT_ASK, server.on_ask)
        transport.on(CHUNK_ASK, server.on_chunk_ask)
        transport.on(SNAPSHOT_OFFER, snapshot.on_offer)
        transport.on(CHUNK, snapshot.on_chunk)

    def _watch(self, metrics: Metrics) -> None:
        network = self.transport.network
        metrics.watch(
            "tally_peer_send_queue",
            "Messages waiting in send queues to peers",
            lambda: sum(p.queue_messages for p in network.stats().peers.values()),
        )
        metrics.watch(
            "tally_peer_inbox", "Peer messages received, not yet handled", self.transport.inbox_size
        )
        metrics.watch(
            "tally_peer_faults",
            "Bad payloads and broken connections caused by peers",
            lambda: sum(self.transport.faults.values()) + network.stats().faults,
        )
        metrics.watch(
            "tally_p2p_handshake_failures",
            "Failed P2P handshakes (unknown keys included)",
            lambda: network.stats().handshake_failures,
        )

    async def start(self) -> None:
        await self.transport.start()

    async def stop(self) -> None:
        if self.gossip is not None:
            self.gossip.flush()
            await self.gossip.close()
        if self.statesync is not None:
            await self.statesync.close()
        if self.blocks is not None:
            await self.blocks.close()
        if self.snapshot is not None:
            self.snapshot.close()
        if self.snapshot_server is not None:
            await self.snapshot_server.close()
        await self.transport.close()


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
        self.app = make_app(handle, config.api_limits)

    @staticmethod
    def open(
        config: NodeConfig,
        *,
        replica_factory: ReplicaFactory = default_replica,
    ) -> NodeService:
        genesis = load_genesis(config.genesis)
        if genesis.membership:
            # The contracts, the certificate checks and the replica follow a changing set, but
            # the driver does not yet switch replicas and the P2P layer admits only genesis
            # validators: after a change the chain would be certified by a set its headers no
            # longer name. Refused until then.
            raise TallyError(
                "MEMBERSHIP_UNSUPPORTED",
                "this node cannot yet run a chain whose genesis allows validator changes "
                '("membership": true): its driver and P2P layer do not switch validator sets',
            )
        keys = load_keys(config.key_file)
        index = genesis.validator_index(keys.ed25519.public)
        if index is None or genesis.validators[index].name != config.name:
            raise TallyError(
                "NOT_A_VALIDATOR", f"{config.key_file} is not the key of validator {config.name}"
            )
        if genesis.validators[index].bls != keys.bls.public:
            raise TallyError("NOT_A_VALIDATOR", "the BLS key does not match the genesis entry")
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
        peering = None
        if len(genesis.validators) > 1:
            peering = Peering(
                genesis, keys, index, config.p2p_listen, config.snapshot_behind_heights
            )
        driver = Driver(
            replica_factory(genesis, keys, index, executor),
            executor,
            mempool,
            store,
            proposer=keys.ed25519.public,
            validator_count=len(genesis.validators),
            metrics=metrics,
            connect=None if peering is None else peering.connect,
            max_skew_ms=genesis.params["max_clock_skew_ms"],
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
        await self._api.start(self.config.api_host, self.config.api_port)
        if self.peering is not None:
            await self.peering.start()
            await self._snapshot_if_behind(self.peering)
        self.driver.start()
        log.info(
            "serving http://%s:%d at height %d",
            self.config.api_host,
            self.config.api_port,
            self.driver.executor.tip.height,
        )

    async def _snapshot_if_behind(self, peering: Peering) -> None:
        """Before the replica starts: restore the state by snapshot if peers are far ahead,
        then rebuild the replica at the new tip (its records of older heights still bind it)."""
        try:
            if peering.snapshot is not None and await peering.snapshot.run():
                if peering.statesync is not None:
                    await remember_recent_tx_ids(
                        peering.statesync,
                        self.store,
                        self.genesis.params["max_tx_validity"],
                        sorted(peering.transport.connected()),
                        self.metrics,
                    )
                executor = self.driver.executor
                executor.adopt_tip()
                index = self.genesis.validator_index(self.keys.ed25519.public)
                if index is None:
                    raise TallyError("NOT_A_VALIDATOR", "our key left the validator set")
                self.driver.replica = self.replica_factory(self.genesis, self.keys, index, executor)
        finally:
            peering.holding = False

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
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        await service.stop()
