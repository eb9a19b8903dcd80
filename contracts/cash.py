"""Deposit tokens: a bank's money on chain, one balance per (currency, organization).

State: cash/bal/<currency>/<org> -> int, cash/supply/<currency> -> int,
cash/held/<currency>/<org> -> int: money owed to a sanctioned organization, taken from its
payer but held, blocked, until the sanction is lifted (contracts/holds.py), and
cash/locked/<currency> -> int: everything locked in open escrows (contracts/escrow.py). The
supply is every balance plus everything held plus everything locked. Only a currency's
issuing banks issue (against an off-chain deposit); `redeem` burns the caller's tokens for
off-chain payout. `move` is the one place balances change hands, `hold`/`release` the one
place money enters and leaves a hold, and `lock`/`unlock` the one place it enters and leaves
an escrow; other contracts call them, and each applies compliance (contracts/compliance.py)
before a balance changes. Supply and every balance stay within MAX_AMOUNT
(contracts/amounts.py).
"""

from __future__ import annotations

from typing import NoReturn

from contracts import compliance
from contracts.amounts import add, subtract
from contracts.args import amount, currency, optional, org_id, text
from contracts.errors import ensure, fail
from contracts.registry import get_currency, require_active
from contracts.runtime import Context, method
from contracts.wording import money
from ledger.state_keys import balance_key


def supply_key(code: str) -> str:
    return f"cash/supply/{code}"


def held_key(code: str, org: str) -> str:
    return f"cash/held/{code}/{org}"


def locked_key(code: str) -> str:
    return f"cash/locked/{code}"


def balance(ctx: Context, code: str, org: str) -> int:
    return int(ctx.get(balance_key(code, org), 0))


def supply(ctx: Context, code: str) -> int:
    return int(ctx.get(supply_key(code), 0))


def held_for(ctx: Context, code: str, org: str) -> int:
    """What is held, blocked, for `org` in `code`: paid by its debtors, not yet received."""
    return int(ctx.get(held_key(code, org), 0))


def locked(ctx: Context, code: str) -> int:
    """What is locked in open escrows in `code`, all payers together."""
    return int(ctx.get(locked_key(code), 0))


def _credit(ctx: Context, code: str, org: str, value: int) -> None:
    held = add(balance(ctx, code, org), value, f"the {code} balance of {org}")
    ctx.put(balance_key(code, org), held)


def _require_funds(ctx: Context, code: str, org: str, value: int) -> int:
    """What `org` holds in `code`, at least `value`, or INSUFFICIENT_FUNDS in people's units."""
    held = balance(ctx, code, org)
    if held < value:
        _insufficient(ctx, code, org, held, value)
    return held


def _insufficient(ctx: Context, code: str, org: str, held: int, needed: int) -> NoReturn:
    fail(
        "INSUFFICIENT_FUNDS",
        f"{org} holds {money(ctx, code, held)}, needs {money(ctx, code, needed)}",
        {"currency": code, "held": held, "needed": needed},
    )


def _debit(ctx: Context, code: str, org: str, value: int) -> None:
    held = _require_funds(ctx, code, org, value)
    ctx.put(balance_key(code, org), held - value)


def move(ctx: Context, code: str, payer: str, payee: str, value: int) -> None:
    """Move `value` of `code` from `payer` to `payee`, once compliance allows it; counted
    against the payer's daily limit. INSUFFICIENT_FUNDS if the payer lacks it."""
    ensure(value > 0, "BAD_ARGUMENT", "amount must be positive")
    get_currency(ctx, code)
    require_active(ctx, payee)
    if payer == payee:
        compliance.require_movement(ctx, payer, payee)
        _require_funds(ctx, code, payer, value)
        return
    compliance.require_outgoing(ctx, code, payer, payee, value)
    _debit(ctx, code, payer, value)
    _credit(ctx, code, payee, value)


def hold(ctx: Context, code: str, payer: str, beneficiary: str, value: int) -> None:
    """Take `value` from `payer` into the hold of `beneficiary`, a sanctioned organization.

    For the payer it is paid (its balance and daily count go down and up); the beneficiary
    receives nothing until `release`.
    """
    ensure(value > 0, "BAD_ARGUMENT", "amount must be positive")
    get_currency(ctx, code)
    compliance.require_outgoing(ctx, code, payer, None, value)
    _debit(ctx, code, payer, value)
    blocked = add(held_for(ctx, code, beneficiary), value, f"the {code} held for {beneficiary}")
    ctx.put(held_key(code, beneficiary), blocked)


def release(ctx: Context, code: str, beneficiary: str, value: int) -> None:
    """Pay `value` out of the hold of `beneficiary` to it: its sanction was lifted."""
    blocked = held_for(ctx, code, beneficiary)
    if not 0 < value <= blocked:
        fail(
            "BAD_RECORD",
            f"{beneficiary} has {money(ctx, code, blocked)} held, a release of "
            f"{money(ctx, code, value)} was asked",
            {"currency": code, "held": blocked, "asked": value},
        )
    if blocked == value:
        ctx.delete(held_key(code, beneficiary))
    else:
        ctx.put(held_key(code, beneficiary), blocked - value)
    _credit(ctx, code, beneficiary, value)


def lock(ctx: Context, code: str, payer: str, payee: str, value: int) -> None:
    """Take `value` of `code` from `payer` into an escrow for `payee`, once compliance allows
    the movement. For the payer it is paid now (balance and daily count); nobody holds it
    until `unlock` pays it to the payee or back to the payer."""
    ensure(value > 0, "BAD_ARGUMENT", "amount must be positive")
    get_currency(ctx, code)
    require_active(ctx, payee)
    compliance.require_outgoing(ctx, code, payer, payee, value)
    _debit(ctx, code, payer, value)
    ctx.put(locked_key(code), add(locked(ctx, code), value, f"the {code} locked in escrow"))


def unlock(ctx: Context, code: str, receiver: str, value: int) -> None:
    """Pay `value` of `code` out of escrow to `receiver`: the payee on a release, the payer on
    a cancel. Which end's compliance applies is the escrow's rule (contracts/escrow.py)."""
    total = locked(ctx, code)
    if not 0 < value <= total:
        fail(
            "BAD_RECORD",
            f"{money(ctx, code, total)} is locked in escrow, an unlock of "
            f"{money(ctx, code, value)} was asked",
            {"currency": code, "locked": total, "asked": value},
        )
    if total == value:
        ctx.delete(locked_key(code))
    else:
        ctx.put(locked_key(code), total - value)
    _credit(ctx, code, receiver, value)


@method("cash", "issue", {"currency": currency, "to": org_id, "amount": amount}, kinds=("bank",))
def issue(ctx: Context, currency: str, to: str, amount: int) -> None:
    """The currency's issuing bank mints deposit tokens to an organization."""
    record = get_currency(ctx, currency)
    ensure(ctx.sender_org in record["issuers"], "NOT_ISSUER", f"not an issuer of {currency}")
    require_active(ctx, to)
    # Minting takes nothing from the issuer's balance, so its daily limit is not counted.
    compliance.require_movement(ctx, ctx.sender_org, to)
    ctx.put(supply_key(currency), add(supply(ctx, currency), amount, f"the {currency} supply"))
    _credit(ctx, currency, to, amount)
    ctx.emit("issued", currency=currency, to=to, amount=amount, by=ctx.sender_org)


@method(
    "cash",
    "transfer",
    {"currency": currency, "to": org_id, "amount": amount, "memo": optional(text(140, 0), "")},
)
def transfer(ctx: Context, currency: str, to: str, amount: int, memo: str) -> None:
    """The caller pays another organization from its balance."""
    move(ctx, currency, ctx.sender_org, to, amount)
    ctx.emit(
        "transferred", currency=currency, payer=ctx.sender_org, to=to, amount=amount, memo=memo
    )


@method("cash", "redeem", {"currency": currency, "amount": amount})
def redeem(ctx: Context, currency: str, amount: int) -> None:
    """Burn the caller's tokens; the issuing bank pays the deposit out off chain."""
    get_currency(ctx, currency)
    compliance.require_outgoing(ctx, currency, ctx.sender_org, None, amount)
    held = _require_funds(ctx, currency, ctx.sender_org, amount)
    ctx.put(balance_key(currency, ctx.sender_org), held - amount)
    ctx.put(supply_key(currency), subtract(supply(ctx, currency), amount, f"the {currency} supply"))
    ctx.emit("redeemed", currency=currency, org=ctx.sender_org, amount=amount)
