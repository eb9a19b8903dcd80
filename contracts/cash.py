"""Deposit tokens: a bank's money on chain, one balance per (currency, organization).

State: cash/bal/<currency>/<org> -> int, cash/supply/<currency> -> int. Only a currency's issuing
banks issue (against an off-chain deposit); `redeem` burns the caller's tokens for off-chain
payout. `move` is the one place balances change hands; other contracts call it. Supply and
every balance stay within MAX_AMOUNT (contracts/amounts.py): an issue past it fails the tx.
"""

from __future__ import annotations

from typing import NoReturn

from contracts.amounts import add, subtract
from contracts.args import amount, currency, optional, org_id, text
from contracts.errors import ensure, fail
from contracts.registry import get_currency, require_active
from contracts.runtime import Context, method
from contracts.wording import money


def balance_key(code: str, org: str) -> str:
    return f"cash/bal/{code}/{org}"


def supply_key(code: str) -> str:
    return f"cash/supply/{code}"


def balance(ctx: Context, code: str, org: str) -> int:
    return int(ctx.get(balance_key(code, org), 0))


def supply(ctx: Context, code: str) -> int:
    return int(ctx.get(supply_key(code), 0))


def _credit(ctx: Context, code: str, org: str, value: int) -> None:
    held = add(balance(ctx, code, org), value, f"the {code} balance of {org}")
    ctx.put(balance_key(code, org), held)


def _insufficient(ctx: Context, code: str, org: str, held: int, needed: int) -> NoReturn:
    fail(
        "INSUFFICIENT_FUNDS",
        f"{org} holds {money(ctx, code, held)}, needs {money(ctx, code, needed)}",
        {"currency": code, "held": held, "needed": needed},
    )


def move(ctx: Context, code: str, payer: str, payee: str, value: int) -> None:
    """Move `value` of `code` from `payer` to `payee`, or fail with INSUFFICIENT_FUNDS."""
    ensure(value > 0, "BAD_ARGUMENT", "amount must be positive")
    get_currency(ctx, code)
    require_active(ctx, payee)
    held = balance(ctx, code, payer)
    if held < value:
        _insufficient(ctx, code, payer, held, value)
    if payer == payee:
        return
    ctx.put(balance_key(code, payer), held - value)
    _credit(ctx, code, payee, value)


@method("cash", "issue", {"currency": currency, "to": org_id, "amount": amount}, kinds=("bank",))
def issue(ctx: Context, currency: str, to: str, amount: int) -> None:
    """The currency's issuing bank mints deposit tokens to an organization."""
    record = get_currency(ctx, currency)
    ensure(ctx.sender_org in record["issuers"], "NOT_ISSUER", f"not an issuer of {currency}")
    require_active(ctx, to)
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
    held = balance(ctx, currency, ctx.sender_org)
    if held < amount:
        _insufficient(ctx, currency, ctx.sender_org, held, amount)
    ctx.put(balance_key(currency, ctx.sender_org), held - amount)
    ctx.put(supply_key(currency), subtract(supply(ctx, currency), amount, f"the {currency} supply"))
    ctx.emit("redeemed", currency=currency, org=ctx.sender_org, amount=amount)
