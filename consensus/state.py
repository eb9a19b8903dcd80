"""The replica's state and the small helpers every part of the protocol uses.

`PbftReplica` (replica.py) is this state plus the protocol: the normal case (normal.py), view
changes (changes.py) and catching up (catchup.py), each a mixin over this one class so that
each file holds one concern.
"""

from __future__ import annotations

from consensus.checkpoint import CheckpointTracker
from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto
from consensus.interface import Action, Broadcast, Persist, Send
from consensus.log import MessageLog, Slot
from consensus.messages import Checkpoint, CheckpointProof, Message, SignedMessage, ViewChange
from consensus.records import encode_vote, vote_key
from consensus.verify import Verifier

VIEW_TIMER = "pbft/view"
RETRANSMIT_TIMER = "pbft/retransmit"
BATCH_TIMER = "pbft/batch"


class ReplicaState:
    """Everything a replica knows; nothing here talks to the outside but through `_out`."""

    def __init__(
        self, config: ReplicaConfig, crypto: ReplicaCrypto, tip_height: int, tip_hash: bytes
    ) -> None:
        self.config = config
        self.crypto = crypto
        self.verifier = Verifier(config, crypto)
        self.me = config.index
        # -- view ---------------------------------------------------------------------------
        self._view = 0
        self.installed = True  # we know the view's NEW-VIEW (view 0 needs none)
        self.fresh_from = 1  # lowest height the primary may propose afresh in this view
        self.new_view_msg: SignedMessage | None = None
        self.vc_sent: SignedMessage | None = None
        self.view_changes: dict[int, tuple[SignedMessage, ViewChange]] = {}  # latest per sender
        self.failures = 0  # consecutive views without progress: the timeout doubles with it
        self.vc_started = 0
        self.vc_quorum_at: int | None = None  # when 2f+1 replicas were changing to >= our view
        # -- log and chain ----------------------------------------------------------------------
        self.log = MessageLog()
        self.checkpoints = CheckpointTracker(config, CheckpointProof(0, config.genesis_hash, ()))
        self.committed_height = tip_height
        self.committed_hash = tip_hash
        self.chain_hashes: dict[int, bytes] = {tip_height: tip_hash, 0: config.genesis_hash}
        self.persisted: set[int] = set()  # heights with vote/prepared records on disk
        self.executed: dict[bytes, int] = {}  # block hash -> height, executed in this process
        self.executing: set[bytes] = set()
        self.fetching = False
        # -- transactions -----------------------------------------------------------------------
        self.held: dict[bytes, int] = {}  # tx id -> when it arrived
        self.pending: dict[bytes, int] = {}  # held and in no block of this view -> since when
        self.inflight: set[bytes] = set()  # tx ids in uncommitted blocks of this view
        # -- proposing (primary) ----------------------------------------------------------------
        self.building = False
        self.batch_ready = False
        self.batch_armed = False
        # -- timers ---------------------------------------------------------------------------
        self.now = 0
        self.progress_mark: int | None = None
        self.view_deadline: int | None = None
        self.tick = 0
        self.tick_committed = tip_height
        self.behind_hint = False
        self.answered: dict[int, int] = {}  # peer -> tick we last answered its status in
        self.peer_heights: dict[int, int] = {}  # committed heights peers told us in STATUS
        self.my_checkpoints: dict[int, SignedMessage] = {}  # our votes above the stable one
        self.fetch_target: tuple[int, tuple[int, ...]] | None = None  # (height, peers)
        self._out: list[Action] = []

    # -- reading ---------------------------------------------------------------------------------

    @property
    def view(self) -> int:
        return self._view

    @property
    def primary(self) -> int:
        return self.config.primary_of(self._view)

    @property
    def height(self) -> int:
        """The committed height."""
        return self.committed_height

    @property
    def stable_height(self) -> int:
        return self.checkpoints.height

    def is_primary(self) -> bool:
        return self.primary == self.me

    def window(self) -> tuple[int, int]:
        """Heights (low, high] this replica keeps messages for."""
        stable = self.checkpoints.height
        low = max(stable, self.committed_height - self.config.log_span)
        high = max(stable + self.config.log_span, self.committed_height + self.config.window)
        return low, high

    def in_window(self, height: int) -> bool:
        low, high = self.window()
        if height > high:
            self.behind_hint = True
        return low < height <= high

    def hash_at(self, height: int) -> bytes | None:
        """The hash of the block at `height` on our chain, committed or in this view's log."""
        if height <= self.committed_height:
            if height == self.checkpoints.height:
                return self.checkpoints.stable.block_hash
            return self.chain_hashes.get(height)
        slot = self.log.get(height)
        return slot.block_hash if slot is not None and slot.block is not None else None

    def anchored(self, height: int) -> bool:
        """May we vote for a child of our block at `height`? (rule 1 of viewchange.py)"""
        if height <= max(self.checkpoints.height, self.committed_height):
            return True
        slot = self.log.get(height)
        return slot is not None and slot.prepared

    def has_work(self) -> bool:
        if self.pending or not self.installed or self.committed_height < self.checkpoints.height:
            return True
        return any(s.block is not None for s in self.log if s.height > self.committed_height)

    # -- acting ----------------------------------------------------------------------------------

    def emit(self, action: Action) -> None:
        self._out.append(action)

    def sign(self, message: Message) -> SignedMessage:
        return SignedMessage.create(self.config.chain, self.me, message, self.crypto.sign_message)

    def broadcast(self, envelope: SignedMessage) -> None:
        if self.config.n > 1:
            self.emit(Broadcast(envelope))

    def send(self, peer: int, envelope: SignedMessage) -> None:
        if peer != self.me:
            self.emit(Send(peer, envelope))

    def persist_vote(self, slot: Slot, view: int, block_hash: bytes) -> None:
        """Record our vote at (view, height) before anything carrying it is sent."""
        if slot.vote == (view, block_hash):
            return
        slot.vote = (view, block_hash)
        self.persisted.add(slot.height)
        self.emit(Persist(vote_key(slot.height), encode_vote(view, block_hash)))

    def log_size(self) -> int:
        """Messages held in memory: what the simulator checks stays bounded."""
        return (
            self.log.message_count()
            + self.checkpoints.vote_count()
            + len(self.view_changes)
            + len(self.executed)
        )

    def vote_checkpoint(self, height: int, block_hash: bytes) -> None:
        """Sign a checkpoint for a committed block at a checkpoint height; keep it to re-send
        until the checkpoint is stable (a lost vote could otherwise stall the watermark)."""
        if height % self.config.checkpoint_interval != 0 or height <= self.checkpoints.height:
            return
        if height in self.my_checkpoints:
            return
        envelope = self.sign(Checkpoint(height, block_hash))
        self.my_checkpoints[height] = envelope
        for old in sorted(self.my_checkpoints)[:-4]:
            del self.my_checkpoints[old]
        self.broadcast(envelope)
        stable = self.checkpoints.add(envelope)
        if stable is not None:
            self.adopt_stable(stable)

    # -- implemented by the protocol mixins ------------------------------------------------------

    def start_view_change(self, target: int, reason: str) -> None:
        raise NotImplementedError

    def fetch(self, to_height: int | None = None, peers: tuple[int, ...] = ()) -> None:
        raise NotImplementedError

    def adopt_stable(self, proof: CheckpointProof) -> None:
        raise NotImplementedError
