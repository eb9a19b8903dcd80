"""Which validators a node talks to and votes with, read from its committed state.

Governance changes the validator set (DESIGN.md §7, contracts/membership.py). The node needs
three things from that history, all functions of the committed chain only, so every node that
committed the same blocks agrees on them:

- a *roster*: every validator the chain ever had, numbered by first appearance (genesis's in
  order, then each added one). That number is the peer index of the P2P layer; it never changes
  meaning, because a removed validator's keys are never reused (VALIDATOR_EXISTS);
- the *set in force* at a height: who votes there, with its anchor (the checkpoint after which
  it took effect; 0 for genesis), which names its PBFT instance (consensus/config.py);
- who is *admitted* on the P2P port: the set in force at the next height and the latest set
  (a validator being added may connect, and catch up, as soon as its addition is committed; a
  removed one is dropped once the removal is in force).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.membership import HEIGHTS_KEY, set_history
from ledger.genesis import Genesis, ValidatorInfo
from ledger.membership import validator_from_record
from ledger.state import Reader
from network import PeerAddress


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    """The set in force over the heights after `anchor`, and its members' roster ids."""

    anchor: int
    validators: tuple[ValidatorInfo, ...]
    members: tuple[int, ...]  # roster id of each validator, in set order

    def index_of(self, public: bytes) -> int | None:
        """Our position in this set (the replica's index), or None: not a member."""
        for position, validator in enumerate(self.validators):
            if validator.ed25519 == public:
                return position
        return None


class Roster:
    """Every validator ever in a set, by roster id; refreshed from the state after commits."""

    def __init__(self, genesis: Genesis) -> None:
        self.genesis = genesis
        self.validators: list[ValidatorInfo] = list(genesis.validators)
        self._ids = {v.ed25519: i for i, v in enumerate(self.validators)}
        self._sets: list[tuple[int, tuple[ValidatorInfo, ...]]] = [(1, genesis.validators)]

    def learn(self, read: Reader) -> bool:
        """Read the set history from the state; True when it holds a set not seen before.
        Called after every commit: one read unless a change was committed."""
        heights = read(HEIGHTS_KEY)
        if heights is None or len(heights) <= len(self._sets):
            return False
        history = set_history(read)
        self._sets = [(since, tuple(map(validator_from_record, rs))) for since, rs in history]
        for _, validators in self._sets:
            for validator in validators:
                if validator.ed25519 not in self._ids:
                    self._ids[validator.ed25519] = len(self.validators)
                    self.validators.append(validator)
        return True

    def id_of(self, public: bytes) -> int | None:
        return self._ids.get(public)

    def our_id(self, public: bytes) -> int:
        """Our roster id; before we are in it, an id nobody else has (a follower's)."""
        found = self._ids.get(public)
        return len(self.validators) if found is None else found

    def set_at(self, height: int) -> ValidatorSet:
        since, validators = max((s for s in self._sets if s[0] <= height), key=lambda s: s[0])
        members = tuple(self._ids[v.ed25519] for v in validators)
        return ValidatorSet(since - 1, validators, members)

    def admitted(self, next_height: int) -> list[PeerAddress]:
        """The validators the P2P layer admits now: in force at `next_height`, or latest."""
        keys = {v.ed25519 for v in self.set_at(next_height).validators}
        keys.update(v.ed25519 for v in self._sets[-1][1])
        return [
            PeerAddress(i, v.ed25519, v.p2p)
            for i, v in enumerate(self.validators)
            if v.ed25519 in keys
        ]

    def name_of(self, roster_id: int) -> str:
        if 0 <= roster_id < len(self.validators):
            return self.validators[roster_id].name
        return f"follower-{roster_id}"
