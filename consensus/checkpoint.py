"""Checkpoints: every `checkpoint_interval` heights each replica says what it committed there.

When 2f+1 replicas sign the same (height, hash) the checkpoint is *stable*: at least f+1 honest
replicas hold that block, so it can be fetched from them, and every log entry at or below it can
be dropped. The votes kept are bounded: one per sender per checkpoint height, and only for the
few checkpoint heights within reach of the stable one.
"""

from __future__ import annotations

from consensus.config import ReplicaConfig
from consensus.messages import Checkpoint, CheckpointProof, SignedMessage
from ledger.types import Height, ValidatorIndex

# Checkpoint votes are kept for heights up to this many log spans above the stable checkpoint;
# votes further ahead only tell that this replica is behind.
REACH_SPANS = 4


class CheckpointTracker:
    def __init__(self, config: ReplicaConfig, stable: CheckpointProof) -> None:
        self._config = config
        self.stable = stable
        self._votes: dict[int, dict[ValidatorIndex, SignedMessage]] = {}

    @property
    def height(self) -> Height:
        return self.stable.height

    def reach(self) -> int:
        return self.stable.height + REACH_SPANS * self._config.log_span

    def add(self, envelope: SignedMessage) -> CheckpointProof | None:
        """Count a (verified) checkpoint vote; return a new stable proof if it completes one.

        Returns None also for votes too far ahead (the caller notices it is behind).
        """
        message = envelope.message
        if not isinstance(message, Checkpoint):
            return None
        height = message.height
        if height <= self.stable.height or height > self.reach():
            return None
        if height % self._config.checkpoint_interval != 0:
            return None
        votes = self._votes.setdefault(height, {})
        if envelope.sender in votes:
            return None  # one vote per sender per checkpoint height
        votes[envelope.sender] = envelope
        matching = tuple(
            vote
            for _, vote in sorted(votes.items())
            if isinstance(vote.message, Checkpoint)
            and vote.message.block_hash == message.block_hash
        )
        if len(matching) < self._config.quorum:
            return None
        return CheckpointProof(height, message.block_hash, matching[: self._config.quorum])

    def adopt(self, proof: CheckpointProof) -> bool:
        """Make `proof` the stable checkpoint if it is newer; drop the votes it makes obsolete."""
        if proof.height <= self.stable.height:
            return False
        self.stable = proof
        self._votes = {h: v for h, v in self._votes.items() if h > proof.height}
        return True

    def vote_count(self) -> int:
        return sum(len(v) for v in self._votes.values())
