"""View change: checking VIEW-CHANGE messages and choosing what a NEW-VIEW re-proposes.

Rules (the replica enforces the first; these functions check the rest):

1. A replica sends PREPARE(v, h, B) only if B's parent is *anchored* for it in view v: the
   parent is prepared in view v, or committed (it has a commit certificate, so f+1 honest
   replicas hold a prepared proof for it, kept until a stable checkpoint covers it), or at or
   below its stable checkpoint. So a prepared proof for (w, h+1, B) shows that B's parent is
   fixed for every view from w on, and that any 2f+1 view changes report it (or a checkpoint
   at or above it): the blocks NEW-VIEW chooses always chain.
2. VIEW-CHANGE(v) carries the sender's stable checkpoint proof and, for every height above it,
   its highest-view prepared proof (block + 2f+1 signed prepares).
3. NEW-VIEW(v) carries 2f+1 valid VIEW-CHANGE(v). Every replica recomputes the choice:
   `low` = the highest stable checkpoint among them; for each height in (low, high], the block
   of the highest-view prepared proof at that height, where `high` is the highest height with a
   proof. These blocks must form a hash chain from the checkpoint's block (rule 1 and quorum
   intersection guarantee it for honest inputs); otherwise the NEW-VIEW is refused.

Why it is safe: a block committed at h in view w has 2f+1 COMMITs, so f+1 honest replicas hold a
prepared proof for it (persisted before their COMMIT). Any 2f+1 view changes include one of
them, and no higher-view proof at h can name another block (by induction over views), so the
highest-view proof at h is that block. In the new view replicas accept, at heights up to
`high`, only the re-proposed blocks, and fresh proposals only above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.config import ReplicaConfig
from consensus.messages import CheckpointProof, PreparedProof, SignedMessage, ViewChange
from consensus.verify import Verifier
from ledger.types import Block

# A view change may report prepared proofs at most this many log spans above its checkpoint.
PROOF_REACH_SPANS = 4


@dataclass(frozen=True, slots=True)
class Selection:
    """What NEW-VIEW(view) re-proposes: `blocks` at heights checkpoint.height + 1, + 2, ..."""

    view: int
    checkpoint: CheckpointProof
    blocks: tuple[Block, ...]
    hashes: tuple[bytes, ...]

    @property
    def low(self) -> int:
        return self.checkpoint.height

    @property
    def high(self) -> int:
        return self.checkpoint.height + len(self.blocks)


def valid_view_change(
    verifier: Verifier, config: ReplicaConfig, envelope: SignedMessage, view: int | None = None
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
    reach = low + PROOF_REACH_SPANS * config.log_span
    heights: set[int] = set()
    for proof in change.prepared:
        if not low < proof.height <= reach or proof.height in heights:
            return None
        if proof.view >= change.view or not verifier.prepared_proof(proof):
            return None
        heights.add(proof.height)
    return change


def select_new_view(view: int, changes: list[ViewChange]) -> Selection | None:
    """Recompute what NEW-VIEW(view) re-proposes from (already verified) view changes.

    Returns None if the chosen blocks do not chain from the checkpoint, which honest inputs never
    produce.
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
    blocks: list[Block] = []
    hashes: list[bytes] = []
    parent = checkpoint.block_hash
    for height in range(checkpoint.height + 1, high + 1):
        chosen = best.get(height)
        if chosen is None or chosen.block.header.prev != parent:
            return None
        parent = chosen.block.header.hash()
        blocks.append(chosen.block)
        hashes.append(parent)
    return Selection(view, checkpoint, tuple(blocks), tuple(hashes))


def valid_new_view(
    verifier: Verifier, config: ReplicaConfig, view: int, changes: tuple[SignedMessage, ...]
) -> Selection | None:
    """Check the 2f+1 distinct, valid VIEW-CHANGE(view) a NEW-VIEW carries; return its choice."""
    senders: set[int] = set()
    verified: list[ViewChange] = []
    if len(changes) > config.n:
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
