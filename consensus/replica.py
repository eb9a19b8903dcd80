"""`PbftReplica`: the PBFT state machine the node (or the simulator) drives.

    replica = PbftReplica(config, crypto, tip_height, tip_hash)            # fresh
    replica = PbftReplica.restore(config, crypto, records, tip_height, tip_hash)  # after a crash
    actions = replica.handle(event)

See consensus/README.md for the protocol, what is persisted and what the driver must do with
each action. Nothing in here does I/O, reads a clock or draws randomness: time arrives on events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from consensus.catchup import CatchUp
from consensus.changes import ViewChanges
from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto
from consensus.interface import (
    Action,
    BlockExecuted,
    BlockFetched,
    CaughtUp,
    Event,
    MessageReceived,
    ProposalBuilt,
    SetContinues,
    SetTimer,
    Start,
    TimerFired,
    TxsArrived,
    TxsRemoved,
)
from consensus.messages import (
    Checkpoint,
    Commit,
    NewView,
    Prepare,
    PrePrepare,
    SignedMessage,
    StableCheckpoint,
    Status,
    Suspect,
    ViewChange,
)
from consensus.normal import NormalCase
from consensus.records import parse_records
from consensus.restore import Restoring
from consensus.state import BATCH_TIMER, RETRANSMIT_TIMER, VIEW_TIMER
from ledger.errors import DecodeError
from ledger.types import Height

log = logging.getLogger(__name__)


class PbftReplica(NormalCase, ViewChanges, CatchUp, Restoring):
    """A PBFT replica for any n = 3f + 1 (n = 1 included): `handle(event) -> list[Action]`."""

    def __init__(
        self,
        config: ReplicaConfig,
        crypto: ReplicaCrypto,
        tip_height: int = 0,
        tip_hash: bytes | None = None,
    ) -> None:
        super().__init__(
            config,
            crypto,
            Height(tip_height),
            config.genesis_hash if tip_hash is None else tip_hash,
        )
        self._startup: list[Action] = []

    @classmethod
    def restore(
        cls,
        config: ReplicaConfig,
        crypto: ReplicaCrypto,
        records: Mapping[str, bytes],
        tip_height: int,
        tip_hash: bytes,
        block_hash_at: Callable[[int], bytes | None] | None = None,
    ) -> PbftReplica:
        """Rebuild a replica from its persisted records and the committed chain's tip
        (consensus/restore.py). `block_hash_at(height)` reads a committed block's hash from the
        store: with it the replica knows its recent chain and re-signs its checkpoint votes
        above the stable checkpoint, which were lost."""
        replica = cls(config, crypto, Height(tip_height), tip_hash)
        replica.restore_from(parse_records(records), block_hash_at)
        replica._startup, replica._out = replica._out, []  # performed on Start
        return replica

    # -- the one entry point -----------------------------------------------------------------

    def handle(self, event: Event) -> list[Action]:
        self._out = []
        self.now = event.now_ms
        if isinstance(event, MessageReceived):
            self._on_message(event)
        elif isinstance(event, TxsArrived):
            self.on_txs_arrived(event)
        elif isinstance(event, TimerFired):
            self._on_timer(event)
        elif isinstance(event, BlockExecuted):
            self.on_block_executed(event)
        elif isinstance(event, ProposalBuilt):
            self.on_proposal_built(event)
        elif isinstance(event, CaughtUp):
            self.on_caught_up(event)
        elif isinstance(event, TxsRemoved):
            self.on_txs_removed(event)
        elif isinstance(event, BlockFetched):
            self.on_block_fetched(event)
        elif isinstance(event, Start):
            self._on_start()
        elif isinstance(event, SetContinues):
            self._on_set_continues(event)
        self.advance()
        self.maybe_propose()
        self.arm_view_timer()
        out, self._out = self._out, []
        return out

    def _on_start(self) -> None:
        self._out.extend(self._startup)
        self._startup = []
        self.vc_started = self.now
        self.progress_mark = None
        self.pending = {tx_id: self.now for tx_id in self.pending}
        self.emit(SetTimer(RETRANSMIT_TIMER, self.config.retransmit_interval()))
        self.broadcast(self.sign(self.status()))
        if self.vc_sent is not None:
            self.broadcast(self.vc_sent)
        self.fetch()

    def _on_set_continues(self, event: SetContinues) -> None:
        """Lift the checkpoint barrier to the checkpoint the driver vouches for. The driver
        reads it from its committed chain (which may be ahead of ours while state transfer
        reports back), so it is never about a height whose set is still undecided."""
        if self.set_runs_through is not None and event.through_height > self.set_runs_through:
            self.set_runs_through = event.through_height

    def _on_timer(self, event: TimerFired) -> None:
        if event.timer == VIEW_TIMER:
            self.on_view_timer(event)
        elif event.timer == RETRANSMIT_TIMER:
            self.on_tick()
        elif event.timer == BATCH_TIMER:
            self.batch_armed = False
            self.batch_ready = True

    def _on_message(self, event: MessageReceived) -> None:
        raw = event.message
        try:
            envelope = raw if isinstance(raw, SignedMessage) else SignedMessage.decode(raw)
        except DecodeError as error:
            log.debug("replica %d: undecodable message from %d: %s", self.me, event.sender, error)
            return
        if not self.verifier.envelope(envelope):
            # Also what a replica of the next validator set sends (another signing domain):
            # counted, so a replica held at the checkpoint barrier knows to fetch (catchup.py).
            self.foreign_messages += 1
            log.debug("replica %d: bad signature on a message from %d", self.me, event.sender)
            return
        message = envelope.message
        if isinstance(message, Prepare):
            self.on_prepare(envelope, message)
        elif isinstance(message, Commit):
            self.on_commit(envelope, message)
        elif isinstance(message, PrePrepare):
            self.on_pre_prepare(envelope, message)
        elif isinstance(message, Checkpoint):
            self.on_checkpoint(envelope, message)
        elif isinstance(message, Status):
            self.on_status(envelope, message)
        elif isinstance(message, ViewChange):
            self.on_view_change(envelope, message)
        elif isinstance(message, NewView):
            self.on_new_view(envelope, message)
        elif isinstance(message, StableCheckpoint):
            self.on_stable_checkpoint(message)
        elif isinstance(message, Suspect):
            self.on_suspect(envelope, message)
