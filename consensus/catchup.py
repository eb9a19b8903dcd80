"""Catching up: retransmission, status exchange, stable checkpoints and state transfer.

Messages get lost, so a replica that makes no progress while it has work re-sends its own latest
votes every `retransmit_interval` and broadcasts a STATUS (view, committed height, stable
checkpoint). STATUS is also the heartbeat: an idle replica sends it every tick, a busy one every
`HEARTBEAT_TICKS`, so a replica that is behind (restarted while the others changed view and
committed, on a network where nothing new arrives) learns their height and view within a few
ticks. A peer that is ahead answers (at most once per tick per peer) with what the asker lacks:
its stable checkpoint proof if the asker's is older, the NEW-VIEW of its view if the asker has
not installed it, and, if the asker reported the same height twice (it is stuck) and is within
a window of ours, the proposals and votes it holds above the asker's height.

A replica below a stable checkpoint it has a proof of asks the driver for the blocks
(FetchBlocks up to that checkpoint, from the replicas that signed it) and stops executing and
committing until the driver answers CaughtUp. So does a replica that is stuck or idle while
f+1 peers report higher committed heights (at least one honest peer has those blocks).
"""

from __future__ import annotations

from consensus.interface import CaughtUp, FetchBlocks, Persist, SetTimer
from consensus.messages import CheckpointProof, SignedMessage, StableCheckpoint, Status
from consensus.records import CHECKPOINT_KEY, prepared_key, vote_key
from consensus.state import RETRANSMIT_TIMER, ReplicaState
from ledger.types import Height, ValidatorIndex

# A replica with work that progresses still sends its STATUS every this many ticks.
HEARTBEAT_TICKS = 3


class CatchUp(ReplicaState):
    def status(self) -> Status:
        return Status(self._view, self.installed, self.committed_height, self.checkpoints.height)

    # -- the retransmission tick ---------------------------------------------------------------

    def on_tick(self) -> None:
        self.tick += 1
        self.emit(SetTimer(RETRANSMIT_TIMER, self.config.retransmit_interval()))
        idle = not self.has_work()
        stuck = self.committed_height == self.tick_committed and not idle
        self.tick_committed = self.committed_height
        if self.committed_height < self.checkpoints.height:
            self.fetch()
        elif stuck or idle:
            self._fetch_from_peers()
            self._fetch_to_barrier()
        self.foreign_messages = 0
        if stuck or idle or self.behind_hint or self.tick % HEARTBEAT_TICKS == 0:
            self.behind_hint = False
            self.broadcast(self.sign(self.status()))
        if self.still_suspicious():
            self.suspect("still")
        self.ask_for_blocks()
        if not stuck:
            return
        for vote in self.my_checkpoints.values():
            self.broadcast(vote)
        if not self.installed:
            if self.vc_sent is not None:
                self.broadcast(self.vc_sent)
            return
        for slot in self.log:
            if slot.height <= self.committed_height:
                continue
            if slot.pre_prepare is not None and slot.pre_prepare.sender == self.me:
                self.broadcast(slot.pre_prepare)
            for envelope in (slot.my_prepare, slot.my_commit):
                if envelope is not None:
                    self.broadcast(envelope)

    def _fetch_to_barrier(self) -> None:
        """Held at the checkpoint barrier while peers speak in another signing domain: they may
        have committed the checkpoint and moved on to the next validator set, whose messages
        this replica cannot read. Fetch up to the barrier (blocks are checked by certificate,
        so a false hint costs one fetch per tick, never a wrong block)."""
        through = self.set_runs_through
        if through is not None and self.foreign_messages and self.committed_height < through:
            self.fetch(Height(through))

    def _fetch_from_peers(self) -> None:
        """Stuck while f+1 peers say they committed more: fetch what at least one honest has."""
        heights = sorted(self.peer_heights.values(), reverse=True)
        if len(heights) <= self.config.f:
            return
        target = heights[self.config.f]
        if target > self.committed_height:
            peers = tuple(sorted(p for p, h in self.peer_heights.items() if h >= target))
            self.fetch(target, peers)

    # -- implemented by the view-change mixin ---------------------------------------------------

    def still_suspicious(self) -> bool:
        raise NotImplementedError

    def ask_for_blocks(self) -> None:
        raise NotImplementedError

    # -- status ------------------------------------------------------------------------------------

    def on_status(self, envelope: SignedMessage, message: Status) -> None:
        peer = envelope.sender
        if peer == self.me:
            return
        stuck = self.reported.get(peer) == message.height  # the same height twice in a row
        self.reported[peer] = message.height
        if message.height > self.peer_heights.get(peer, -1):
            self.peer_heights[peer] = message.height
        if self.answered.get(peer) == self.tick:
            return
        behind = (
            message.stable > self.committed_height
            or message.view > self._view
            or (message.view == self._view and message.installed and not self.installed)
        )
        if behind:
            # The peer knows more than we do: show it where we are, it will answer.
            self.answered[peer] = self.tick
            self.send(peer, self.sign(self.status()))
            return
        answer: list[SignedMessage] = []
        if self.committed_height > message.height:
            answer.append(self.sign(self.status()))
        answer.extend(v for h, v in self.my_checkpoints.items() if h > message.stable)
        stable = self.checkpoints.stable
        if stable.height > message.stable and stable.height > 0:
            answer.append(self.sign(StableCheckpoint(stable)))
        if self._view > message.view or (self._view == message.view and not message.installed):
            if self.installed and self.new_view_msg is not None:
                answer.append(self.new_view_msg)
            elif self.vc_sent is not None and self._view > message.view:
                answer.append(self.vc_sent)
        elif (
            self.installed
            and message.installed
            and message.view == self._view
            and stuck
            and message.height + self.config.window >= self.committed_height
        ):
            answer.extend(self._votes_above(message.height))
        if answer:
            self.answered[peer] = self.tick
            for vote in answer:
                self.send(peer, vote)

    def _votes_above(self, height: int) -> list[SignedMessage]:
        """Our proposals and votes above `height`, for a peer stuck just below us."""
        found: list[SignedMessage] = []
        for slot in self.log:
            if slot.height > height:
                for vote in (slot.pre_prepare, slot.my_prepare, slot.my_commit):
                    if vote is not None:
                        found.append(vote)
        return found

    def on_stable_checkpoint(self, message: StableCheckpoint) -> None:
        proof = message.proof
        if proof.height <= self.checkpoints.height:
            return
        if self.verifier.checkpoint_proof(proof):
            self.adopt_stable(proof)

    # -- stable checkpoints and state transfer ---------------------------------------------------

    def adopt_stable(self, proof: CheckpointProof) -> None:
        """Make `proof` our stable checkpoint: drop the log below it, fetch blocks up to it."""
        if not self.checkpoints.adopt(proof):
            return
        height = proof.height
        self.emit(Persist(CHECKPOINT_KEY, proof.encode()))
        self.log.prune(height)
        for old in sorted(h for h in self.persisted if h <= height):
            self.emit(Persist(vote_key(old), b""))
            self.emit(Persist(prepared_key(old), b""))
            self.persisted.discard(old)
        for key, value in self.blocks.prune(height):
            self.emit(Persist(key, value))
        self.chain_hashes = {h: v for h, v in self.chain_hashes.items() if h >= height}
        self.chain_hashes[height] = proof.block_hash
        self.answered.clear()
        self.my_checkpoints = {h: v for h, v in self.my_checkpoints.items() if h > height}
        if self.committed_height < height:
            self.fetch()

    def fetch(
        self, to_height: Height | None = None, peers: tuple[ValidatorIndex, ...] = ()
    ) -> None:
        """Ask the driver for certified blocks up to `to_height` (default: the stable checkpoint,
        from the replicas that signed it).

        Fetches stop at every checkpoint height on the way, so this replica learns the block hash
        there and signs its checkpoint vote: without 2f+1 such votes the watermark would stall.
        """
        stable = self.checkpoints.stable
        if to_height is None:
            to_height = stable.height
            peers = tuple(sorted({v.sender for v in stable.votes if v.sender != self.me}))
        if self.fetching or self.committed_height >= to_height:
            return
        if not peers:
            peers = tuple(ValidatorIndex(i) for i in range(self.config.n) if i != self.me)
        interval = self.config.checkpoint_interval
        next_checkpoint = Height((self.committed_height // interval + 1) * interval)
        self.fetching = True
        self.fetch_target = (to_height, peers)
        first = Height(self.committed_height + 1)
        self.emit(FetchBlocks(first, min(to_height, next_checkpoint), peers))

    def on_caught_up(self, event: CaughtUp) -> None:
        self.fetching = False
        target = self.fetch_target
        self.fetch_target = None
        if event.height <= self.committed_height:
            return
        self.committed_height = event.height
        self.committed_hash = event.block_hash
        self.chain_hashes[event.height] = event.block_hash
        # The executor dropped what it had pending at or below the new tip: start afresh.
        self.executed.clear()
        self.executing.clear()
        self.progress_mark = self.now
        self.progressed()
        self.vote_checkpoint(event.height, event.block_hash)
        if target is not None and target[0] > self.committed_height:
            self.fetch(*target)
        self.fetch()  # a checkpoint that became stable meanwhile
        self._fetch_from_peers()  # f+1 peers are further still: go on now, not at the next tick
