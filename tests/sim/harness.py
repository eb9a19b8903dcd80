"""A deterministic discrete-event simulator for PBFT replicas, all in one process.

Everything random comes from one `random.Random(seed)`: message loss, delay and reordering,
crashes (a crashed node loses its memory and restarts from its persisted records and its
committed chain only; a crash may cut the action list of the event it was handling), network
partitions that heal, clocks that disagree by seconds, and byzantine nodes (byzantine.py). The
simulator plays the driver: it performs each action in order (sans-IO contract) and answers
BuildProposal / ExecuteBlock / FetchBlocks from a fake application (app.py).

It checks, as it goes and at the end: no two honest nodes commit different blocks at a height;
every committed block's certificate verifies with `ledger.certificates.verify_certificate`;
blocks commit in height order, each once; no honest replica signs two different blocks for one
(view, height); every message an honest replica sends fits the size bound of its kind
(ledger.message_bounds); logs and persisted records stay bounded; and once faults stop, every
submitted transaction is committed by every honest node within a bounded simulated time.

`FetchBlock` (a block named by hash in a NEW-VIEW) is answered as the node's driver does: from
the node's own executed or committed blocks, else from the peers in the order given, skipping
one that is down or cut off (after a timeout), silent, or answers with another block.
"""

from __future__ import annotations

import hashlib
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from consensus.blocks import KEEP_VOTED, matches
from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto, ValidatorCrypto
from consensus.interface import (
    Action,
    BlockExecuted,
    BlockFetched,
    Broadcast,
    BuildProposal,
    CancelTimer,
    CaughtUp,
    CommitBlock,
    Event,
    ExecuteBlock,
    FetchBlock,
    FetchBlocks,
    MessageReceived,
    Persist,
    ProposalBuilt,
    Send,
    SetTimer,
    Start,
    Suspected,
    TimerFired,
    TxsArrived,
    TxsRemoved,
    ViewChanged,
)
from consensus.messages import Commit, Prepare, PrePrepare, SignedMessage
from consensus.replica import PbftReplica
from ledger import codec
from ledger.certificates import verify_certificate
from ledger.crypto import BLS_CURVE_ORDER, BlsKey, Ed25519Key
from ledger.hashing import sha256
from ledger.message_bounds import MessageBounds, message_bounds
from ledger.types import Block, Certificate, SignedTx, TxBody
from tests.sim.app import FakeApp
from tests.sim.fakecrypto import (
    FakeCrypto,
    fake_aggregate_verify,
    fake_bls_public,
    fake_ed25519_public,
)

GENESIS_TIME = 1_700_000_000_000
CHAIN = "sim-chain"
FETCH_TIMEOUT_MS = 300  # what a peer that never answers a block fetch costs the asker
MAX_SIM_TX_BYTES = 512  # the simulator's signed txs are smaller than this


class SimulationFailure(AssertionError):
    pass


@dataclass
class Scenario:
    """One run's shape; `describe()` is printed with a failing seed."""

    n: int = 4
    real_crypto: bool = False
    wire_bytes: bool = False
    fault_ms: int = 6000
    drop: float = 0.0
    long_delay: float = 0.0  # probability a message takes 0.1-1.5 s (reordering)
    crashes: int = 0
    partitions: int = 0
    clock_skew_ms: int = 0
    byzantine: dict[int, frozenset[str]] = field(default_factory=dict)
    txs: int = 16
    window: int = 4
    checkpoint_interval: int = 8
    view_timeout_ms: int = 1000
    batch_ms: int = 30
    max_clock_skew_ms: int = 5000
    max_txs_per_block: int = 4
    # Building or executing a block takes this long on every node (an honestly loaded machine).
    busy_ms: int = 0
    liveness_ms: int = 90_000
    submit_until_ms: int | None = None
    # `lone_txs` more txs reach only the nodes `lone_nodes` while faults last (nobody else hears
    # of them), and everyone once the faults stop (as gossip re-announcing them would).
    lone_nodes: tuple[int, ...] = ()
    lone_txs: int = 0

    def describe(self) -> str:
        parts = [f"n={self.n}"]
        for name in ("real_crypto", "wire_bytes", "drop", "long_delay", "crashes", "busy_ms"):
            parts.append(f"{name}={getattr(self, name)}")
        parts.append(f"partitions={self.partitions} skew={self.clock_skew_ms}")
        if self.byzantine:
            byz = {i: sorted(b) for i, b in self.byzantine.items()}
            parts.append(f"byzantine={byz}")
        return " ".join(parts)


@dataclass
class Node:
    index: int
    config: ReplicaConfig
    crypto: ReplicaCrypto
    app: FakeApp
    replica: PbftReplica | None = None
    records: dict[str, bytes] = field(default_factory=dict)
    up: bool = True
    epoch: int = 0
    offset: int = 0
    timers: dict[str, int] = field(default_factory=dict)
    crash_pending: bool = False
    behaviour: Any = None  # byzantine.Behaviour or None

    @property
    def honest(self) -> bool:
        return self.behaviour is None


class Simulation:
    def __init__(self, seed: int, scenario: Scenario) -> None:
        self.seed = seed
        self.scenario = scenario
        self.rng = random.Random(seed)
        self.time = GENESIS_TIME
        self.time0 = GENESIS_TIME
        self.fault_end = GENESIS_TIME + scenario.fault_ms
        self.quiet_from = self.fault_end
        self._queue: list[tuple[int, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._token = 0
        self.partition: frozenset[int] | None = None
        self.decided: dict[int, bytes] = {}
        self.signed: dict[tuple[int, str, int, int], bytes] = {}
        self.submitted: dict[bytes, bytes] = {}
        self.view_changes = 0  # ViewChanged actions, one per node that changed
        self.views_entered: set[int] = set()
        self.suspicions = 0
        self.lone_ids: list[bytes] = []
        self.unhappy_at: dict[int, int] = {}  # node -> when it first suspected or left a view
        self.decided_at: dict[int, int] = {}  # height -> when it was first committed
        self.blocks_fetched = 0
        self.wrong_blocks = 0
        self.commits = 0
        self.max_log = 0
        self.events = 0
        self.bounds = self._bounds()
        self._setup_nodes()

    def _bounds(self) -> MessageBounds:
        sc = self.scenario
        params = {
            "window": sc.window,
            "checkpoint_interval": sc.checkpoint_interval,
            "block_max_txs": sc.max_txs_per_block,
            "block_max_bytes": sc.max_txs_per_block * MAX_SIM_TX_BYTES,
        }
        return message_bounds(params, sc.n, CHAIN)

    # -- set-up --------------------------------------------------------------------------------

    def _setup_nodes(self) -> None:
        sc = self.scenario
        n = sc.n
        if sc.real_crypto:
            ed_keys = [Ed25519Key.from_seed(sha256(b"ed/%d/%d" % (self.seed, i))) for i in range(n)]
            bls_keys = [
                BlsKey.from_secret(
                    1
                    + int.from_bytes(sha256(b"bls/%d/%d" % (self.seed, i)), "big")
                    % (BLS_CURVE_ORDER - 1)
                )
                for i in range(n)
            ]
            self.ed_publics = [k.public for k in ed_keys]
            self.bls_publics = [k.public for k in bls_keys]
            cryptos: list[ReplicaCrypto] = [
                ValidatorCrypto(ed_keys[i], bls_keys[i], self.ed_publics, self.bls_publics)
                for i in range(n)
            ]
            self.aggregate_verify = None
        else:
            self.ed_publics = [fake_ed25519_public(i) for i in range(n)]
            self.bls_publics = [fake_bls_public(i) for i in range(n)]
            cryptos = [FakeCrypto(i, n) for i in range(n)]
            self.aggregate_verify = fake_aggregate_verify
        genesis_hash = sha256(b"genesis/" + CHAIN.encode())
        validators_hash = sha256(
            codec.encode([[e, b] for e, b in zip(self.ed_publics, self.bls_publics, strict=True)])
        )
        self.nodes: list[Node] = []
        for i in range(n):
            config = ReplicaConfig(
                chain=CHAIN,
                index=i,
                validators=tuple(self.ed_publics),
                genesis_hash=genesis_hash,
                window=sc.window,
                checkpoint_interval=sc.checkpoint_interval,
                view_timeout_ms=sc.view_timeout_ms,
                batch_ms=sc.batch_ms,
                max_timeout_doublings=4,
            )
            app = FakeApp(
                CHAIN,
                genesis_hash,
                GENESIS_TIME,
                validators_hash,
                sc.max_clock_skew_ms,
                sc.max_txs_per_block,
            )
            node = Node(i, config, cryptos[i], app)
            node.offset = self.rng.randint(-sc.clock_skew_ms, sc.clock_skew_ms)
            node.replica = PbftReplica(config, cryptos[i], 0, genesis_hash)
            self.nodes.append(node)
        from tests.sim.byzantine import make_behaviour

        for index, kinds in sc.byzantine.items():
            self.nodes[index].behaviour = make_behaviour(self, self.nodes[index], kinds)

    # -- the event queue ------------------------------------------------------------------------

    def at(self, when: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, fn, args))

    def local_now(self, node: Node) -> int:
        return self.time + node.offset

    def deliver(self, node: Node, make: Callable[[int], Event], epoch: int | None = None) -> None:
        """Hand `node` an event (built at its local time) and perform what it answers."""
        if not node.up or node.replica is None or (epoch is not None and epoch != node.epoch):
            return
        self.events += 1
        event = make(self.local_now(node))
        if node.behaviour is not None:
            node.behaviour.observe(event)
        actions = node.replica.handle(event)
        if node.behaviour is not None:
            actions = node.behaviour.outgoing(actions)
        if node.crash_pending:
            cut = self.rng.randint(0, len(actions))
            self.perform(node, actions[:cut])
            self.crash(node)
            return
        self.perform(node, actions)

    # -- the driver -------------------------------------------------------------------------------

    def perform(self, node: Node, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Broadcast):
                self._check_signed(node, action.message)
                payload = self._wire(action.message)
                for peer in self.nodes:
                    if peer.index != node.index:
                        self.transmit(node.index, peer.index, payload)
            elif isinstance(action, Send):
                self._check_signed(node, action.message)
                self.transmit(node.index, action.to, self._wire(action.message))
            elif isinstance(action, SetTimer):
                self._token += 1
                node.timers[action.timer] = self._token
                self.at(self.time + action.delay_ms, self._fire, node, action.timer, self._token)
            elif isinstance(action, CancelTimer):
                node.timers.pop(action.timer, None)
            elif isinstance(action, Persist):
                if action.value:
                    node.records[action.key] = action.value
                else:
                    node.records.pop(action.key, None)
            elif isinstance(action, BuildProposal):
                self._build(node, action)
            elif isinstance(action, ExecuteBlock):
                self._execute(node, action)
            elif isinstance(action, CommitBlock):
                self._commit(node, action.block, action.certificate)
            elif isinstance(action, FetchBlocks):
                self._fetch(node, action)
            elif isinstance(action, FetchBlock):
                self._fetch_block(node, action)
            elif isinstance(action, ViewChanged):
                self.view_changes += 1
                self.views_entered.add(action.view)
                self.unhappy_at.setdefault(node.index, self.time)
            elif isinstance(action, Suspected):
                self.suspicions += 1
                self.unhappy_at.setdefault(node.index, self.time)

    def _wire(self, envelope: SignedMessage | bytes) -> Any:
        if isinstance(envelope, bytes):
            return envelope  # a byzantine node's junk
        return envelope.encode() if self.scenario.wire_bytes else envelope

    def _fire(self, node: Node, name: str, token: int) -> None:
        if node.up and node.timers.get(name) == token:
            del node.timers[name]
            self.deliver(node, lambda now: TimerFired(name, now))

    def faulty_now(self) -> bool:
        return self.time < self.fault_end

    def cut(self, src: int, dst: int) -> bool:
        """Whether a message from `src` to `dst` is lost now (partition or random drop)."""
        if not self.faulty_now():
            return False
        if self.partition is not None and (src in self.partition) != (dst in self.partition):
            return True
        return bool(self.scenario.drop) and self.rng.random() < self.scenario.drop

    def transmit(self, src: int, dst: int, payload: Any) -> None:
        sc = self.scenario
        delay = self.rng.randint(1, 20)
        if self.cut(src, dst):
            return
        if self.faulty_now() and sc.long_delay and self.rng.random() < sc.long_delay:
            delay += self.rng.randint(100, 1500)
        target = self.nodes[dst]
        self.at(
            self.time + delay,
            self.deliver,
            target,
            lambda now: MessageReceived(src, payload, now),
        )

    def _build(self, node: Node, action: BuildProposal) -> None:
        block = node.app.build(
            action.view,
            action.height,
            action.parent_hash,
            self.local_now(node),
            node.config.validators[node.config.index],
        )
        if node.behaviour is not None:
            block = node.behaviour.built(block)
        event = ProposalBuilt(action.view, action.height, block, 0)
        self.at(
            self.time + 1 + self.scenario.busy_ms,
            self.deliver,
            node,
            lambda now: ProposalBuilt(event.view, event.height, event.block, now),
            node.epoch,
        )

    def _execute(self, node: Node, action: ExecuteBlock) -> None:
        valid, reason = node.app.execute(action.block, self.local_now(node), action.check_time)
        block_hash = action.block.header.hash()
        self.at(
            self.time + 1 + self.scenario.busy_ms,
            self.deliver,
            node,
            lambda now: BlockExecuted(block_hash, valid, reason, now),
            node.epoch,
        )

    # -- committing and state transfer ---------------------------------------------------------

    def fail(self, reason: str) -> None:
        raise SimulationFailure(reason)

    def _verify(self, block: Block, certificate: Certificate) -> None:
        header = block.header
        if not verify_certificate(
            self.bls_publics,
            CHAIN,
            header.hash(),
            certificate,
            height=header.height,
            aggregate_verify=self.aggregate_verify,
        ):
            self.fail(f"certificate for height {header.height} does not verify")

    def _agree(self, node: Node, height: int, block_hash: bytes) -> None:
        self.decided_at.setdefault(height, self.time)
        known = self.decided.setdefault(height, block_hash)
        if known != block_hash:
            self.fail(f"node {node.index} committed a different block at height {height}")

    def _commit(self, node: Node, block: Block, certificate: Certificate) -> None:
        if not node.honest:
            try:
                node.app.commit(block, certificate)
            except AssertionError:
                pass
            return
        self._verify(block, certificate)
        try:
            node.app.commit(block, certificate)
        except AssertionError as error:
            self.fail(f"node {node.index}: {error}")
        self._agree(node, block.header.height, block.header.hash())
        self.commits += 1

    def _fetch(self, node: Node, action: FetchBlocks) -> None:
        sources = [
            self.nodes[p]
            for p in action.peers
            if self.nodes[p].up
            and self.nodes[p].honest
            and self.nodes[p].app.height >= action.from_height
        ]
        removed: list[bytes] = []
        if sources:
            source = self.rng.choice(sources)
            last = min(action.to_height, source.app.height)
            for height in range(node.app.height + 1, last + 1):
                block, certificate = source.app.blocks[height - 1]
                self._verify(block, certificate)
                valid, reason = node.app.execute(block, self.local_now(node), False)
                if not valid:
                    self.fail(f"node {node.index} cannot execute fetched block {height}: {reason}")
                removed.extend(node.app.commit(block, certificate))
                if node.honest:
                    self._agree(node, height, block.header.hash())
        height, tip = node.app.height, node.app.tip_hash
        ids = tuple(removed)
        delay = self.rng.randint(5, 50)
        if ids:
            self.at(
                self.time + delay, self.deliver, node, lambda now: TxsRemoved(ids, now), node.epoch
            )
        self.at(
            self.time + delay,
            self.deliver,
            node,
            lambda now: CaughtUp(height, tip, now),
            node.epoch,
        )

    # -- blocks fetched by hash --------------------------------------------------------------------

    def _fetch_block(self, node: Node, action: FetchBlock) -> None:
        """The driver's FetchBlock: our own blocks first, then each peer in turn."""
        block = node.app.block(action.height, action.block_hash)
        delay = 1
        for index in action.peers if block is None else ():
            answer, cost = self._ask_for_block(node, self.nodes[index], action)
            delay += cost
            if answer is not None and matches(answer, action.height, action.block_hash):
                block = answer
                self.blocks_fetched += 1  # from a peer
                break
            if answer is not None:
                self.wrong_blocks += 1
        if block is not None and self.scenario.wire_bytes:
            block = Block.decode(block.encode())
        height, block_hash, found = action.height, action.block_hash, block
        self.at(
            self.time + delay,
            self.deliver,
            node,
            lambda now: BlockFetched(height, block_hash, found, now),
            node.epoch,
        )

    def _ask_for_block(
        self, node: Node, peer: Node, action: FetchBlock
    ) -> tuple[Block | None, int]:
        """What `peer` answers and how long it takes (a silent peer costs a timeout)."""
        if not peer.up or peer.replica is None or self.cut(node.index, peer.index):
            return None, FETCH_TIMEOUT_MS
        if peer.behaviour is not None:
            served = peer.behaviour.serve_block(action.height, action.block_hash)
            if served is not None:
                return served
        found = peer.replica.known_block(action.height, action.block_hash)
        if found is None:
            found = peer.app.block(action.height, action.block_hash)
        return found, self.rng.randint(2, 40)

    # -- crashes ---------------------------------------------------------------------------------

    def crash(self, node: Node) -> None:
        node.up = False
        node.crash_pending = False
        node.epoch += 1
        node.timers.clear()
        node.app.crash()
        node.replica = None

    def _crash_soon(self, node: Node) -> None:
        if node.up:
            node.crash_pending = True
            self.at(self.time + 30, self._crash_now, node, node.epoch)

    def _crash_now(self, node: Node, epoch: int) -> None:
        if node.up and node.epoch == epoch and node.crash_pending:
            self.crash(node)

    def restart(self, node: Node, redeliver: bool = True) -> None:
        """Bring `node` back from its records and chain; `redeliver`: its clients submit again
        what it had not seen committed (without it, its mempool stays empty, as after a real
        restart on a network where nothing new arrives)."""
        if node.up:
            return
        node.up = True
        node.replica = PbftReplica.restore(
            node.config,
            node.crypto,
            dict(node.records),
            node.app.height,
            node.app.tip_hash,
            lambda height: node.app.hashes[height] if height <= node.app.height else None,
        )
        self.deliver(node, lambda now: Start(now))
        if not redeliver:
            return
        ids = []
        for tx_id, raw in self.submitted.items():
            if tx_id not in node.app.committed_txs:
                node.app.mempool[tx_id] = raw
                ids.append(tx_id)
        if ids:
            arrived = tuple(ids)
            self.deliver(node, lambda now: TxsArrived(arrived, now))

    # -- transactions ---------------------------------------------------------------------------

    def _make_tx(self, number: int) -> SignedTx:
        key = Ed25519Key.from_seed(sha256(b"client/%d" % (number % 3)))
        body = TxBody(
            CHAIN, key.public, "cash", "transfer", {"n": number}, self.rng.getrandbits(63), 10**9
        )
        return SignedTx.create(body, key)

    def make_tx(self, number: int) -> SignedTx:
        return self._make_tx(number)

    def submit(self, tx: SignedTx, only: tuple[int, ...] = ()) -> None:
        """Hand `tx` to every node (or to the nodes `only`), each after a random delay."""
        raw = tx.encode()
        self.submitted[tx.id] = raw
        for node in self.nodes:
            if not only or node.index in only:
                self.at(self.time + self.rng.randint(0, 200), self._arrive, node, tx.id, raw)

    def _arrive(self, node: Node, tx_id: bytes, raw: bytes) -> None:
        if not node.up or tx_id in node.app.committed_txs or tx_id in node.app.mempool:
            return
        node.app.mempool[tx_id] = raw
        self.deliver(node, lambda now: TxsArrived((tx_id,), now))

    # -- checks ------------------------------------------------------------------------------------

    def _check_signed(self, node: Node, envelope: SignedMessage) -> None:
        if not node.honest or not isinstance(envelope, SignedMessage):
            if node.honest:
                self.fail(f"honest node {node.index} sent something that is not an envelope")
            return
        if envelope.sender != node.index:
            return
        message = envelope.message
        bound = getattr(self.bounds, message.TYPE)
        if len(envelope.encode()) > bound:
            self.fail(
                f"honest node {node.index} sent a {message.TYPE} of {len(envelope.encode())} "
                f"bytes, over its bound of {bound}"
            )
        if isinstance(message, PrePrepare | Prepare | Commit):
            block_hash = (
                message.block.header.hash()
                if isinstance(message, PrePrepare)
                else message.block_hash
            )
            kind = "commit" if isinstance(message, Commit) else "prepare"
            key = (node.index, kind, message.view, message.height)
            known = self.signed.setdefault(key, block_hash)
            if known != block_hash:
                self.fail(
                    f"honest node {node.index} signed two blocks for {kind} at view "
                    f"{message.view} height {message.height}"
                )

    def records_bound(self) -> int:
        """A vote and a prepared proof per height within the proof reach, the blocks kept per
        height (consensus/blocks.py), and the view, view change, new view and checkpoint."""
        sc = self.scenario
        reach = 2 * (sc.checkpoint_interval + sc.window)
        return reach * (2 + KEEP_VOTED + 1) + 4

    def log_bound(self) -> int:
        sc = self.scenario
        span = sc.checkpoint_interval + sc.window
        return 3 * span * (2 * sc.n + 3) + 8 * sc.n

    def _check_bounded(self) -> None:
        for node in self.nodes:
            if not node.honest or node.replica is None:
                continue
            size = node.replica.log_size()
            self.max_log = max(self.max_log, size)
            if size > self.log_bound():
                self.fail(f"node {node.index} log holds {size} messages (bound {self.log_bound()})")
            if len(node.records) > self.records_bound():
                self.fail(f"node {node.index} keeps {len(node.records)} persisted records")

    def committed_by_all(self, tx_ids: list[bytes]) -> bool:
        return all(set(tx_ids) <= n.app.committed_txs for n in self.nodes if n.honest)

    def _live(self) -> bool:
        wanted = set(self.submitted)
        for node in self.nodes:
            if node.honest and not (node.up and wanted <= node.app.committed_txs):
                return False
        return True

    # -- running -----------------------------------------------------------------------------------

    def _schedule_faults(self) -> None:
        sc = self.scenario
        rng = self.rng
        honest = [node for node in self.nodes if node.honest]
        for _ in range(sc.crashes):
            node = rng.choice(honest)
            start = rng.randint(0, sc.fault_ms - 500)
            back = min(sc.fault_ms, start + rng.randint(200, 4000))
            self.at(self.time + start, self._crash_soon, node)
            self.at(self.time + back, self.restart, node)
        for _ in range(sc.partitions):
            start = rng.randint(0, sc.fault_ms - 500)
            side = frozenset(i for i in range(sc.n) if rng.random() < 0.5)
            self.at(self.time + start, self._split, side)
            self.at(self.time + min(sc.fault_ms, start + rng.randint(300, 4000)), self._split, None)
        until = sc.submit_until_ms if sc.submit_until_ms is not None else sc.fault_ms
        self.quiet_from = max(self.fault_end, self.time + until + 1)
        for number in range(sc.txs):
            self.at(self.time + rng.randint(0, until), self.submit, self._make_tx(number))
        for number in range(sc.txs, sc.txs + sc.lone_txs):
            tx = self._make_tx(number)
            self.lone_ids.append(tx.id)
            self.at(self.time + rng.randint(0, until // 2), self.submit, tx, sc.lone_nodes)
            self.at(self.fault_end, self.submit, tx)
        # Every node comes back when the faults stop.
        for node in honest:
            self.at(self.fault_end, self.restart, node)

    def _split(self, side: frozenset[int] | None) -> None:
        self.partition = side

    def start(self) -> None:
        for node in self.nodes:
            self.deliver(node, lambda now: Start(now))

    def run_until(self, done: Callable[[], bool], until: int) -> bool:
        """Process events up to simulated time `until` or until `done()` (checked every 500 ms
        of simulated time, with the boundedness checks); return `done()`."""
        next_check = self.time
        while self._queue:
            when, _, fn, args = self._queue[0]
            if when > until:
                break
            heapq.heappop(self._queue)
            self.time = when
            fn(*args)
            if when >= next_check:
                next_check = when + 500
                self._check_bounded()
                if done():
                    return True
        return done()

    def run(self) -> Simulation:
        self.start()
        self._schedule_faults()
        deadline = self.quiet_from + self.scenario.liveness_ms
        self.run_until(lambda: self.time >= self.quiet_from and self._live(), deadline)
        self._check_bounded()
        if not self._live():
            missing = {
                node.index: len(set(self.submitted) - node.app.committed_txs)
                for node in self.nodes
                if node.honest
            }
            views = {n.index: n.replica.view if n.replica else None for n in self.nodes}
            heights = {n.index: n.app.height for n in self.nodes}
            self.fail(
                f"not live: txs missing per honest node {missing} "
                f"{(self.time - self.fault_end) / 1000:.1f}s after faults stopped; "
                f"views {views} heights {heights}"
            )
        return self


def run_seed(seed: int, scenario: Scenario) -> Simulation:
    return Simulation(seed, scenario).run()


def tx_hash(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()
