"""The validator set in force at each height, derived from genesis and the committed changes.

Membership changes (DESIGN.md §7) are approved by governance (`registry.propose`
`add_validator` / `remove_validator`). A change approved by a transaction committed at height h
takes effect at `effective_height(h, interval)`: the first height after the next checkpoint
height at or above h, so the set is the same for every height between two checkpoints and a
replica never has to mix two sets within one height or one checkpoint span.

The deciding transaction's receipt carries the event `validator_set_changed` with the whole new
set and its effective height, so an auditor who checks each block's receipts against its
certified `receipts_root` can follow the set from genesis with nothing but the chain:

    history = ValidatorHistory.of_genesis(genesis)
    for each block in height order:
        check the certificate against history.at(block.height)
        history = history.follow(block.height, block.receipts)

Everything here is pure: no store, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.genesis import Genesis, ValidatorInfo, validators_hash
from ledger.types import Receipt

SET_CHANGED_EVENT = "validator_set_changed"
VALIDATOR_FIELDS = ("name", "org", "ed25519", "bls", "bls_pop", "p2p")


def effective_height(committed_height: int, checkpoint_interval: int) -> int:
    """The first height a change committed at `committed_height` is in force.

    The next checkpoint height at or above the commit (a multiple of the interval), plus one.
    """
    if committed_height < 1 or checkpoint_interval < 1:
        raise ValueError("heights and the checkpoint interval start at 1")
    checkpoint = -(-committed_height // checkpoint_interval) * checkpoint_interval
    return checkpoint + 1


def fault_tolerance(n: int) -> int:
    """f = ⌊(n − 1)/3⌋: how many faulty validators a set of n tolerates."""
    return (n - 1) // 3


def quorum_of(n: int) -> int:
    """n − f: the votes a certificate, a prepare or a checkpoint needs (2f+1 when n = 3f+1)."""
    return n - fault_tolerance(n)


def validator_record(validator: ValidatorInfo) -> dict[str, Any]:
    """A validator as it is stored in state and carried in events (keys as bytes)."""
    return {
        "name": validator.name,
        "org": validator.org,
        "ed25519": validator.ed25519,
        "bls": validator.bls,
        "bls_pop": validator.bls_pop,
        "p2p": validator.p2p,
    }


def validator_event(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stored validator record as an event carries it: keys in hex, readable as JSON."""
    return {
        name: record[name].hex() if isinstance(record[name], bytes) else record[name]
        for name in VALIDATOR_FIELDS
    }


def validator_from_record(record: Mapping[str, Any]) -> ValidatorInfo:
    """A validator from its stored record (keys as bytes) or its event form (keys in hex);
    raises ValueError on anything malformed."""
    if not isinstance(record, Mapping) or set(record) != set(VALIDATOR_FIELDS):
        raise ValueError("a validator record has exactly " + ", ".join(VALIDATOR_FIELDS))
    keys: dict[str, bytes] = {}
    for name, size in (("ed25519", 32), ("bls", 48), ("bls_pop", 96)):
        value = record[name]
        if isinstance(value, str):
            try:
                value = bytes.fromhex(value)
            except ValueError:
                raise ValueError(f"validator {name} is not hex") from None
        if not isinstance(value, bytes) or len(value) != size:
            raise ValueError(f"validator {name} must be {size} bytes")
        keys[name] = value
    for name in ("name", "org", "p2p"):
        if not isinstance(record[name], str) or not record[name]:
            raise ValueError(f"validator {name} must be a non-empty string")
    return ValidatorInfo(
        name=record["name"],
        org=record["org"],
        ed25519=keys["ed25519"],
        bls=keys["bls"],
        bls_pop=keys["bls_pop"],
        p2p=record["p2p"],
    )


@dataclass(frozen=True, slots=True)
class SetChange:
    """From `effective_height` on, `validators` (in order) are the set; approved at `height`."""

    height: int
    effective_height: int
    validators: tuple[ValidatorInfo, ...]

    @property
    def validators_hash(self) -> bytes:
        return validators_hash(self.validators)


def set_changes(height: int, receipts: Iterable[Receipt]) -> list[SetChange]:
    """The set changes a committed block's receipts announce, in block order.

    Only successful receipts count (a failed tx writes nothing). An event whose effective
    height is not after the block, or whose set is empty or malformed, is refused with
    ValueError: a certified block cannot carry one unless the contract is broken, and an
    auditor must not paper over that.
    """
    changes: list[SetChange] = []
    for receipt in receipts:
        if receipt.status != "ok":
            continue
        for event in receipt.events:
            if event.get("type") != SET_CHANGED_EVENT or event.get("contract") != "registry":
                continue
            effective = event.get("effective_height")
            if not isinstance(effective, int) or isinstance(effective, bool) or effective <= height:
                raise ValueError(f"block {height}: a set change must take effect after the block")
            records = event.get("validators")
            if not isinstance(records, list) or not records:
                raise ValueError(f"block {height}: a set change names no validator")
            validators = tuple(validator_from_record(r) for r in records)
            changes.append(SetChange(height, effective, validators))
    return changes


@dataclass(frozen=True, slots=True)
class ValidatorHistory:
    """The genesis set and every committed change, in commit order; `at(h)` is the set in
    force at height h. Later changes with the same effective height replace earlier ones (the
    event carries the whole set, so the last one approved before a checkpoint is the set)."""

    genesis: tuple[ValidatorInfo, ...]
    changes: tuple[SetChange, ...] = ()

    @staticmethod
    def of_genesis(genesis: Genesis) -> ValidatorHistory:
        return ValidatorHistory(genesis.validators)

    def at(self, height: int) -> tuple[ValidatorInfo, ...]:
        current = self.genesis
        for change in self.changes:
            if change.effective_height <= height:
                current = change.validators
        return current

    def latest(self) -> tuple[ValidatorInfo, ...]:
        """The set once every known change is in force (what the next change starts from)."""
        return self.changes[-1].validators if self.changes else self.genesis

    def hash_at(self, height: int) -> bytes:
        return validators_hash(self.at(height))

    def follow(self, height: int, receipts: Iterable[Receipt]) -> ValidatorHistory:
        """This history after the committed block at `height` with these receipts."""
        found = set_changes(height, receipts)
        if not found:
            return self
        return ValidatorHistory(self.genesis, (*self.changes, *found))

    def with_changes(self, changes: Sequence[SetChange]) -> ValidatorHistory:
        return ValidatorHistory(self.genesis, (*self.changes, *changes))

    def effective_heights(self) -> list[int]:
        """Heights where the set changes, ascending, each once."""
        return sorted({c.effective_height for c in self.changes})
