"""Checking envelopes and the proofs built from them (prepared proofs, stable checkpoints).

Envelope checks are cached (bounded), because one PREPARE envelope is checked when it arrives
and again inside every prepared proof and view change that carries it.
"""

from __future__ import annotations

from collections import OrderedDict

from consensus.config import ReplicaConfig
from consensus.crypto import ReplicaCrypto
from consensus.messages import Checkpoint, CheckpointProof, Prepare, PreparedProof, SignedMessage

CACHE_SIZE = 8192


class Verifier:
    def __init__(self, config: ReplicaConfig, crypto: ReplicaCrypto) -> None:
        self._config = config
        self._crypto = crypto
        self._cache: OrderedDict[bytes, bool] = OrderedDict()

    def envelope(self, envelope: SignedMessage) -> bool:
        """True when the envelope is signed by the validator it names."""
        if not 0 <= envelope.sender < self._config.n:
            return False
        digest = envelope.digest(self._config.domain)
        key = digest + envelope.sig
        known = self._cache.get(key)
        if known is not None:
            return known
        valid = self._crypto.verify_message(envelope.sender, digest, envelope.sig)
        self._cache[key] = valid
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return valid

    def _quorum_of(self, envelopes: tuple[SignedMessage, ...], matches: object) -> bool:
        senders: set[int] = set()
        for envelope in envelopes:
            if envelope.message != matches or envelope.sender in senders:
                return False
            if not self.envelope(envelope):
                return False
            senders.add(envelope.sender)
        return len(senders) >= self._config.quorum

    def checkpoint_proof(self, proof: CheckpointProof) -> bool:
        """Exactly a quorum of distinct validators signed Checkpoint(height, hash); the set's
        anchor (genesis at height 0) needs no votes: it was committed before this set began.

        Exactly: a proof never needs more, and the bound on the messages that carry proofs
        (ledger.message_bounds) counts 2f+1 votes."""
        if proof.height == self._config.anchor_height:
            return proof.block_hash == self._config.anchor and not proof.votes
        if proof.height < self._config.anchor_height:
            return False
        if proof.height % self._config.checkpoint_interval != 0:
            return False
        if len(proof.votes) > self._config.quorum:
            return False
        return self._quorum_of(proof.votes, Checkpoint(proof.height, proof.block_hash))

    def prepared_proof(self, proof: PreparedProof) -> bool:
        """Exactly 2f+1 distinct validators signed Prepare(view, height, hash)."""
        if len(proof.prepares) > self._config.quorum:
            return False
        expected = Prepare(proof.view, proof.height, proof.block_hash)
        return self._quorum_of(proof.prepares, expected)
