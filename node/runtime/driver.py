"""Drives a sans-IO consensus replica: feeds it events and performs its actions, in order.

The replica decides; the driver does: timers on the asyncio loop, proposals and execution
through the executor and mempool, persistence and commits through the store, messages through
an injectable transport (a no-op for a single validator). Events produced while performing
actions (ProposalBuilt, BlockExecuted, BlockFetched of a block found locally) are queued and
fed after the current list, so actions are always performed in the order the replica gave them.
What clients wait for (receipts, the commit stream) is settled into `outcomes`, its own object
beside the driver.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from consensus.interface import (
    Action,
    BlockExecuted,
    BlockFetched,
    Broadcast,
    BuildProposal,
    CancelTimer,
    CaughtUp,
    CommitBlock,
    DiscardBlocks,
    Event,
    ExecuteBlock,
    FetchBlock,
    FetchBlocks,
    MessageReceived,
    Persist,
    ProposalBuilt,
    Replica,
    Send,
    SetContinues,
    SetTimer,
    Start,
    Suspected,
    TimerFired,
    TxsArrived,
    TxsRemoved,
    ViewChanged,
)
from consensus.messages import SignedMessage
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.types import (
    Block,
    Certificate,
    ErrorInfo,
    Height,
    Receipt,
    ValidatorIndex,
    bitmap_indexes,
)
from node.runtime.executor import Executor
from node.runtime.links import Links, Transport
from node.runtime.membership import SetTracker, Switch
from node.runtime.mempool import Mempool
from node.runtime.metrics import Metrics, note_view_action
from node.runtime.outcomes import CommittedNotice, Outcomes

log = logging.getLogger(__name__)

# How often (in blocks) the mempool is swept for txs whose validity has run out.
EXPIRY_SWEEP_BLOCKS = 64


def now_ms() -> int:
    return int(time.time() * 1000)


class Driver:
    def __init__(
        self,
        replica: Replica,
        executor: Executor,
        mempool: Mempool,
        store: ChainStore,
        *,
        proposer: bytes,
        validator_count: int,
        metrics: Metrics,
        connect: Callable[[Driver], Links] | None = None,
        max_skew_ms: int = 0,
        clock: Callable[[], int] = now_ms,
        sets: SetTracker | None = None,
    ) -> None:
        """`connect(driver)`, called once at the end, builds the parts that feed this driver
        (gossip, state transfer: they need it) and returns where its output goes; without it
        the driver is a single validator's, talking to nobody. `sets`: on a chain with
        membership changes, what says after each commit whether the replica is replaced."""
        self.replica = replica
        self.executor = executor
        self.mempool = mempool
        self.store = store
        self.proposer = proposer
        self.validator_count = validator_count
        self.metrics = metrics
        self.max_skew_ms = max_skew_ms
        self.clock = clock
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._events: deque[Event] = deque()
        self._early: list[Event] = []  # fed before start (txs a client gave us): after Start
        self._started_once = False
        self._busy = False
        self.outcomes = Outcomes(store)
        self._arrivals: dict[bytes, float] = {}
        self._round_started: dict[int, float] = {}  # height -> when we built/executed it
        self._persists: dict[str, bytes | None] = {}
        self.last_commit_ms = 0
        self.running = False
        self.sets = sets
        self._set_due = sets is not None  # a commit (or the start) to look at the set after
        self.on_switch: list[Callable[[Switch], None]] = []  # told when the replica changes
        links = Links() if connect is None else connect(self)
        self.transport: Transport = links.transport
        # Called with txs a client gave us (not gossiped ones): the gossip forwards them.
        self.on_admitted = links.admitted

    # -- feeding the replica --------------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        self.metrics.chain_height.set(self.executor.tip.height)
        self.metrics.consensus_view.set(self.replica.view)
        self.handle(Start(self.clock()))
        early, self._early = self._early, []
        for event in early:
            self.handle(event)
        self._set_due = self.sets is not None
        for event in self._follow_set():
            self.handle(event)

    def stop(self) -> None:
        """Cancel timers and end every subscriber's stream (each receives None)."""
        self.running = False
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.outcomes.close()

    def txs_arrived(self, tx_ids: list[bytes], *, forward: bool = True) -> None:
        """Admitted txs: note their arrival for latency, forward them to the other validators
        (unless they came by gossip: no loops), and tell the replica."""
        if not tx_ids:
            return
        arrived = time.monotonic()
        self._arrivals.update(dict.fromkeys(tx_ids, arrived))
        self.metrics.mempool_size.set(len(self.mempool))
        if forward and self.on_admitted is not None:
            get = self.mempool.get
            self.on_admitted([tx for tx in map(get, tx_ids) if tx is not None])
        self.handle(TxsArrived(tuple(tx_ids), self.clock()))

    def txs_removed(self, tx_ids: list[bytes]) -> None:
        """Txs left the mempool other than by a block the replica committed."""
        if tx_ids:
            self.handle(TxsRemoved(tuple(tx_ids), self.clock()))

    def caught_up(self) -> None:
        """State transfer ended (whatever it reached): tell the replica where the chain is."""
        tip = self.executor.tip
        self.handle(CaughtUp(Height(tip.height), tip.block_hash, self.clock()))

    def message_received(self, sender: int, message: SignedMessage | bytes) -> None:
        self.handle(MessageReceived(ValidatorIndex(sender), message, self.clock()))

    def block_fetched(self, height: Height, block_hash: bytes, block: Block | None) -> None:
        """The answer to a FetchBlock (the block checked against its hash, or None)."""
        self.handle(BlockFetched(height, block_hash, block, self.clock()))

    def handle(self, event: Event) -> None:
        """Feed `event`; re-entrant calls (from inside an action) queue behind the current one.
        Before `start` (the node may be restoring a snapshot meanwhile: the replica could be
        replaced), events wait for it."""
        if not self.running and not self._started_once and not isinstance(event, Start):
            self._early.append(event)
            return
        self._started_once = True
        self._events.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._events:
                actions = self.replica.handle(self._events.popleft())
                for action in actions:
                    if isinstance(action, Persist):
                        # Consecutive records go down in one synchronous batch, written
                        # before the next action (the message that depends on them).
                        self._persists[action.key] = action.value or None
                        continue
                    if self._persists:
                        self._flush_persists()
                    self._perform(action)
                if self._persists:
                    self._flush_persists()
                self._events.extend(self._follow_set())
        finally:
            self._busy = False

    def _follow_set(self) -> list[Event]:
        """After a commit on a chain with membership changes (node/runtime/membership.py): tell
        the replica its set goes on, or replace it by the next set's. Only between two action
        lists, so an old replica's last actions (its records among them) are all performed."""
        if self.sets is None or not self._set_due or not self.running:
            return []
        self._set_due = False
        step = self.sets.after_commit(self.executor.tip.height, self.clock())
        if step is None or isinstance(step, SetContinues):
            return [] if step is None else [step]
        return self.replace_replica(step)

    def replace_replica(self, switch: Switch) -> list[Event]:
        """Run `switch.replica` from now on; the events that start it (fed by the caller).
        What the old replica left queued or in flight above the tip was for it: dropped."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._events.clear()
        self.executor.discard_above(self.executor.tip.height)
        self.replica = switch.replica
        self.validator_count = len(switch.validator_set.validators)
        self.metrics.consensus_view.set(0)
        for listener in self.on_switch:
            listener(switch)
        now = self.clock()
        held = tuple(tx.id for tx in self.mempool.candidates())
        return [Start(now), TxsArrived(held, now)] if held else [Start(now)]

    def _flush_persists(self) -> None:
        records, self._persists = self._persists, {}
        self.store.write_meta(records)

    # -- performing actions ---------------------------------------------------------------------

    def _perform(self, action: Action) -> None:
        if isinstance(action, SetTimer):
            self._set_timer(action.timer, action.delay_ms)
        elif isinstance(action, CancelTimer):
            handle = self._timers.pop(action.timer, None)
            if handle is not None:
                handle.cancel()
        elif isinstance(action, BuildProposal):
            self._build(action)
        elif isinstance(action, ExecuteBlock):
            self._execute(action.block, action.check_time)
        elif isinstance(action, CommitBlock):
            self._commit(action.block, action.certificate)
        elif isinstance(action, DiscardBlocks):
            self.executor.discard_above(action.height)
        elif isinstance(action, Send):
            self.transport.send(action.to, action.message)
        elif isinstance(action, Broadcast):
            self.transport.broadcast(action.message)
        elif isinstance(action, FetchBlocks):
            self.transport.fetch_blocks(action.from_height, action.to_height, action.peers)
        elif isinstance(action, FetchBlock):
            if not self.transport.fetch_block(action.height, action.block_hash, action.peers):
                self._events.append(
                    BlockFetched(action.height, action.block_hash, None, self.clock())
                )
        elif isinstance(action, Suspected | ViewChanged):
            note_view_action(action, self.executor.tip.height, self.metrics)

    def _set_timer(self, name: str, delay_ms: int) -> None:
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[name] = loop.call_later(delay_ms / 1000, self._timer_fired, name)

    def _timer_fired(self, name: str) -> None:
        self._timers.pop(name, None)
        self.handle(TimerFired(name, self.clock()))

    def _build(self, action: BuildProposal) -> None:
        clock = self.clock()
        self._round_started.setdefault(action.height, time.monotonic())
        block: Block | None = None
        try:
            block, rejected = self.executor.build(
                action.view,
                action.height,
                action.parent_hash,
                self.mempool.candidates(),
                self.proposer,
                clock,
                uncommitted=self.mempool.contains,
            )
        except TallyError as error:
            log.warning("cannot build height %d: %s", action.height, error.message)
            rejected = []
        if rejected:
            gone = [tx.id for tx, _ in rejected]
            self.mempool.remove(gone)
            for tx, why in rejected:
                log.info("dropped tx %s from the mempool: %s", tx.id.hex(), why.code)
                self._arrivals.pop(tx.id, None)
                dropped = ErrorInfo(why.code, f"dropped from the mempool: {why.message}")
                self.outcomes.settle(tx.id, dropped)
            self._events.append(TxsRemoved(tuple(gone), clock))
        if block is not None and not block.txs:
            self.executor.forget(block.hash)
            block = None
        self._events.append(ProposalBuilt(action.view, action.height, block, clock))

    def _execute(self, block: Block, check_time: bool = True) -> None:
        clock = self.clock()
        block_hash = block.hash
        self._round_started.setdefault(block.header.height, time.monotonic())
        skew = self.max_skew_ms if check_time else 0
        try:
            self.executor.execute(
                block,
                clock,
                skew,
                signature_ok=self.mempool.signature_ok,
                uncommitted=self.mempool.contains,
                decode=self.mempool.block_decoder(block.txs),
            )
        except TallyError as error:
            log.warning("block %d rejected: %s", block.header.height, error.message)
            self._events.append(BlockExecuted(block_hash, False, error.message, clock))
            return
        self._events.append(BlockExecuted(block_hash, True, "", clock))

    def _commit(self, block: Block, certificate: Certificate) -> None:
        self.commit_certified(block, certificate)
        started = self._round_started.pop(block.header.height, None)
        if started is not None:
            self.metrics.round_time.observe(time.monotonic() - started)

    def commit_certified(
        self, block: Block, certificate: Certificate, *, replay: bool = False
    ) -> list[bytes]:
        """Execute (unless done already) and commit a block, then settle everything that waits
        on it; return its tx ids. The replica's commits and state transfer both come here;
        `replay`: state transfer's, whose certificate the caller checked (`Executor.replay`)."""
        first_event_seq = self.executor.tip.event_seq + 1
        if replay:
            self.executor.replay(block)
        elif block.hash not in self.executor.pending:
            # Committed before we executed it (e.g. we were behind): execute it now. Its time
            # was checked by the 2f+1 replicas that certified it.
            checked, fresh = self.mempool.signature_ok, self.mempool.contains
            self.executor.execute(block, self.clock(), 0, signature_ok=checked, uncommitted=fresh)
        receipts = self.executor.commit(block, certificate)
        ids = [receipt.tx for receipt in receipts]
        height = block.header.height
        self.mempool.committed(height, ids)
        self._observe(height, certificate, receipts)
        if len(self._round_started) > 64:
            self._round_started = {h: t for h, t in self._round_started.items() if h > height}
        self.outcomes.committed(
            CommittedNotice(block, block.hash, certificate, receipts, first_event_seq)
        )
        self._set_due = self.sets is not None
        if height % EXPIRY_SWEEP_BLOCKS == 0:
            expired = self.mempool.drop_expired(height + 1)
            ran_out = ErrorInfo("EXPIRED", "validity ran out before ordering")
            for tx_id in expired:
                self._arrivals.pop(tx_id, None)
                self.outcomes.settle(tx_id, ran_out)
            if expired:
                self._events.append(TxsRemoved(tuple(expired), self.clock()))
        log.debug("committed height %d with %d txs", height, len(receipts))
        if not self._busy:  # state transfer: not inside a replica's action list
            for event in self._follow_set():
                self.handle(event)
        return ids

    def _observe(
        self, height: int, certificate: Certificate, receipts: tuple[Receipt, ...]
    ) -> None:
        metrics = self.metrics
        now = time.monotonic()
        pop = self._arrivals.pop
        observe = metrics.commit_latency.observe
        for receipt in receipts:
            arrived = pop(receipt.tx, None)
            if arrived is not None:
                observe(now - arrived)
            if receipt.error is not None:
                metrics.txs_failed.labels(receipt.error.code).inc()
        metrics.txs_committed.inc(len(receipts))
        metrics.blocks_committed.inc()
        metrics.chain_height.set(height)
        metrics.consensus_view.set(self.replica.view)
        metrics.mempool_size.set(len(self.mempool))
        signed = len(bitmap_indexes(certificate.signers, self.validator_count))
        metrics.commit_missing_signers.set(self.validator_count - signed)
        self.last_commit_ms = self.clock()
