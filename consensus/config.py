"""A replica's fixed parameters: who the validators are, which one it is, and the timings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    Membership (DESIGN.md §7): a validator set runs heights above its *anchor*, the committed
    checkpoint `anchor_height` (0 = genesis) with hash `anchor_hash`, after which governance
    put it in force (ledger.membership). A replica of one set is one PBFT instance: its
    envelopes are signed in its own domain (`domain`), so a message of another set never
    verifies here, and its stable checkpoint starts at the anchor. With `checkpoint_barrier`
    (a chain whose genesis allows changes) a replica votes on no height above the checkpoint
    after its anchor until the driver, having committed a checkpoint and read that the set
    stays, says `SetContinues` to the next one: the set of every height it votes on is then
    known from committed blocks, and no set's replica ever votes past its last height.
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
    anchor_height: int = 0
    anchor_hash: bytes = b""  # empty: the genesis hash (anchor_height 0)
    checkpoint_barrier: bool = False

    def __post_init__(self) -> None:
        if not self.validators:
            raise ValueError("a replica needs at least one validator")
        if not 0 <= self.index < len(self.validators):
            raise ValueError(f"index {self.index} is not one of {len(self.validators)} validators")
        if self.anchor_height == 0 and len(self.validators) % 3 != 1:
            raise ValueError("PBFT needs n = 3f + 1 validators in genesis")
        if self.anchor_height < 0 or (self.anchor_height > 0 and len(self.anchor_hash) != 32):
            raise ValueError("a later validator set needs the hash of its anchor checkpoint")
        if self.window < 1 or self.checkpoint_interval < 1 or self.view_timeout_ms < 1:
            raise ValueError("window, checkpoint_interval and view_timeout_ms must be positive")

    @staticmethod
    def from_genesis(genesis: Genesis, index: int, **overrides: int) -> ReplicaConfig:
        """The config of validator `index` with the genesis params (overrides for tests)."""
        params = genesis.params
        values: dict[str, Any] = {
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
            checkpoint_barrier=genesis.membership,
            **values,
        )

    @staticmethod
    def for_set(
        genesis: Genesis,
        index: int,
        validators: tuple[bytes, ...],
        anchor_height: int,
        anchor_hash: bytes,
    ) -> ReplicaConfig:
        """The config of position `index` in the set that governance put in force after the
        checkpoint `anchor_height` (0: the genesis set), with the genesis params."""
        base = ReplicaConfig.from_genesis(genesis, 0)
        return ReplicaConfig(
            chain=base.chain,
            index=index,
            validators=validators,
            genesis_hash=base.genesis_hash,
            window=base.window,
            checkpoint_interval=base.checkpoint_interval,
            view_timeout_ms=base.view_timeout_ms,
            batch_ms=base.batch_ms,
            anchor_height=anchor_height,
            anchor_hash=anchor_hash if anchor_height else b"",
            checkpoint_barrier=base.checkpoint_barrier,
        )

    @property
    def n(self) -> int:
        return len(self.validators)

    @property
    def f(self) -> int:
        return (self.n - 1) // 3

    @property
    def quorum(self) -> int:
        """n − f: 2f+1 for n = 3f+1; for a set governance grew or shrank, still a majority
        large enough that two quorums share an honest replica (ledger.membership)."""
        return self.n - self.f

    @property
    def anchor(self) -> bytes:
        """The hash of the block this set's heights build on (the genesis hash for genesis's)."""
        return self.anchor_hash if self.anchor_height else self.genesis_hash

    @property
    def domain(self) -> str:
        """What this set's envelopes are signed over: the chain id for the genesis set (as
        before), the chain id and the anchor for a later set."""
        if self.anchor_height == 0:
            return self.chain
        return f"{self.chain}/set-after/{self.anchor_height}"

    def barrier(self, committed_height: int) -> int | None:
        """The highest height a replica that committed `committed_height` may vote on, when
        the checkpoint barrier is on: the next checkpoint height above it."""
        if not self.checkpoint_barrier:
            return None
        return (committed_height // self.checkpoint_interval + 1) * self.checkpoint_interval

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
