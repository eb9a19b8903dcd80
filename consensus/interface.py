"""The boundary between a replica and whoever drives it (the node, or the test simulator).

A replica is `handle(event) -> list[Action]`. The driver performs actions strictly in the
order given: a `Persist` before a `Send` means the vote is on disk before it leaves, which is
what makes a restarted replica unable to sign two blocks for one (view, height).

Blocks are built and executed outside the replica (the driver owns the mempool, the contracts
and the store): the replica asks with `BuildProposal` / `ExecuteBlock` and is told the outcome
with `ProposalBuilt` / `BlockExecuted`. A block the replica must vote for but lacks (a NEW-VIEW
names re-proposed blocks by hash) is fetched the same way: `FetchBlock` → `BlockFetched`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from consensus.messages import SignedMessage
from ledger.types import Block, Certificate, Height, ValidatorIndex, View

# ---- events (driver -> replica) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The replica starts (or restarts) at `now_ms`; its persisted votes were loaded already."""

    now_ms: int


@dataclass(frozen=True, slots=True)
class TxsArrived:
    """Valid transactions entered this node's mempool (from a client or by gossip).

    Backups keep their ids and a deadline: a primary that never orders them is replaced.
    """

    tx_ids: tuple[bytes, ...]
    now_ms: int


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A consensus message from validator `sender`: the envelope's bytes as they arrived (the
    replica decodes them and checks the signature), or an envelope decoded already."""

    sender: ValidatorIndex
    message: SignedMessage | bytes
    now_ms: int


@dataclass(frozen=True, slots=True)
class TimerFired:
    timer: str
    now_ms: int


@dataclass(frozen=True, slots=True)
class ProposalBuilt:
    """Answer to `BuildProposal`: the block, executed on top of its parent; None if no txs."""

    view: View
    height: Height
    block: Block | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class BlockExecuted:
    """Answer to `ExecuteBlock`: whether the block is valid and its header roots match."""

    block_hash: bytes
    valid: bool
    reason: str
    now_ms: int


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """State transfer reached `height` (blocks verified by certificate, re-executed, stored)."""

    height: Height
    block_hash: bytes
    now_ms: int


@dataclass(frozen=True, slots=True)
class TxsRemoved:
    """Transactions left this node's mempool other than by a block this replica committed:
    expired, became invalid, or were committed by state transfer. The replica stops waiting
    for them (so it does not suspect the primary of censoring them)."""

    tx_ids: tuple[bytes, ...]
    now_ms: int


@dataclass(frozen=True, slots=True)
class BlockFetched:
    """Answer to `FetchBlock`: the block whose header hashes to `block_hash`, or None when no
    peer gave it (in time). The replica checks the block against the hash itself."""

    height: Height
    block_hash: bytes
    block: Block | None
    now_ms: int


@dataclass(frozen=True, slots=True)
class SetContinues:
    """The driver read the committed chain: this replica's validator set is still the set in
    force up to `through_height` (the next checkpoint). With the checkpoint barrier on, a
    replica votes on no height above what it was told so: whether the set changes after a
    checkpoint is known only once the checkpoint is committed (consensus/config.py)."""

    through_height: Height
    now_ms: int


Event = (
    Start
    | SetContinues
    | TxsArrived
    | MessageReceived
    | TimerFired
    | ProposalBuilt
    | BlockExecuted
    | CaughtUp
    | TxsRemoved
    | BlockFetched
)

# ---- actions (replica -> driver) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    to: ValidatorIndex
    message: SignedMessage


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send to every other validator."""

    message: SignedMessage


@dataclass(frozen=True, slots=True)
class SetTimer:
    """(Re)arm timer `timer` to fire after `delay_ms`; re-arming replaces the old deadline."""

    timer: str
    delay_ms: int


@dataclass(frozen=True, slots=True)
class CancelTimer:
    timer: str


@dataclass(frozen=True, slots=True)
class BuildProposal:
    """Primary only: take a batch from the mempool, execute it on top of `parent_hash`."""

    view: View
    height: Height
    parent_hash: bytes


@dataclass(frozen=True, slots=True)
class ExecuteBlock:
    """Check and execute a proposed block on top of its parent (which may be uncommitted).

    `check_time`: check the header time against the local clock (within max_clock_skew_ms) and
    against the parent's. False for a block re-proposed by a NEW-VIEW: 2f+1 replicas prepared
    it, so its time was checked when it was fresh, and it may be older than the skew by now.
    """

    block: Block
    check_time: bool = True


@dataclass(frozen=True, slots=True)
class DiscardBlocks:
    """Forget executed-but-uncommitted blocks above `height` (a view change dropped them)."""

    height: Height


@dataclass(frozen=True, slots=True)
class Persist:
    """Durably store `value` under `key` before performing any later action."""

    key: str
    value: bytes


@dataclass(frozen=True, slots=True)
class CommitBlock:
    """The block is final: write it with its certificate, in height order."""

    block: Block
    certificate: Certificate


@dataclass(frozen=True, slots=True)
class FetchBlocks:
    """Behind the others: fetch certified blocks from `from_height` (state transfer)."""

    from_height: Height
    to_height: Height
    peers: tuple[ValidatorIndex, ...]


@dataclass(frozen=True, slots=True)
class FetchBlock:
    """Get the (uncommitted) block `block_hash` at `height` from any of `peers`, in that order of
    preference, and check it hashes to `block_hash` before answering `BlockFetched`. A peer that
    answers with another block, or not at all, is skipped."""

    height: Height
    block_hash: bytes
    peers: tuple[ValidatorIndex, ...]


@dataclass(frozen=True, slots=True)
class ViewChanged:
    """Informational: the replica entered `view`; `reason` says why, for logs and metrics."""

    view: View
    primary: ValidatorIndex
    reason: str


@dataclass(frozen=True, slots=True)
class Suspected:
    """Informational: the replica suspects the primary of `view` (it stays in the view until
    f+1 replicas do); `reason` says why, for logs."""

    view: View
    reason: str


Action = (
    Send
    | Broadcast
    | SetTimer
    | CancelTimer
    | BuildProposal
    | ExecuteBlock
    | DiscardBlocks
    | Persist
    | CommitBlock
    | FetchBlocks
    | FetchBlock
    | ViewChanged
    | Suspected
)


class Replica(Protocol):
    """What the node drives: the single-validator replica and PBFT both implement it."""

    @property
    def view(self) -> View: ...

    @property
    def primary(self) -> ValidatorIndex: ...

    def handle(self, event: Event) -> list[Action]: ...

    def known_block(self, height: Height, block_hash: bytes) -> Block | None:
        """A block this replica holds (voted for, or of a prepared proof) that a peer asks for
        by hash; committed blocks are served from the store."""
        ...
