"""A replica's fixed parameters: who the validators are, which one it is, and the timings."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.genesis import Genesis
from ledger.message_bounds import PROOF_REACH_SPANS
from ledger.types import ValidatorIndex


@dataclass(frozen=True, slots=True)
class ReplicaConfig:
    """Everything a PBFT replica is told once; the rest comes in on events.

    `validators` are the genesis validators' Ed25519 public keys in order (index = position);
    they fix n and let the replica check a fresh proposal's `proposer`. Timings are in ms.
    `censorship_timeout_ms` (0 = 3 x view_timeout_ms) is how long a transaction this replica
    holds may wait, unordered, before the primary is suspected of censoring it;
    `retransmit_ms` (0 = view_timeout_ms / 3) is how often a replica that is stuck re-sends its
    votes and asks its peers where they are.
    """

    chain: str
    index: int
    validators: tuple[bytes, ...]
    genesis_hash: bytes
    window: int = 8
    checkpoint_interval: int = 32
    view_timeout_ms: int = 3000
    batch_ms: int = 50
    censorship_timeout_ms: int = 0
    retransmit_ms: int = 0
    max_timeout_doublings: int = 6

    def __post_init__(self) -> None:
        if not self.validators:
            raise ValueError("a replica needs at least one validator")
        if not 0 <= self.index < len(self.validators):
            raise ValueError(f"index {self.index} is not one of {len(self.validators)} validators")
        if len(self.validators) % 3 != 1:
            raise ValueError("PBFT needs n = 3f + 1 validators")
        if self.window < 1 or self.checkpoint_interval < 1 or self.view_timeout_ms < 1:
            raise ValueError("window, checkpoint_interval and view_timeout_ms must be positive")

    @staticmethod
    def from_genesis(genesis: Genesis, index: int, **overrides: int) -> ReplicaConfig:
        """The config of validator `index` with the genesis params (overrides for tests)."""
        params = genesis.params
        values: dict[str, int] = {
            "window": params["window"],
            "checkpoint_interval": params["checkpoint_interval"],
            "view_timeout_ms": params["view_timeout_ms"],
            "batch_ms": params["batch_ms"],
        }
        values.update(overrides)
        return ReplicaConfig(
            chain=genesis.chain,
            index=index,
            validators=tuple(v.ed25519 for v in genesis.validators),
            genesis_hash=genesis.hash(),
            **values,
        )

    @property
    def n(self) -> int:
        return len(self.validators)

    @property
    def f(self) -> int:
        return (self.n - 1) // 3

    @property
    def quorum(self) -> int:
        return 2 * self.f + 1

    @property
    def log_span(self) -> int:
        """How many heights above the stable checkpoint a replica keeps messages for."""
        return self.checkpoint_interval + self.window

    @property
    def proof_reach(self) -> int:
        """How far above its stable checkpoint a replica votes, and so how many prepared proofs
        a VIEW-CHANGE holds at most (ledger.message_bounds.proof_reach)."""
        return PROOF_REACH_SPANS * self.log_span

    def primary_of(self, view: int) -> ValidatorIndex:
        return ValidatorIndex(view % self.n)

    def view_timeout(self, failures: int) -> int:
        """The view-change timeout after `failures` consecutive views without progress."""
        return self.view_timeout_ms << min(failures, self.max_timeout_doublings)

    def censorship_timeout(self, failures: int) -> int:
        """How long a held transaction may stay unordered; doubles like the view timeout."""
        base = self.censorship_timeout_ms or 3 * self.view_timeout_ms
        return base << min(failures, self.max_timeout_doublings)

    def retransmit_interval(self) -> int:
        return self.retransmit_ms or max(1, self.view_timeout_ms // 3)
