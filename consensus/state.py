"""The replica's state and the small helpers every part of the protocol uses.

`PbftReplica` (replica.py) is this state plus the protocol: the normal case (normal.py), view
changes (changes.py) and catching up (catchup.py), each a mixin over this one class so that
each file holds one concern.
"""

from __future__ import annotations

from consensus.blocks import HeldBlocks
from consensus.checkpoint import CheckpointTracker
from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto
from consensus.interface import Action, Broadcast, Persist, Send
from consensus.log import MessageLog, Slot
from consensus.messages import Checkpoint, CheckpointProof, Message, SignedMessage, ViewChange
from consensus.records import encode_vote, vote_key
from consensus.verify import Verifier
from ledger.types import Block, Height, ValidatorIndex, View

VIEW_TIMER = "pbft/view"
RETRANSMIT_TIMER = "pbft/retransmit"
BATCH_TIMER = "pbft/batch"


class ReplicaState:
    """Everything a replica knows; nothing here talks to the outside but through `_out`."""

    def __init__(
        self, config: ReplicaConfig, crypto: ReplicaCrypto, tip_height: Height, tip_hash: bytes
    ) -> None:
        self.config = config
        self.crypto = crypto
        self.verifier = Verifier(config, crypto)
        self.me = ValidatorIndex(config.index)
        # -- view ---------------------------------------------------------------------------
        self._view = View(0)
        self.installed = True  # we know the view's NEW-VIEW (view 0 needs none)
        self.fresh_from = 1  # lowest height the primary may propose afresh in this view
        self.new_view_msg: SignedMessage | None = None
        self.vc_sent: SignedMessage | None = None
        self.view_changes: dict[ValidatorIndex, tuple[SignedMessage, ViewChange]] = {}  # latest
        # replica -> (highest view it suspects, when we heard it); ours included
        self.suspects: dict[ValidatorIndex, tuple[View, int]] = {}
        # our own suspicion of the current view, and the txs it is about (none: no progress)
        self.suspicion: tuple[View, frozenset[bytes]] | None = None
        self.failures = 0  # failed views, less one per fast commit: the timeout doubles with it
        self.vc_started = 0
        self.vc_quorum_at: int | None = None  # when 2f+1 replicas were changing to >= our view
        # -- log and chain ----------------------------------------------------------------------
        self.log = MessageLog()
        self.checkpoints = CheckpointTracker(
            config, CheckpointProof(Height(config.anchor_height), config.anchor, ())
        )
        self.committed_height = tip_height
        self.committed_hash = tip_hash
        self.chain_hashes: dict[int, bytes] = {
            tip_height: tip_hash,
            0: config.genesis_hash,
            config.anchor_height: config.anchor,
        }
        self.persisted: set[int] = set()  # heights with vote/prepared records on disk
        self.executed: dict[bytes, int] = {}  # block hash -> height, executed in this process
        self.executing: set[bytes] = set()
        self.fetching = False
        self.blocks = HeldBlocks()  # by hash: what we voted for or proved, for NEW-VIEWs
        self.asked: set[bytes] = set()  # block hashes the driver is fetching for us
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
        self.answered: dict[ValidatorIndex, int] = {}  # peer -> tick we last answered it in
        self.peer_heights: dict[ValidatorIndex, Height] = {}  # highest heights from STATUS
        self.reported: dict[ValidatorIndex, Height] = {}  # the height of each peer's last STATUS
        self.my_checkpoints: dict[int, SignedMessage] = {}  # our votes above the stable one
        self.fetch_target: tuple[Height, tuple[ValidatorIndex, ...]] | None = None
        self.foreign_messages = 0  # envelopes that did not verify since the last tick
        # with the checkpoint barrier: the highest height this set is known to run (its first
        # span, then what the driver says in SetContinues)
        self.set_runs_through = config.barrier(config.anchor_height)
        self._out: list[Action] = []

    # -- reading ---------------------------------------------------------------------------------

    @property
    def view(self) -> View:
        return self._view

    @property
    def primary(self) -> ValidatorIndex:
        return self.config.primary_of(self._view)

    @property
    def height(self) -> Height:
        """The committed height."""
        return self.committed_height

    @property
    def stable_height(self) -> Height:
        return self.checkpoints.height

    def is_primary(self) -> bool:
        return self.primary == self.me

    def window(self) -> tuple[int, int]:
        """Heights (low, high] this replica keeps messages for. Never beyond the proof reach
        above the stable checkpoint: we prepare nothing there, so a VIEW-CHANGE of ours holds
        at most `proof_reach` proofs (ledger.message_bounds)."""
        stable = self.checkpoints.height
        low = max(stable, self.committed_height - self.config.log_span)
        high = max(stable + self.config.log_span, self.committed_height + self.config.window)
        high = min(high, stable + self.config.proof_reach)
        if self.set_runs_through is not None:
            high = min(high, self.set_runs_through)
        return low, high

    def in_window(self, height: int) -> bool:
        low, high = self.window()
        if height > high:
            self.behind_hint = True
        return low < height <= high

    def hash_at(self, height: int) -> bytes | None:
        """The hash of the block at `height` on our chain, committed or in this view's log
        (proposed, or re-proposed by NEW-VIEW even if we are still fetching it)."""
        if height <= self.committed_height:
            if height == self.checkpoints.height:
                return self.checkpoints.stable.block_hash
            return self.chain_hashes.get(height)
        slot = self.log.get(height)
        return slot.block_hash if slot is not None and slot.block_hash else None

    def anchored(self, height: int) -> bool:
        """May we vote for a child of our block at `height`? (rule 1 of viewchange.py)"""
        if height <= max(self.checkpoints.height, self.committed_height):
            return True
        slot = self.log.get(height)
        return slot is not None and slot.prepared

    def has_work(self) -> bool:
        if self.pending or not self.installed or self.committed_height < self.checkpoints.height:
            return True
        return any(s.block_hash for s in self.log if s.height > self.committed_height)

    def known_block(self, height: Height, block_hash: bytes) -> Block | None:
        """A block we can give a peer that asks for it by hash: one we hold, or one of this
        view's proposals that we executed (a NEW-VIEW may re-propose it)."""
        found = self.blocks.get(block_hash)
        if found is not None:
            return found
        slot = self.log.get(height)
        if slot is not None and slot.block_hash == block_hash and block_hash in self.executed:
            return slot.block
        return None

    # -- acting ----------------------------------------------------------------------------------

    def order_txs(self, tx_ids: tuple[bytes, ...]) -> None:
        """These txs are in a block of this view: no longer waiting to be ordered."""
        for tx_id in tx_ids:
            self.inflight.add(tx_id)
            self.pending.pop(tx_id, None)

    def emit(self, action: Action) -> None:
        self._out.append(action)

    def sign(self, message: Message) -> SignedMessage:
        return SignedMessage.create(self.config.domain, self.me, message, self.crypto.sign_message)

    def broadcast(self, envelope: SignedMessage) -> None:
        if self.config.n > 1:
            self.emit(Broadcast(envelope))

    def send(self, peer: ValidatorIndex, envelope: SignedMessage) -> None:
        if peer != self.me:
            self.emit(Send(peer, envelope))

    def persist_vote(self, slot: Slot, view: View, block_hash: bytes) -> None:
        """Record our vote at (view, height) before anything carrying it is sent, and the
        block it is for (a NEW-VIEW may name it by hash: f+1 honest voters can give it).

        A primary re-proposing blocks it still fetches records the vote alone; the block goes
        to disk with the PREPARE it sends once it has it. A committed block is in the store.
        """
        if slot.vote != (view, block_hash):
            slot.vote = (view, block_hash)
            self.persisted.add(slot.height)
            self.emit(Persist(vote_key(slot.height), encode_vote(view, block_hash)))
        if slot.block is not None and slot.height > self.committed_height:
            for key, value in self.blocks.voted(slot.height, block_hash, slot.block):
                self.emit(Persist(key, value))

    def log_size(self) -> int:
        """Messages held in memory: what the simulator checks stays bounded."""
        return (
            self.log.message_count()
            + self.checkpoints.vote_count()
            + len(self.view_changes)
            + len(self.executed)
            + len(self.blocks)
            + len(self.suspects)
        )

    def vote_checkpoint(self, height: Height, block_hash: bytes) -> None:
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

    def start_view_change(self, target: View, reason: str) -> None:
        raise NotImplementedError

    def suspect(self, reason: str, tx_ids: tuple[bytes, ...] = ()) -> None:
        raise NotImplementedError

    def progressed(self) -> None:
        raise NotImplementedError

    def fetch(
        self, to_height: Height | None = None, peers: tuple[ValidatorIndex, ...] = ()
    ) -> None:
        raise NotImplementedError

    def adopt_stable(self, proof: CheckpointProof) -> None:
        raise NotImplementedError
