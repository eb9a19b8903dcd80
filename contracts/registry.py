"""Organizations, their keys and roles, KYC, sanctions and limits.

State layout:
  reg/org/<id>   -> {id, name, kind, jurisdiction, keys: [{public, role}], kyc_expires,
                     sanctioned, suspended, daily_limits: {currency: amount}}
  reg/key/<hex>  -> {org, role}
  reg/cur/<code> -> {code, decimals, issuers}
  reg/banks      -> [bank org ids, sorted]
  reg/param/<name> -> int: a genesis param contracts read (receivable_grace_days), written
                    only when genesis sets it to other than its default, so chains that keep
                    the defaults (every chain made before the param existed) keep their state
Changes to KYC, sanctions, limits and membership go through governance (contracts/governance.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from contracts.args import bin32, one_of, org_id
from contracts.errors import ensure
from contracts.runtime import Context, method
from ledger.genesis import DEFAULT_PARAMS, KEY_ROLES, Genesis

ORG_PREFIX = "reg/org/"
CURRENCY_PREFIX = "reg/cur/"
KEY_PREFIX = "reg/key/"  # reg/key/<hex> -> {org, role}
BANKS_KEY = "reg/banks"
CONTRACT_PARAMS = ("receivable_grace_days",)  # the genesis params contracts read


def param_key(name: str) -> str:
    return "reg/param/" + name


def chain_param(ctx: Context, name: str) -> int:
    """Genesis param `name` of this chain (its default when genesis left it out)."""
    return int(ctx.get(param_key(name), DEFAULT_PARAMS[name]))


def org_key(org: str) -> str:
    return ORG_PREFIX + org


def currency_key(code: str) -> str:
    return CURRENCY_PREFIX + code


def get_org(ctx: Context, org: str) -> dict[str, Any]:
    """The organization's record, a copy the caller may change and put back."""
    return dict(read_org(ctx, org))


def read_org(ctx: Context, org: str) -> Mapping[str, Any]:
    """The organization's record, to read only: compliance asks it several times per call."""
    record = ctx.get(org_key(org))
    ensure(record is not None, "UNKNOWN_ORG", f"no organization {org!r}")
    return cast(Mapping[str, Any], record)


def get_currency(ctx: Context, code: str) -> dict[str, Any]:
    record = ctx.get(currency_key(code))
    ensure(record is not None, "UNKNOWN_CURRENCY", f"currency {code} is not on this chain")
    return dict(record)


def require_active(ctx: Context, org: str) -> Mapping[str, Any]:
    record = read_org(ctx, org)
    ensure(not record.get("suspended", False), "ORG_SUSPENDED", f"organization {org} is suspended")
    return record


def bank_ids(ctx: Context) -> list[str]:
    return list(ctx.get(BANKS_KEY, []))


def genesis_state(genesis: Genesis) -> dict[str, Any]:
    """The registry's initial state, written once when a node first opens its store."""
    writes: dict[str, Any] = {}
    for org in genesis.orgs:
        writes[org_key(org.id)] = {
            "id": org.id,
            "name": org.name,
            "kind": org.kind,
            "jurisdiction": org.jurisdiction,
            "keys": [{"public": key.public, "role": key.role} for key in org.keys],
            "kyc_expires": org.kyc_expires,
            "sanctioned": org.sanctioned,
            "suspended": False,
            "daily_limits": dict(org.daily_limits),
        }
        for key in org.keys:
            writes["reg/key/" + key.public.hex()] = {"org": org.id, "role": key.role}
    for cur in genesis.currencies:
        writes[currency_key(cur.code)] = {
            "code": cur.code,
            "decimals": cur.decimals,
            "issuers": list(cur.issuers),
        }
    writes[BANKS_KEY] = sorted(org.id for org in genesis.orgs if org.kind == "bank")
    for name in CONTRACT_PARAMS:
        if genesis.params[name] != DEFAULT_PARAMS[name]:
            writes[param_key(name)] = genesis.params[name]
    return writes


@method(
    "registry",
    "add_key",
    {"org": org_id, "public": bin32, "role": one_of(*KEY_ROLES)},
    roles=("admin",),
)
def add_key(ctx: Context, org: str, public: bytes, role: str) -> None:
    """An organization's admin adds a key to its own organization."""
    ensure(org == ctx.sender_org, "NOT_AUTHORIZED", "admins manage only their own organization")
    record = get_org(ctx, org)
    ensure(ctx.get("reg/key/" + public.hex()) is None, "KEY_EXISTS", "key already registered")
    record["keys"] = [*record["keys"], {"public": public, "role": role}]
    ctx.put(org_key(org), record)
    ctx.put("reg/key/" + public.hex(), {"org": org, "role": role})
    ctx.emit("key_added", org=org, public=public.hex(), role=role)


@method("registry", "remove_key", {"org": org_id, "public": bin32}, roles=("admin",))
def remove_key(ctx: Context, org: str, public: bytes) -> None:
    """An organization's admin removes one of its keys (never its last admin key)."""
    ensure(org == ctx.sender_org, "NOT_AUTHORIZED", "admins manage only their own organization")
    drop_key(ctx, org, public)


def keys_without(ctx: Context, org: str, public: bytes) -> list[dict[str, Any]]:
    """`org`'s keys but `public`: UNKNOWN_KEY unless it is one of them, LAST_ADMIN if no admin
    key would be left. Governance asks it when `remove_key` is proposed, to fail early."""
    entry = ctx.get(KEY_PREFIX + public.hex())
    ensure(entry is not None and entry["org"] == org, "UNKNOWN_KEY", "no such key in organization")
    keys = [k for k in read_org(ctx, org)["keys"] if k["public"] != public]
    ensure(any(k["role"] == "admin" for k in keys), "LAST_ADMIN", "cannot remove the last admin")
    return keys


def drop_key(ctx: Context, org: str, public: bytes) -> None:
    """Take `public` from `org`: its own admin's call, or governance's (`remove_key` action).

    The last admin key stays: an organization without one could never manage its keys again.
    A compromised only admin key is answered by `suspend_org` until the organization adds a
    fresh admin key and governance removes the old one. The refusal and the event keep the
    words they had before governance could call this, so replayed receipts stay the same.
    """
    record = get_org(ctx, org)
    record["keys"] = keys_without(ctx, org, public)
    ctx.put(org_key(org), record)
    ctx.delete(KEY_PREFIX + public.hex())
    ctx.emit("key_removed", org=org, public=public.hex())
