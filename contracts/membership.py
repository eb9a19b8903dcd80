"""Validator membership by governance: `add_validator` / `remove_validator` (DESIGN.md §7, §10).

A proposal passes like every other governance action (⌈2b/3⌉ banks); the deciding approval
computes the new set and the height it takes effect at (`ledger.membership.effective_height`:
the first height after the next checkpoint), stores both and emits `validator_set_changed`
with the whole set, so an auditor derives the set history from the receipts alone.

Only a chain whose genesis allows membership changes (`"membership": true`) holds the
`val/rules` key; its absence refuses both actions (`MEMBERSHIP_DISABLED`), as the development
clock does. Refusals, each with a stable code:

- `VALIDATOR_EXISTS`: the name, Ed25519 key or BLS key is or ever was a validator's (a key is
  never reused, so an old signature can never count for a new member);
- `BAD_BLS_POP`: the BLS proof of possession does not verify (rogue-key defence);
- `UNKNOWN_ORG` / `NOT_A_BANK`: a validator is run by an existing bank;
- `UNKNOWN_VALIDATOR`: removing a name that is not in the set;
- `LAST_VALIDATOR`: the set never becomes empty;
- `VALIDATORS_TOO_FEW`: a removal may not take away the fault tolerance the set has (f ≥ 1
  stays f ≥ 1), else one crash after the switch would halt the chain;
- `VALIDATORS_TOO_MANY`: the set may not outgrow what the frame size allows (genesis params);
- `MEMBERSHIP_CHANGE_PENDING`: one change at a time: a change passes only once the previous
  one is in force, so consecutive sets differ by one validator.

State: val/rules            -> {checkpoint_interval, max_validators}
       val/heights          -> [effective heights of the changes so far, ascending]
       val/set/<height:012> -> [validator records]: the set in force from that height on
       val/used             -> [names and key hexes of every validator ever in a set]
"""

from __future__ import annotations

import re
from typing import Any

from contracts.args import bin32, org_id
from contracts.errors import ensure
from contracts.registry import read_org
from contracts.runtime import Context
from ledger.crypto import bls
from ledger.genesis import Genesis
from ledger.membership import (
    SET_CHANGED_EVENT,
    effective_height,
    fault_tolerance,
    validator_event,
    validator_record,
)
from ledger.message_bounds import oversized
from ledger.state import Reader

RULES_KEY = "val/rules"
HEIGHTS_KEY = "val/heights"
USED_KEY = "val/used"
SET_PREFIX = "val/set/"
MAX_VALIDATORS = 100  # the most a genesis allows; the frame size may allow fewer
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


def set_key(height: int) -> str:
    return f"{SET_PREFIX}{height:012d}"


def genesis_state(genesis: Genesis) -> dict[str, Any]:
    """A chain that allows membership changes starts with its rules and the genesis set."""
    if not genesis.membership:
        return {}
    largest = max(
        n
        for n in range(1, MAX_VALIDATORS + 1)
        if n == 1 or oversized(genesis.params, n, genesis.chain) is None
    )
    return {
        RULES_KEY: {
            "checkpoint_interval": genesis.params["checkpoint_interval"],
            "max_validators": largest,
        },
        HEIGHTS_KEY: [1],
        set_key(1): [validator_record(v) for v in genesis.validators],
        USED_KEY: sorted(_identities(validator_record(v) for v in genesis.validators)),
    }


def _identities(records: Any) -> set[str]:
    used: set[str] = set()
    for record in records:
        used.update((record["name"], record["ed25519"].hex(), record["bls"].hex()))
    return used


def _binary(size: int) -> Any:
    def check(name: str, value: Any) -> bytes:
        ensure(
            isinstance(value, bytes) and len(value) == size,
            "BAD_ARGUMENT",
            f"{name} must be {size} bytes",
        )
        return bytes(value)

    return check


def _name(name: str, value: Any) -> str:
    ensure(
        isinstance(value, str) and bool(_NAME.match(value)),
        "BAD_ARGUMENT",
        f"{name} must be lowercase letters, digits and dashes",
    )
    return str(value)


def _p2p(name: str, value: Any) -> str:
    ensure(
        isinstance(value, str) and len(value) <= 255 and bool(_HOST_PORT.match(value)),
        "BAD_ARGUMENT",
        f"{name} must be host:port",
    )
    return str(value)


# action -> {param: (validator, required, default)}, merged into governance's table
SCHEMAS: dict[str, dict[str, tuple[Any, bool, Any]]] = {
    "add_validator": {
        "name": (_name, True, None),
        "org": (org_id, True, None),
        "ed25519": (bin32, True, None),
        "bls": (_binary(48), True, None),
        "bls_pop": (_binary(96), True, None),
        "p2p": (_p2p, True, None),
    },
    "remove_validator": {"name": (_name, True, None)},
}
ACTIONS = tuple(SCHEMAS)


def check_params(action: str, params: dict[str, Any]) -> None:
    """What can be judged without the state: the proof of possession."""
    if action == "add_validator":
        ensure(
            bls.pop_verify(params["bls"], params["bls_pop"]),
            "BAD_BLS_POP",
            f"the BLS proof of possession of {params['name']} does not verify",
        )


def _rules(ctx: Context) -> dict[str, Any]:
    rules = ctx.get(RULES_KEY)
    ensure(
        rules is not None,
        "MEMBERSHIP_DISABLED",
        'this chain\'s genesis does not allow validator changes ("membership": true)',
    )
    return dict(rules)


def latest_set(ctx: Context) -> list[dict[str, Any]]:
    """The set once every approved change is in force."""
    heights = ctx.get(HEIGHTS_KEY, [])
    return [dict(v) for v in ctx.get(set_key(heights[-1]), [])] if heights else []


def check_allowed(ctx: Context, action: str, params: dict[str, Any]) -> None:
    """Refuse what the current state forbids (at proposal and again as it passes)."""
    rules = _rules(ctx)
    current = latest_set(ctx)
    names = [v["name"] for v in current]
    if action == "add_validator":
        used = set(ctx.get(USED_KEY, []))
        ensure(params["name"] not in used, "VALIDATOR_EXISTS", f"{params['name']} is taken")
        for key in ("ed25519", "bls"):
            ensure(
                params[key].hex() not in used,
                "VALIDATOR_EXISTS",
                f"that {key} key is or was a validator's",
            )
        org = read_org(ctx, params["org"])
        ensure(org["kind"] == "bank", "NOT_A_BANK", f"{params['org']} is not a bank")
        ensure(
            len(current) + 1 <= rules["max_validators"],
            "VALIDATORS_TOO_MANY",
            f"at most {rules['max_validators']} validators fit this chain's frame size",
        )
        return
    ensure(params["name"] in names, "UNKNOWN_VALIDATOR", f"no validator {params['name']!r}")
    ensure(len(current) > 1, "LAST_VALIDATOR", "the last validator cannot be removed")
    before, after = fault_tolerance(len(current)), fault_tolerance(len(current) - 1)
    ensure(
        not (before >= 1 and after < 1),
        "VALIDATORS_TOO_FEW",
        f"removing {params['name']} leaves {len(current) - 1} validators, which tolerate no "
        "fault: add a validator first",
    )


def apply_change(ctx: Context, action: str, params: dict[str, Any]) -> None:
    """The deciding approval: the new set, in force from the first height after the next
    checkpoint; refused while the previous change is not yet in force."""
    check_allowed(ctx, action, params)
    rules = _rules(ctx)
    heights = list(ctx.get(HEIGHTS_KEY, []))
    ensure(
        heights[-1] <= ctx.height,
        "MEMBERSHIP_CHANGE_PENDING",
        f"the previous change takes effect at height {heights[-1]}; approve this one after it",
        {"effective_height": heights[-1]},
    )
    current = latest_set(ctx)
    if action == "add_validator":
        added = {name: params[name] for name in ("name", "org", "ed25519", "bls", "bls_pop", "p2p")}
        new_set = [*current, added]
        used = set(ctx.get(USED_KEY, [])) | _identities([added])
        ctx.put(USED_KEY, sorted(used))
    else:
        new_set = [v for v in current if v["name"] != params["name"]]
    effective = effective_height(ctx.height, rules["checkpoint_interval"])
    ctx.put(set_key(effective), new_set)
    ctx.put(HEIGHTS_KEY, [*heights, effective])
    ctx.emit(
        SET_CHANGED_EVENT,
        change=action,
        name=params["name"],
        effective_height=effective,
        validators=[validator_event(v) for v in new_set],
    )


def set_in_force(read: Reader, height: int) -> list[dict[str, Any]] | None:
    """The validator records in force at `height`, read from the state its parent left (a
    change in force at `height` was committed below it); None on a chain without membership
    changes, whose set is the genesis set."""
    heights = read(HEIGHTS_KEY)
    if heights is None:
        return None
    since = max(h for h in heights if h <= height)
    records = read(set_key(since))
    return None if records is None else [dict(r) for r in records]


def set_history(read: Reader) -> list[tuple[int, list[dict[str, Any]]]]:
    """Every set of the chain with the height it is in force from, ascending (genesis's from
    1), as the state `read` knows them; empty on a chain without membership changes."""
    heights = read(HEIGHTS_KEY)
    if heights is None:
        return []
    return [(since, [dict(r) for r in read(set_key(since)) or []]) for since in heights]
