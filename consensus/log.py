"""The message log: per height, the proposal of the current view and the votes for it.

Only heights above the stable checkpoint are kept, and only the current view's votes (a view
change clears them), with one vote per sender per (view, height): a second, conflicting vote from
the same sender is ignored. What survives a view change is a height's prepared proof (the
highest-view one) and the replica's own last vote, which are also persisted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from consensus.messages import Commit, Prepare, PreparedProof, SignedMessage
from ledger.types import Block, Certificate, Height, ValidatorIndex, View


@dataclass(slots=True)
class Slot:
    """One height. `block_hash` set and `block` None: a NEW-VIEW re-proposed a block by hash
    that we are fetching."""

    height: Height
    # -- the current view --------------------------------------------------------------------
    block: Block | None = None
    block_hash: bytes = b""
    pre_prepare: SignedMessage | None = None  # the primary's envelope (None if from NEW-VIEW)
    from_new_view: bool = False
    sources: tuple[ValidatorIndex, ...] = ()  # who voted for a re-proposed block: ask them
    tx_ids: tuple[bytes, ...] = ()
    prepares: dict[ValidatorIndex, SignedMessage] = field(default_factory=dict)
    commits: dict[ValidatorIndex, SignedMessage] = field(default_factory=dict)
    rejected: set[ValidatorIndex] = field(default_factory=set)  # bad BLS commit signatures
    my_prepare: SignedMessage | None = None
    my_commit: SignedMessage | None = None
    prepared: bool = False
    certificate: Certificate | None = None
    # -- across views (persisted) ------------------------------------------------------------
    proof: PreparedProof | None = None
    vote: tuple[View, bytes] | None = None  # (view, block hash) of our last PREPARE here

    @property
    def awaiting_block(self) -> bool:
        return bool(self.block_hash) and self.block is None

    def reset_view(self) -> None:
        self.block = None
        self.block_hash = b""
        self.pre_prepare = None
        self.from_new_view = False
        self.sources = ()
        self.tx_ids = ()
        self.prepares = {}
        self.commits = {}
        self.rejected = set()
        self.my_prepare = None
        self.my_commit = None
        self.prepared = False
        self.certificate = None

    def set_block(
        self,
        block: Block,
        block_hash: bytes,
        tx_ids: tuple[bytes, ...],
        envelope: SignedMessage | None,
    ) -> None:
        self.block = block
        self.block_hash = block_hash
        self.tx_ids = tx_ids
        self.pre_prepare = envelope
        self.from_new_view = envelope is None

    def expect(self, block_hash: bytes, sources: tuple[ValidatorIndex, ...]) -> None:
        """A NEW-VIEW re-proposes `block_hash` here; the block itself comes later."""
        self.block = None
        self.block_hash = block_hash
        self.pre_prepare = None
        self.from_new_view = True
        self.sources = sources
        self.tx_ids = ()

    def matching_prepares(self) -> list[SignedMessage]:
        """This view's prepares for the slot's block, one per sender, in sender order."""
        return [
            envelope
            for sender, envelope in sorted(self.prepares.items())
            if isinstance(envelope.message, Prepare)
            and envelope.message.block_hash == self.block_hash
        ]

    def matching_commits(self) -> list[tuple[ValidatorIndex, Commit]]:
        found = []
        for sender, envelope in sorted(self.commits.items()):
            message = envelope.message
            if (
                isinstance(message, Commit)
                and message.block_hash == self.block_hash
                and sender not in self.rejected
            ):
                found.append((sender, message))
        return found

    def voted_conflicting(self, view: View, block_hash: bytes) -> bool:
        """True if our persisted vote at this (view, height) is for a different block."""
        return self.vote is not None and self.vote[0] == view and self.vote[1] != block_hash


class MessageLog:
    """Slots by height, created on demand, dropped at or below the stable checkpoint."""

    def __init__(self) -> None:
        self._slots: dict[int, Slot] = {}

    def get(self, height: int) -> Slot | None:
        return self._slots.get(height)

    def slot(self, height: Height) -> Slot:
        found = self._slots.get(height)
        if found is None:
            found = self._slots[height] = Slot(height)
        return found

    def heights(self) -> list[int]:
        return sorted(self._slots)

    def __iter__(self) -> Iterator[Slot]:
        """Slots in height order (a snapshot: the log may change while it is walked)."""
        return iter([self._slots[height] for height in sorted(self._slots)])

    def __len__(self) -> int:
        return len(self._slots)

    def reset_view(self) -> None:
        for slot in self._slots.values():
            slot.reset_view()

    def prune(self, stable_height: int) -> list[Slot]:
        """Drop every slot at or below `stable_height`; return what was dropped."""
        dropped = [s for h, s in self._slots.items() if h <= stable_height]
        for slot in dropped:
            del self._slots[slot.height]
        return dropped

    def prune_empty(self, low: int) -> None:
        """Drop slots at or below `low` that hold nothing that must survive."""
        for height in [h for h, s in self._slots.items() if h <= low]:
            slot = self._slots[height]
            if slot.proof is None and slot.vote is None:
                del self._slots[height]

    def message_count(self) -> int:
        """How many messages the log holds (for the simulator's boundedness check)."""
        return sum(
            len(s.prepares) + len(s.commits) + (s.block is not None) + (s.proof is not None)
            for s in self._slots.values()
        )
