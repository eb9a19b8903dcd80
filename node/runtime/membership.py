"""The node's side of validator membership (DESIGN.md §7): which replica runs, and when it is
replaced.

One PBFT instance runs per validator set (consensus/config.py). On a chain whose genesis
allows changes, after each commit at height h the driver asks `SetTracker.after_commit(h)`:

- the set in force at h + 1 is the replica's: the set is known to hold through the next
  checkpoint, so the replica is told `SetContinues` (the checkpoint barrier is lifted);
- it is another set (h was the checkpoint after which a change took effect): the replica is
  replaced by one of the new set, fresh, anchored at h (every height of the old set is
  committed), or by a `Bystander` if this node is not in the new set.

What a replica persisted belongs to its set: the records (`pbft/`) are deleted and the
`set/anchor` marker rewritten in one synchronous batch when the set changes, so a node that
restarts in a later set never restores the votes or view of an earlier one (whose heights are
all committed, and whose signing domain differs anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from consensus import PbftReplica, ReplicaConfig, ValidatorCrypto
from consensus.interface import Action, Event, Replica, SetContinues
from ledger import codec
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.types import Block, Height, ValidatorIndex, View
from network import PeerAddress
from node.keys import ValidatorKeys
from node.runtime.roster import Roster, ValidatorSet

log = logging.getLogger(__name__)

RECORDS_PREFIX = "pbft/"
SET_MARKER = "set/anchor"  # the anchor of the set the `pbft/` records were written in


class Bystander:
    """The replica of a node that is not in the set in force (a validator not yet added, or
    one removed): it votes on nothing; the node follows the chain by fetching certified
    blocks (node/runtime/follower.py)."""

    @property
    def view(self) -> View:
        return View(0)

    @property
    def primary(self) -> ValidatorIndex:
        return ValidatorIndex(0)

    def handle(self, event: Event) -> list[Action]:
        return []

    def known_block(self, height: Height, block_hash: bytes) -> Block | None:
        return None


@dataclass(frozen=True, slots=True)
class Switch:
    """Replace the replica: `replica` runs `validators` (roster ids in `members`) from now."""

    replica: Replica
    validator_set: ValidatorSet

    @property
    def member(self) -> bool:
        return not isinstance(self.replica, Bystander)


def anchor_hash(store: ChainStore, validator_set: ValidatorSet) -> bytes:
    if validator_set.anchor == 0:
        return b""
    header = store.header(validator_set.anchor)
    if header is None:
        raise TallyError(
            "ANCHOR_UNKNOWN",
            f"the block at height {validator_set.anchor}, after which the validator set in "
            "force took effect, is not in this store (a snapshot above it): wipe and rejoin",
        )
    return header.hash()


def stored_anchor(store: ChainStore) -> int:
    raw = store.meta_items(SET_MARKER).get(SET_MARKER)
    return 0 if raw is None else int(codec.decode(raw))


def start_records(store: ChainStore, anchor: int) -> None:
    """Delete every record of the replica of an earlier set; note the set they are for now."""
    records: dict[str, bytes | None] = dict.fromkeys(store.meta_items(RECORDS_PREFIX), None)
    records[SET_MARKER] = codec.encode(anchor)
    store.write_meta(records)


def replica_for(
    genesis: Genesis, keys: ValidatorKeys, store: ChainStore, validator_set: ValidatorSet
) -> Replica:
    """This node's replica of `validator_set` at the store's tip: restored from its records
    if they are of this set, else fresh; a Bystander if the set does not name our key."""
    index = validator_set.index_of(keys.ed25519.public)
    if index is None:
        return Bystander()
    if validator_set.validators[index].bls != keys.bls.public:
        raise TallyError("NOT_A_VALIDATOR", "the BLS key does not match the validator set's")
    validators = validator_set.validators
    config = ReplicaConfig.for_set(
        genesis,
        index,
        tuple(v.ed25519 for v in validators),
        validator_set.anchor,
        anchor_hash(store, validator_set),
    )
    crypto = ValidatorCrypto(
        keys.ed25519, keys.bls, [v.ed25519 for v in validators], [v.bls for v in validators]
    )
    tip = store.tip()
    if genesis.membership and stored_anchor(store) != validator_set.anchor:
        start_records(store, validator_set.anchor)
        return PbftReplica(config, crypto, tip.height, tip.block_hash)

    def block_hash_at(height: int) -> bytes | None:
        header = store.header(height)
        return None if header is None else header.hash()

    return PbftReplica.restore(
        config,
        crypto,
        store.meta_items(RECORDS_PREFIX),
        tip.height,
        tip.block_hash,
        block_hash_at=block_hash_at,
    )


PeersChanged = Callable[[list[PeerAddress], int | None], None]


class SetTracker:
    """Follows the set history in the committed state; says what the driver does next."""

    def __init__(
        self, genesis: Genesis, keys: ValidatorKeys, store: ChainStore, roster: Roster
    ) -> None:
        self.genesis = genesis
        self.keys = keys
        self.store = store
        self.roster = roster
        self.interval = genesis.params["checkpoint_interval"]
        roster.learn(store.state_trusted)
        self.current = roster.set_at(store.tip().height + 1)
        self.told = 0
        self.on_peers: PeersChanged | None = None  # the P2P layer's update, set by Peering

    def replica(self) -> Replica:
        """The replica at the store's tip (at start, or after a snapshot replaced the state)."""
        self.roster.learn(self.store.state_trusted)
        self.current = self.roster.set_at(self.store.tip().height + 1)
        self.told = 0
        self._peers_changed(self.store.tip().height)
        return replica_for(self.genesis, self.keys, self.store, self.current)

    def after_commit(self, height: int, now_ms: int) -> Switch | SetContinues | None:
        learned = self.roster.learn(self.store.state_trusted)
        wanted = self.roster.set_at(height + 1)
        changed = wanted.anchor != self.current.anchor
        if learned or changed:
            self._peers_changed(height)
        if changed:
            self.current, self.told = wanted, 0
            switch = Switch(replica_for(self.genesis, self.keys, self.store, wanted), wanted)
            log.warning(
                "validator set after height %d: %d validators, this node %s",
                wanted.anchor,
                len(wanted.validators),
                "votes" if switch.member else "does not vote",
            )
            return switch
        through = (height // self.interval + 1) * self.interval
        if through <= self.told:
            return None
        self.told = through
        return SetContinues(Height(through), now_ms)

    def our_id(self) -> int:
        return self.roster.our_id(self.keys.ed25519.public)

    def _peers_changed(self, height: int) -> None:
        if self.on_peers is not None:
            known = self.roster.id_of(self.keys.ed25519.public)
            self.on_peers(self.roster.admitted(height + 1), known)
