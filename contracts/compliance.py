"""Compliance on every movement of value, whatever the contract: sanctions, KYC, daily limits.

DESIGN.md §10. Cash (issue, transfer, redeem), receivable pieces (issue, transfer, both sides of
a financing), repayments, payments and net settlements all call this module, so each rule is
written once:

- a sanctioned organization neither gives nor receives value (`SANCTIONED`); a repayment due to
  a sanctioned holder is not refused but held, blocked, on the ledger (contracts/holds.py);
- an organization whose KYC has expired, or that has none on file, initiates nothing that moves
  value and gives nothing away (`KYC_EXPIRED`); payments also need a KYC-valid beneficiary;
- one counter per organization, currency and block date adds up everything the organization
  gives away, in any contract, against its daily limit (`DAILY_LIMIT_EXCEEDED`).

Checks run at block time. Their order is fixed, so a refusal's code follows from the pre-state
alone (tests/unit/test_receivables_stateful.py models it): every sanction check of a movement
comes before any KYC check, and the limit comes last, just before the funds are checked.

State: pay/used/<org>/<currency>/<YYYY-MM-DD> -> minor units the organization gave away that
block date. It keeps the key the payments-only counter had, so what was paid on the day this
rule came in still counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.amounts import add
from contracts.errors import ensure, fail
from contracts.registry import read_org
from contracts.runtime import Context
from contracts.wording import money


def is_sanctioned(ctx: Context, org_id: str) -> bool:
    """The organization is under sanction at block time (money due to it is held)."""
    return bool(read_org(ctx, org_id).get("sanctioned", False))


def kyc_valid(org: Mapping[str, Any], today: str) -> bool:
    """KYC on file and not expired: valid through its expiry date, inclusive."""
    expires = str(org.get("kyc_expires") or "")
    return expires != "" and expires >= today


def require_unsanctioned(ctx: Context, *org_ids: str) -> None:
    """None of the organizations is sanctioned, checked in the order given."""
    for org_id in dict.fromkeys(org_ids):
        ensure(
            not is_sanctioned(ctx, org_id),
            "SANCTIONED",
            f"organization {org_id} is sanctioned",
        )


def require_kyc(ctx: Context, *org_ids: str) -> None:
    """Each organization's KYC is valid on the block date, checked in the order given."""
    today = ctx.today()
    for org_id in dict.fromkeys(org_ids):
        org = read_org(ctx, org_id)
        ensure(
            kyc_valid(org, today),
            "KYC_EXPIRED",
            f"KYC of {org_id} expired on {org.get('kyc_expires') or '(none on file)'}, "
            f"block date {today}",
        )


def require_movement(ctx: Context, giver: str, receiver: str | None) -> None:
    """Value may go from `giver` to `receiver` (None: out of the ledger, or into a hold).

    The caller, the giver and the receiver are unsanctioned; the caller and the giver are
    KYC-valid. The caller is often the giver; when it is not (a holder taking a bank's offer,
    a participant settling a netting window) both are checked.
    """
    parties = [ctx.sender_org, giver] + ([] if receiver is None else [receiver])
    require_unsanctioned(ctx, *parties)
    require_kyc(ctx, ctx.sender_org, giver)


def require_initiator(ctx: Context) -> None:
    """The caller may set value in motion at all: unsanctioned and KYC-valid."""
    require_movement(ctx, ctx.sender_org, None)


def require_compliant(ctx: Context, *org_ids: str) -> list[Mapping[str, Any]]:
    """The parties to a payment, FX quote or net settlement: all active, then all
    unsanctioned, then all KYC-valid. Their registry records, in the order given."""
    orgs = [read_org(ctx, org_id) for org_id in org_ids]
    for org in orgs:
        suspended = bool(org.get("suspended", False))
        ensure(not suspended, "ORG_SUSPENDED", f"organization {org['id']} is suspended")
    require_unsanctioned(ctx, *org_ids)
    require_kyc(ctx, *org_ids)
    return orgs


def used_key(org_id: str, currency: str, day: str) -> str:
    return f"pay/used/{org_id}/{currency}/{day}"


def used_today(ctx: Context, org_id: str, currency: str) -> int:
    """What the organization gave away in `currency` so far on the block date."""
    return int(ctx.get(used_key(org_id, currency, ctx.today()), 0))


def require_within_limit(ctx: Context, org_id: str, currency: str, value: int) -> int:
    """Giving `value` more today keeps the organization within its daily limit in `currency`;
    what it would then have given today. Checks only: `count_outgoing` records it."""
    used = add(used_today(ctx, org_id, currency), value, f"what {org_id} paid in {currency} today")
    limit = dict(read_org(ctx, org_id).get("daily_limits") or {}).get(currency)
    if limit is not None and used > int(limit):
        fail(
            "DAILY_LIMIT_EXCEEDED",
            f"{org_id} would give away {money(ctx, currency, used)} on {ctx.today()}, over its "
            f"limit of {money(ctx, currency, int(limit))}",
            {"currency": currency, "used": used, "limit": int(limit), "day": ctx.today()},
        )
    return used


def count_outgoing(ctx: Context, org_id: str, currency: str, value: int) -> None:
    """Count `value` given away by the organization against its daily limit in `currency`.

    Counted whether or not a limit is set, so a limit set during the day sees the day's
    earlier movements.
    """
    used = require_within_limit(ctx, org_id, currency, value)
    ctx.put(used_key(org_id, currency, ctx.today()), used)


def require_outgoing(
    ctx: Context, currency: str, giver: str, receiver: str | None, value: int
) -> None:
    """One movement of `value` from `giver`: the parties checked, then the giver's limit."""
    require_movement(ctx, giver, receiver)
    count_outgoing(ctx, giver, currency, value)
