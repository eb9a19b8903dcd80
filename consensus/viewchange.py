"""View change: checking VIEW-CHANGE messages and choosing what a NEW-VIEW re-proposes.

Rules (the replica enforces the first; these functions check the rest):

1. A replica sends PREPARE(v, h, B) only if B's parent is *anchored* for it in view v: the
   parent is prepared in view v, or committed (it has a commit certificate, so f+1 honest
   replicas hold a prepared proof for it, kept until a stable checkpoint covers it), or at or
   below its stable checkpoint. So a prepared proof for (w, h+1, B) shows that B's parent is
   fixed for every view from w on, and that any 2f+1 view changes report it (or a checkpoint
   at or above it): the blocks NEW-VIEW chooses always chain.
2. VIEW-CHANGE(v) carries the sender's stable checkpoint proof and, for every height above it
   (up to the proof reach, beyond which no replica votes), its highest-view prepared proof:
   view, height, block hash and 2f+1 signed prepares. Blocks are named by hash only, so the
   message is bounded by the params (ledger.message_bounds), not by the blocks in flight.
3. NEW-VIEW(v) carries 2f+1 valid VIEW-CHANGE(v). Every replica recomputes the choice:
   `low` = the highest stable checkpoint among them; for each height in (low, high], the block
   hash of the highest-view prepared proof at that height, where `high` is the highest height
   with a proof; a height in between without a proof makes the NEW-VIEW invalid. Replicas then
   get the blocks (their own, or fetched by hash from the voters, consensus/blocks.py) and check
   that each extends the previous one before voting for it; with at most f faulty replicas they
   always do (rule 1), otherwise the replica leaves the view.

Why it is safe: a block committed at h in view w has 2f+1 COMMITs, so f+1 honest replicas hold a
prepared proof for it (persisted before their COMMIT). Any 2f+1 view changes include one of
them, and no higher-view proof at h can name another block (by induction over views), so the
highest-view proof at h names that block. In the new view replicas accept, at heights up to
`high`, only the re-proposed blocks (checked against their hash), and fresh proposals only
above it. Naming blocks by hash changes nothing in this argument: a proof is 2f+1 signatures
over the hash, and a block is accepted for it only if its header hashes to that name.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.config import ReplicaConfig
from consensus.messages import CheckpointProof, PreparedProof, SignedMessage, ViewChange
from consensus.verify import Verifier
from ledger.types import Height, ValidatorIndex, View


@dataclass(frozen=True, slots=True)
class Selection:
    """What NEW-VIEW(view) re-proposes: the blocks named by `proofs` (one per height, from
    checkpoint.height + 1 up) whose hashes are `hashes`."""

    view: View
    checkpoint: CheckpointProof
    proofs: tuple[PreparedProof, ...]

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(proof.block_hash for proof in self.proofs)

    @property
    def low(self) -> Height:
        return self.checkpoint.height

    @property
    def high(self) -> Height:
        return Height(self.checkpoint.height + len(self.proofs))

    def voters(self, offset: int) -> tuple[ValidatorIndex, ...]:
        """The replicas that prepared the block at `low + 1 + offset`: they hold it."""
        return tuple(envelope.sender for envelope in self.proofs[offset].prepares)


def valid_view_change(
    verifier: Verifier, config: ReplicaConfig, envelope: SignedMessage, view: View | None = None
) -> ViewChange | None:
    """The VIEW-CHANGE inside `envelope` if its signature and every proof in it check out."""
    change = envelope.message
    if not isinstance(change, ViewChange) or (view is not None and change.view != view):
        return None
    if not verifier.envelope(envelope):
        return None
    if not verifier.checkpoint_proof(change.checkpoint):
        return None
    low = change.checkpoint.height
    reach = low + config.proof_reach
    if len(change.prepared) > config.proof_reach:
        return None
    heights: set[int] = set()
    for proof in change.prepared:
        if not low < proof.height <= reach or proof.height in heights:
            return None
        if proof.view >= change.view or not verifier.prepared_proof(proof):
            return None
        heights.add(proof.height)
    return change


def select_new_view(view: View, changes: list[ViewChange]) -> Selection | None:
    """Recompute what NEW-VIEW(view) re-proposes from (already verified) view changes.

    Returns None if a height between the checkpoint and the highest proof has no proof, which
    honest inputs never produce.
    """
    if not changes:
        return None
    checkpoint = max((c.checkpoint for c in changes), key=lambda p: p.height)
    best: dict[int, PreparedProof] = {}
    for change in changes:
        for proof in change.prepared:
            if proof.height <= checkpoint.height:
                continue
            current = best.get(proof.height)
            if current is None or proof.view > current.view:
                best[proof.height] = proof
    high = max(best, default=checkpoint.height)
    chosen: list[PreparedProof] = []
    for height in range(checkpoint.height + 1, high + 1):
        found = best.get(height)
        if found is None:
            return None
        chosen.append(found)
    return Selection(view, checkpoint, tuple(chosen))


def valid_new_view(
    verifier: Verifier, config: ReplicaConfig, view: View, changes: tuple[SignedMessage, ...]
) -> Selection | None:
    """Check the exactly 2f+1 distinct, valid VIEW-CHANGE(view) a NEW-VIEW carries (no more:
    the NEW-VIEW's size bound counts 2f+1); return its choice."""
    senders: set[int] = set()
    verified: list[ViewChange] = []
    if len(changes) > config.quorum:
        return None
    for envelope in changes:
        if envelope.sender in senders:
            return None
        change = valid_view_change(verifier, config, envelope, view)
        if change is None:
            return None
        senders.add(envelope.sender)
        verified.append(change)
    if len(senders) < config.quorum:
        return None
    return select_new_view(view, verified)
