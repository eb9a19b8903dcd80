"""Consortium governance: registry changes pass only with ⌈2b/3⌉ of the b active banks.

`registry.propose` records a proposal and counts as the proposer's approval; `registry.approve`
adds one bank's approval, and the deciding approval applies the change in the same transaction.
Parameters are checked when proposed (fail early) and applied against the state of the day.

State: gov/prop/<id> -> {id, action, params, proposer, approvals, status, created_height,
                         created_ms, expires_ms, passed_tx}
"""

from __future__ import annotations

from typing import Any

from contracts import holds, membership, netting, reader_scope
from contracts.amounts import add
from contracts.args import (
    any_map,
    bin32,
    boolean,
    currency,
    hex_id,
    integer,
    iso_date,
    list_of,
    one_of,
    optional,
    org_id,
    text,
)
from contracts.errors import ensure, fail
from contracts.registry import (
    bank_ids,
    drop_key,
    get_currency,
    get_org,
    keys_without,
    org_key,
)
from contracts.runtime import Context, method
from contracts.wording import moment
from ledger.genesis import KEY_ROLES, ORG_KINDS

ACTIONS = (
    "set_kyc",
    "set_sanctioned",
    "set_limit",
    "add_org",
    "suspend_org",
    "cancel_netting",
    "remove_key",
    *membership.ACTIONS,
    *reader_scope.ACTIONS,
)
DAY_MS = 86_400_000
DEFAULT_TTL_MS = 7 * DAY_MS


PROPOSAL_PREFIX = "gov/prop/"


def proposal_key(proposal_id: str) -> str:
    return PROPOSAL_PREFIX + proposal_id


def threshold(banks: int) -> int:
    """⌈2b/3⌉ approvals out of b banks, in integers."""
    return (2 * banks + 2) // 3


def active_banks(ctx: Context) -> list[str]:
    """Banks that may vote: suspended banks can sign nothing, so they do not count in b."""
    return [b for b in bank_ids(ctx) if not get_org(ctx, b).get("suspended", False)]


def _key_entry(name: str, value: Any) -> dict[str, Any]:
    entry = any_map(name, value)
    return {"public": bin32(f"{name}.public", entry.get("public")), "role": _role(name, entry)}


def _role(name: str, entry: dict[str, Any]) -> str:
    role: str = one_of(*KEY_ROLES)(f"{name}.role", entry.get("role"))
    return role


def _limit(name: str, value: Any) -> int | None:
    if value is None:
        return None
    checked: int = integer(0)(name, value)
    return checked


# action -> {param: (validator, required, default)}
_SCHEMAS: dict[str, dict[str, tuple[Any, bool, Any]]] = {
    "set_kyc": {"org": (org_id, True, None), "kyc_expires": (iso_date, True, None)},
    "set_sanctioned": {"org": (org_id, True, None), "sanctioned": (boolean, True, None)},
    "set_limit": {
        "org": (org_id, True, None),
        "currency": (currency, True, None),
        "amount": (_limit, True, None),  # nil removes the limit
    },
    "suspend_org": {"org": (org_id, True, None), "suspended": (boolean, False, True)},
    "add_org": {
        "id": (org_id, True, None),
        "name": (text(140), True, None),
        "kind": (one_of(*ORG_KINDS), True, None),
        "jurisdiction": (text(2, 0), False, ""),
        "keys": (list_of(_key_entry, 16, 1), True, None),
        "kyc_expires": (iso_date, True, None),
        "daily_limits": (any_map, False, {}),
    },
    "cancel_netting": {"window": (hex_id, True, None)},
    # a compromised key whose organization cannot act (lost admin, unreachable): the consortium
    # removes it; the API refuses it from the next request on (node/api/access.py)
    "remove_key": {"org": (org_id, True, None), "public": (bin32, True, None)},
    **membership.SCHEMAS,
    **reader_scope.SCHEMAS,
}


def check_params(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params of `action`, validated, with defaults filled in."""
    schema = _SCHEMAS[action]
    unknown = sorted(set(params) - set(schema))
    ensure(not unknown, "BAD_ARGUMENT", f"{action} takes no parameter {unknown[:1]}")
    clean: dict[str, Any] = {}
    for name, (validator, required, default) in schema.items():
        if name not in params:
            ensure(not required, "BAD_ARGUMENT", f"{action} needs parameter {name!r}")
            clean[name] = default
        else:
            clean[name] = validator(f"params.{name}", params[name])
    if action == "add_org":
        limits = clean["daily_limits"]
        for code in sorted(limits):
            currency("params.daily_limits", code)
            integer(0)(f"params.daily_limits.{code}", limits[code])
        ensure(
            any(k["role"] == "admin" for k in clean["keys"]),
            "BAD_ARGUMENT",
            "a new organization needs an admin key",
        )
    membership.check_params(action, clean)
    reader_scope.check_params(action, clean)
    return clean


def _apply(ctx: Context, action: str, params: dict[str, Any]) -> None:
    """Make the approved change; runs inside the deciding approval's transaction."""
    if action == "cancel_netting":
        netting.cancel_window(ctx, params["window"])
        return
    if action == "add_org":
        _add_org(ctx, params)
        return
    if action == "remove_key":
        drop_key(ctx, params["org"], params["public"])
        return
    if action in membership.ACTIONS:
        membership.apply_change(ctx, action, params)
        return
    if action in reader_scope.ACTIONS:
        reader_scope.apply_change(ctx, action, params)
        return
    record = get_org(ctx, params["org"])
    if action == "set_kyc":
        record["kyc_expires"] = params["kyc_expires"]
    elif action == "set_sanctioned":
        record["sanctioned"] = params["sanctioned"]
    elif action == "set_limit":
        get_currency(ctx, params["currency"])
        limits = dict(record.get("daily_limits") or {})
        if params["amount"] is None:
            limits.pop(params["currency"], None)
        else:
            limits[params["currency"]] = params["amount"]
        record["daily_limits"] = dict(sorted(limits.items()))
    elif action == "suspend_org":
        record["suspended"] = params["suspended"]
    else:  # pragma: no cover - ACTIONS and _SCHEMAS guard this
        fail("BAD_ARGUMENT", f"unknown action {action}")
    ctx.put(org_key(record["id"]), record)
    if action == "set_sanctioned" and not params["sanctioned"]:
        holds.release_all(ctx, record["id"])  # lifted: what was held for it is paid, now


def _add_org(ctx: Context, params: dict[str, Any]) -> None:
    ensure(ctx.get(org_key(params["id"])) is None, "ORG_EXISTS", f"{params['id']} exists")
    for key in params["keys"]:
        ensure(
            ctx.get("reg/key/" + key["public"].hex()) is None,
            "KEY_EXISTS",
            "a key of the new organization is already registered",
        )
    ctx.put(
        org_key(params["id"]),
        {
            "id": params["id"],
            "name": params["name"],
            "kind": params["kind"],
            "jurisdiction": params["jurisdiction"],
            "keys": params["keys"],
            "kyc_expires": params["kyc_expires"],
            "sanctioned": False,
            "suspended": False,
            "daily_limits": dict(sorted(params["daily_limits"].items())),
        },
    )
    for key in params["keys"]:
        ctx.put("reg/key/" + key["public"].hex(), {"org": params["id"], "role": key["role"]})
    if params["kind"] == "bank":
        ctx.put("reg/banks", sorted([*bank_ids(ctx), params["id"]]))


def _decide(ctx: Context, proposal: dict[str, Any]) -> bool:
    """Apply the proposal if its approvals reach the threshold; store it either way."""
    banks = active_banks(ctx)
    votes = [b for b in proposal["approvals"] if b in banks]
    passed = len(votes) >= threshold(len(banks))
    if passed:
        # Checked again as it takes effect: a proposal made under looser rules (before dates
        # had to be exactly YYYY-MM-DD) must not write what today's rules refuse.
        params = check_params(proposal["action"], dict(proposal["params"]))
        _apply(ctx, proposal["action"], params)
        proposal.update(status="passed", passed_tx=ctx.tx_id.hex(), passed_height=ctx.height)
        ctx.emit("proposal_passed", id=proposal["id"], action=proposal["action"])
    ctx.put(proposal_key(proposal["id"]), proposal)
    return passed


@method(
    "registry",
    "propose",
    {
        "action": one_of(*ACTIONS),
        "params": any_map,
        "ttl_ms": optional(integer(60_000, 90 * DAY_MS), DEFAULT_TTL_MS),
    },
    roles=("admin",),
    kinds=("bank",),
)
def propose(ctx: Context, action: str, params: dict[str, Any], ttl_ms: int) -> dict[str, Any]:
    """A bank proposes a registry change; its proposal counts as its own approval."""
    clean = check_params(action, params)
    if action in membership.ACTIONS:
        membership.check_allowed(ctx, action, clean)
    if action == "remove_key":  # checked again when it passes: the keys may change meanwhile
        keys_without(ctx, clean["org"], clean["public"])
    proposal_id = ctx.new_id()
    proposal = {
        "id": proposal_id,
        "action": action,
        "params": clean,
        "proposer": ctx.sender_org,
        "approvals": [ctx.sender_org],
        "status": "open",
        "created_height": ctx.height,
        "created_ms": ctx.time_ms,
        "expires_ms": add(ctx.time_ms, ttl_ms, "the proposal's expiry time"),
    }
    ctx.emit("proposed", id=proposal_id, action=action, proposer=ctx.sender_org)
    passed = _decide(ctx, proposal)
    return {"id": proposal_id, "passed": passed}


@method("registry", "approve", {"id": hex_id}, roles=("admin",), kinds=("bank",))
def approve(ctx: Context, id: str) -> dict[str, bool]:
    """A bank approves an open proposal; the deciding approval applies it."""
    record = ctx.get(proposal_key(id))
    ensure(record is not None, "PROPOSAL_NOT_FOUND", f"no proposal {id}")
    proposal = dict(record)
    ensure(proposal["status"] == "open", "PROPOSAL_CLOSED", f"proposal {id} already passed")
    ensure(
        ctx.time_ms <= proposal["expires_ms"],
        "PROPOSAL_EXPIRED",
        f"proposal {id} expired at {moment(proposal['expires_ms'])}, "
        f"block time {moment(ctx.time_ms)}",
        {"expires_ms": proposal["expires_ms"], "block_time_ms": ctx.time_ms},
    )
    ensure(
        ctx.sender_org not in proposal["approvals"],
        "ALREADY_APPROVED",
        f"{ctx.sender_org} already approved proposal {id}",
    )
    proposal["approvals"] = sorted([*proposal["approvals"], ctx.sender_org])
    ctx.emit("approved", id=id, by=ctx.sender_org)
    return {"passed": _decide(ctx, proposal)}
