"""The composition root: config → genesis, keys, store, executor, mempool, replica, driver, API.

`NodeService.open(config)` builds the parts (synchronously: it opens LevelDB); `start()` binds
the API and starts the replica; `stop()` undoes both. `run_node(config)` is what
`tally node start` runs: it logs with node/height/view context and stops cleanly on
SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from consensus.interface import Replica
from consensus.solo import SoloReplica
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.genesis import Genesis, load_genesis
from ledger.store import LevelDBStore
from node.api import NodeHandle, make_app
from node.config import NodeConfig
from node.driver import Driver, NullTransport, Transport
from node.executor import Executor
from node.keys import ValidatorKeys, load_keys
from node.mempool import Mempool
from node.metrics import Metrics

log = logging.getLogger(__name__)

ReplicaFactory = Callable[[Genesis, ValidatorKeys, int, Executor], Replica]


def default_replica(
    genesis: Genesis, keys: ValidatorKeys, index: int, executor: Executor
) -> Replica:
    """SoloReplica for n = 1; larger networks need the PBFT replica plugged in here."""
    if len(genesis.validators) == 1:
        tip = executor.tip
        return SoloReplica(
            genesis.chain, keys.bls, tip.height, tip.block_hash, genesis.params["batch_ms"]
        )
    raise TallyError(
        "NOT_SUPPORTED",
        f"{len(genesis.validators)} validators need the PBFT replica and the network, "
        "which this build does not wire in yet",
    )


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
    ) -> None:
        self.config = config
        self.genesis = genesis
        self.keys = keys
        self.store = store
        self.driver = driver
        self.metrics = metrics
        self._verify_pool = verify_pool
        self._runner: web.AppRunner | None = None
        self.app = make_app(
            NodeHandle(config.name, genesis, driver, metrics, self.peers),
            max_body_bytes=config.max_body_bytes,
        )

    @staticmethod
    def open(
        config: NodeConfig,
        *,
        replica_factory: ReplicaFactory = default_replica,
        transport: Transport | None = None,
    ) -> NodeService:
        genesis = load_genesis(config.genesis)
        keys = load_keys(config.key_file)
        index = genesis.validator_index(keys.ed25519.public)
        if index is None or genesis.validators[index].name != config.name:
            raise TallyError(
                "NOT_A_VALIDATOR", f"{config.key_file} is not the key of validator {config.name}"
            )
        if genesis.validators[index].bls != keys.bls.public:
            raise TallyError("NOT_A_VALIDATOR", "the BLS key does not match the genesis entry")
        store = ChainStore(LevelDBStore(config.data_dir))
        executor = Executor(store, genesis)
        verify_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify")
        mempool = Mempool(
            genesis,
            is_committed=lambda tx_id: store.tx_location(tx_id) is not None,
            tip_height=lambda: executor.tip.height,
            verify_pool=verify_pool,
        )
        metrics = Metrics()
        metrics.count_rejections(lambda: mempool.rejections)
        driver = Driver(
            replica_factory(genesis, keys, index, executor),
            executor,
            mempool,
            store,
            proposer=keys.ed25519.public,
            validator_count=len(genesis.validators),
            metrics=metrics,
            transport=transport or NullTransport(),
            max_skew_ms=genesis.params["max_clock_skew_ms"],
        )
        return NodeService(config, genesis, keys, store, driver, metrics, verify_pool)

    def peers(self) -> dict[str, bool]:
        """Validator name → connected; nobody to connect to until the network is plugged in."""
        return {}

    async def start(self) -> None:
        # Open streams and long polls get a few seconds to finish when the node stops.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=3.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.api_host, self.config.api_port)
        await site.start()
        self.driver.start()
        log.info(
            "serving http://%s:%d at height %d",
            self.config.api_host,
            self.config.api_port,
            self.driver.executor.tip.height,
        )

    async def stop(self) -> None:
        self.driver.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        self._verify_pool.shutdown(wait=True)
        self.store.kv.close()
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
