"""Coming back after a crash: the replica's state rebuilt from its records and the chain's tip.

A restarted replica comes back in the view it last entered, bound by every vote it persisted,
so it never signs two different blocks for one (view, height). It re-installs that view from
its persisted NEW-VIEW; without one (view above 0) it waits for its peers to resend it, and as
that view's primary never builds a second one once it voted there (changes.try_new_view).
Records of the previous release were converted while parsing (records.py, legacy.py): the
converted forms are written back, and our old VIEW-CHANGE is re-signed in the new form.
"""

from __future__ import annotations

from collections.abc import Callable

from consensus.blocks import block_key
from consensus.interface import Persist
from consensus.messages import NewView, SignedMessage, ViewChange
from consensus.records import VIEW_CHANGE_KEY, Restored
from consensus.state import ReplicaState
from consensus.viewchange import Selection, valid_new_view
from ledger.types import Height

BlockHashAt = Callable[[int], bytes | None]


class Restoring(ReplicaState):
    def restore_from(self, restored: Restored, block_hash_at: BlockHashAt | None) -> None:
        """Load `restored` into this freshly built replica; actions go to the startup list."""
        for key, value in sorted(restored.rewrite.items()):
            self.emit(Persist(key, value))
        if restored.checkpoint is not None:
            self.checkpoints.adopt(restored.checkpoint)
            self.chain_hashes[restored.checkpoint.height] = restored.checkpoint.block_hash
        self._restore_view(restored)
        self._restore_votes(restored)
        self._restore_chain_hashes(block_hash_at)
        self._restore_new_view(restored)
        if block_hash_at is not None:
            self._resign_checkpoints(block_hash_at)

    def _restore_view(self, restored: Restored) -> None:
        self._view = restored.view
        self.installed = restored.view == 0
        if self.installed:
            return
        self.fresh_from = 1 << 62
        self.failures = 1
        envelope = restored.view_change
        legacy = restored.legacy_view_change
        if envelope is None and legacy is not None and legacy.change.view == restored.view:
            envelope = self.sign(legacy.change)
            self.emit(Persist(VIEW_CHANGE_KEY, envelope.encode()))
        if (
            envelope is not None
            and isinstance(envelope.message, ViewChange)
            and envelope.message.view == restored.view
        ):
            self.vc_sent = envelope
            self.view_changes[self.me] = (envelope, envelope.message)

    def _restore_votes(self, restored: Restored) -> None:
        stable = self.checkpoints.height
        for height, vote in restored.votes.items():
            if height > stable:
                self.log.slot(height).vote = vote
                self.persisted.add(height)
        for height, proof in restored.proofs.items():
            if height > stable:
                self.log.slot(height).proof = proof
                self.persisted.add(height)
                self.blocks.proved(height, proof.block_hash)
        for height, blocks in sorted(restored.blocks.items()):
            if height <= stable:
                for block_hash in blocks:
                    self.emit(Persist(block_key(height, block_hash), b""))
                continue
            voted = restored.votes.get(height)
            latest = voted[1] if voted is not None else b""
            for block_hash in sorted(blocks, key=lambda h: h == latest):  # our vote last
                self.blocks.restore(height, block_hash, blocks[block_hash])

    def _restore_chain_hashes(self, block_hash_at: BlockHashAt | None) -> None:
        """Hashes of our committed blocks above the stable checkpoint: a new view may
        re-propose them, and we vote for them again by hash."""
        stable = self.checkpoints.height
        lowest = max(stable + 1, self.committed_height - self.config.proof_reach)
        if block_hash_at is not None:
            for height in range(lowest, self.committed_height):
                block_hash = block_hash_at(height)
                if block_hash is not None:
                    self.chain_hashes[height] = block_hash
            return
        expected = self.committed_hash
        for height in range(self.committed_height, lowest - 1, -1):
            block = self.blocks.get(expected)
            if block is None or block.header.height != height:
                break
            self.chain_hashes[height] = expected
            expected = block.header.prev

    def _restore_new_view(self, restored: Restored) -> None:
        envelope = restored.new_view
        if envelope is None or not isinstance(envelope.message, NewView):
            return
        message = envelope.message
        if message.view != self._view:
            return
        selection = valid_new_view(self.verifier, self.config, message.view, message.view_changes)
        if selection is not None and self._consistent(selection):
            self.install(selection, envelope)
            self.fetching = False  # Start asks for the blocks

    def _resign_checkpoints(self, block_hash_at: BlockHashAt) -> None:
        """Our checkpoint votes above the stable checkpoint were lost with our memory; sign
        them again from the committed chain (without 2f+1 of them the watermark would stall)."""
        interval = self.config.checkpoint_interval
        stable = self.checkpoints.height
        top = self.committed_height - self.committed_height % interval
        for height in range(max(stable + interval, top - 3 * interval), top + 1, interval):
            block_hash = block_hash_at(height)
            if block_hash is not None:
                self.chain_hashes[height] = block_hash
                self.vote_checkpoint(Height(height), block_hash)

    # -- implemented by the view-change mixin ----------------------------------------------------

    def _consistent(self, selection: Selection) -> bool:
        raise NotImplementedError

    def install(self, selection: Selection, envelope: SignedMessage) -> None:
        raise NotImplementedError
