"""The normal case: propose, execute, PREPARE, COMMIT, certificate, commit in height order.

For each height of the current view, in ascending order, `advance` moves the slot as far as it
can go: execute the block once its parent is executed (ExecuteBlock), PREPARE it once it is
valid and its parent is anchored (persisting the vote and the block first), send COMMIT with a
BLS signature once 2f+1 PREPAREs match (persisting the prepared proof first), aggregate 2f+1
COMMITs into a certificate, and hand the next height to the driver (CommitBlock) once it is
certified. A height we committed already that a NEW-VIEW re-proposes is voted on by hash alone.
"""

from __future__ import annotations

from consensus.interface import (
    BlockExecuted,
    BuildProposal,
    CommitBlock,
    ExecuteBlock,
    Persist,
    ProposalBuilt,
    SetTimer,
    TxsArrived,
    TxsRemoved,
)
from consensus.log import Slot
from consensus.messages import (
    Checkpoint,
    Commit,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedMessage,
)
from consensus.records import prepared_key
from consensus.state import BATCH_TIMER, ReplicaState
from consensus.txids import block_tx_ids
from ledger.types import Certificate, Height, View, commit_digest, signer_bitmap


class NormalCase(ReplicaState):
    # -- transactions -------------------------------------------------------------------------

    def on_txs_arrived(self, event: TxsArrived) -> None:
        for tx_id in event.tx_ids:
            if tx_id in self.held:
                continue
            self.held[tx_id] = self.now
            if tx_id not in self.inflight:
                self.pending[tx_id] = self.now

    def on_txs_removed(self, event: TxsRemoved) -> None:
        for tx_id in event.tx_ids:
            self.held.pop(tx_id, None)
            self.pending.pop(tx_id, None)
            self.inflight.discard(tx_id)

    # -- proposing (primary) --------------------------------------------------------------------

    def next_proposal_height(self) -> Height:
        top = max(self.committed_height, self.checkpoints.height, self.fresh_from - 1)
        for slot in self.log:
            if slot.block_hash and slot.height > top:
                top = slot.height
        return Height(top + 1)

    def maybe_propose(self) -> None:
        if not self.installed or not self.is_primary() or self.building or self.fetching:
            return
        if self.committed_height < self.checkpoints.height:
            return  # catching up first
        if not self.pending:
            self.batch_ready = False
            return
        if not self.batch_ready:
            if not self.batch_armed:
                self.batch_armed = True
                self.emit(SetTimer(BATCH_TIMER, self.config.batch_ms))
            return
        height = self.next_proposal_height()
        if height > self.committed_height + self.config.window:
            return
        if height > self.checkpoints.height + self.config.log_span:
            return
        if self.set_runs_through is not None and height > self.set_runs_through:
            return  # the checkpoint barrier: the set of that height is not known yet
        parent = self.hash_at(height - 1)
        if parent is None:
            return
        if height - 1 > self.committed_height and parent not in self.executed:
            return
        slot = self.log.get(height)
        if slot is not None and slot.vote is not None and slot.vote[0] == self._view:
            return  # we proposed here before a restart and lost the block: wait for a new view
        self.building = True
        self.emit(BuildProposal(self._view, height, parent))

    def on_proposal_built(self, event: ProposalBuilt) -> None:
        self.building = False
        block = event.block
        if block is None:
            self.batch_ready = False
            return
        if not self.installed or event.view != self._view or not self.is_primary():
            return
        height = event.height
        if height != self.next_proposal_height() or block.header.height != height:
            return
        if block.header.prev != self.hash_at(height - 1):
            return
        block_hash = block.header.hash()
        slot = self.log.slot(height)
        if slot.block_hash or slot.voted_conflicting(self._view, block_hash):
            return
        self.executed[block_hash] = height
        envelope = self.sign(PrePrepare(self._view, height, block))
        tx_ids = block_tx_ids(block.txs)
        slot.set_block(block, block_hash, tx_ids, envelope)
        self.persist_vote(slot, self._view, block_hash)
        self.order_txs(tx_ids)
        self.broadcast(envelope)

    # -- receiving the normal-case messages -----------------------------------------------------

    def _current(self, view: int) -> bool:
        if view > self._view:
            self.behind_hint = True
        return self.installed and view == self._view

    def on_pre_prepare(self, envelope: SignedMessage, message: PrePrepare) -> None:
        if not self._current(message.view) or envelope.sender != self.primary:
            return
        height = message.height
        if not self.in_window(height) or height < self.fresh_from:
            return
        block = message.block
        header = block.header
        block_hash = header.hash()
        slot = self.log.slot(height)
        if envelope.sender == self.me:
            # our own proposal relayed back to us after a restart: take the block back
            if slot.block is None and slot.vote == (self._view, block_hash):
                slot.set_block(block, block_hash, block_tx_ids(block.txs), envelope)
            return
        if slot.block_hash:
            if slot.block_hash != block_hash:
                self.start_view_change(View(self._view + 1), "primary equivocated")
            return
        proposer = self.config.validators[self.primary]
        if (
            header.view != self._view
            or header.proposer != proposer
            or header.chain != (self.config.chain)
        ):
            self.start_view_change(View(self._view + 1), "primary proposed a malformed header")
            return
        if slot.voted_conflicting(self._view, block_hash):
            return
        tx_ids = block_tx_ids(block.txs)
        slot.set_block(block, block_hash, tx_ids, envelope)
        self.order_txs(tx_ids)

    def on_prepare(self, envelope: SignedMessage, message: Prepare) -> None:
        if not self._current(message.view) or not self.in_window(message.height):
            return
        slot = self.log.slot(message.height)
        slot.prepares.setdefault(envelope.sender, envelope)

    def on_commit(self, envelope: SignedMessage, message: Commit) -> None:
        if not self._current(message.view) or not self.in_window(message.height):
            return
        slot = self.log.slot(message.height)
        if envelope.sender not in slot.rejected:
            slot.commits.setdefault(envelope.sender, envelope)

    def on_block_executed(self, event: BlockExecuted) -> None:
        if event.block_hash not in self.executing:
            return
        self.executing.discard(event.block_hash)
        for slot in self.log:
            if slot.block_hash != event.block_hash or slot.block is None:
                continue
            if event.valid:
                self.executed[event.block_hash] = slot.height
            else:
                # Our executor's verdict, which no one else can check: suspect, not leave.
                self.suspect(f"invalid proposal: {event.reason}")
            return

    # -- moving every height forward ------------------------------------------------------------

    def advance(self) -> None:
        if not self.installed:
            return
        for slot in self.log:
            if slot.height <= self.checkpoints.height:
                continue
            if slot.height <= self.committed_height:
                if slot.block_hash:
                    self._vote(slot)  # re-proposed: the others may need our votes again
                continue
            if slot.block is None:
                return  # nothing proposed here yet, or a re-proposed block being fetched
            parent = self.hash_at(slot.height - 1)
            if parent is None:
                return
            if slot.block.header.prev != parent:
                view = View(self._view + 1)
                self.start_view_change(view, "proposal does not extend its parent")
                return
            self._execute(slot, parent)
            self._vote(slot)
            self._commit(slot)
            if not self.installed:
                return

    def _vote(self, slot: Slot) -> None:
        self._prepare(slot)
        self._prepared(slot)
        if slot.prepared and slot.certificate is None:
            self._certify(slot)

    def _execute(self, slot: Slot, parent: bytes) -> None:
        if slot.height <= self.committed_height or self.fetching or slot.block is None:
            return
        if slot.block_hash in self.executed or slot.block_hash in self.executing:
            return
        if slot.height - 1 > self.committed_height and parent not in self.executed:
            return
        self.executing.add(slot.block_hash)
        # A re-proposed block had its time checked by the replicas that prepared it.
        self.emit(ExecuteBlock(slot.block, check_time=not slot.from_new_view))

    def _prepare(self, slot: Slot) -> None:
        if slot.my_prepare is not None or not self.anchored(slot.height - 1):
            return
        if slot.height <= self.committed_height:
            if self.hash_at(slot.height) != slot.block_hash:
                return
        elif slot.block_hash not in self.executed:
            return
        if slot.voted_conflicting(self._view, slot.block_hash):
            return
        self.persist_vote(slot, self._view, slot.block_hash)
        envelope = self.sign(Prepare(self._view, slot.height, slot.block_hash))
        slot.my_prepare = envelope
        slot.prepares[self.me] = envelope
        self.broadcast(envelope)

    def _prepared(self, slot: Slot) -> None:
        if slot.prepared or slot.my_prepare is None:
            return
        matching = slot.matching_prepares()
        if len(matching) < self.config.quorum:
            return
        prepares = tuple(matching[: self.config.quorum])
        proof = PreparedProof(self._view, slot.height, slot.block_hash, prepares)
        slot.proof = proof
        slot.prepared = True
        self.blocks.proved(slot.height, slot.block_hash)
        self.persisted.add(slot.height)
        self.emit(Persist(prepared_key(slot.height), proof.encode()))
        digest = commit_digest(self.config.chain, slot.height, slot.block_hash)
        commit = Commit(self._view, slot.height, slot.block_hash, self.crypto.bls_sign(digest))
        envelope = self.sign(commit)
        slot.my_commit = envelope
        slot.commits[self.me] = envelope
        self.broadcast(envelope)

    def _certify(self, slot: Slot) -> None:
        """Aggregate 2f+1 COMMITs; if the aggregate fails, find and drop the bad signatures."""
        digest = commit_digest(self.config.chain, slot.height, slot.block_hash)
        quorum = self.config.quorum
        while True:
            commits = slot.matching_commits()
            if len(commits) < quorum:
                return
            chosen = commits[:quorum]
            signers = [sender for sender, _ in chosen]
            try:
                aggregate = self.crypto.bls_aggregate([c.bls_sig for _, c in chosen])
                valid = self.crypto.bls_verify_aggregate(signers, digest, aggregate)
            except Exception:  # backends raise assorted errors on malformed points
                valid = False
            if valid:
                bitmap = signer_bitmap(frozenset(signers), self.config.n)
                slot.certificate = Certificate(
                    slot.height, self._view, slot.block_hash, bitmap, aggregate
                )
                return
            bad = [s for s, c in chosen if not self.crypto.bls_verify(s, digest, c.bls_sig)]
            if not bad:
                return
            slot.rejected.update(bad)

    def _commit(self, slot: Slot) -> None:
        if slot.height != self.committed_height + 1 or slot.certificate is None:
            return
        if self.fetching or slot.block_hash not in self.executed or slot.block is None:
            return
        self.emit(CommitBlock(slot.block, slot.certificate))
        height = slot.height
        self.committed_height = height
        self.committed_hash = slot.block_hash
        self.chain_hashes[height] = slot.block_hash
        for tx_id in slot.tx_ids:
            self.held.pop(tx_id, None)
            self.pending.pop(tx_id, None)
            self.inflight.discard(tx_id)
        self.executed = {h: v for h, v in self.executed.items() if v > height}
        self.calm_down()
        self.progress_mark = self.now
        self.progressed()
        self.vote_checkpoint(height, slot.block_hash)

    def calm_down(self) -> None:
        """On a commit, halve the view timeout if this commit came well within the halved one.

        Resetting it outright on the first commit after a view change made an honestly
        overloaded network (blocks that take longer than the base timeout to build and check)
        change view at every height; a timeout that only shrinks while commits come fast stays
        long while the load lasts, and is back to its base a few commits after it passes.
        """
        if self.failures == 0:
            return
        waited = self.now - (self.now if self.progress_mark is None else self.progress_mark)
        if 2 * waited < self.config.view_timeout(self.failures - 1):
            self.failures -= 1

    # -- checkpoints -----------------------------------------------------------------------------

    def on_checkpoint(self, envelope: SignedMessage, message: Checkpoint) -> None:
        if message.height > self.checkpoints.reach():
            self.behind_hint = True
            return
        stable = self.checkpoints.add(envelope)
        if stable is not None:
            self.adopt_stable(stable)
