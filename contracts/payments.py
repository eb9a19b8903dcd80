"""Payments: same-currency, or payment-versus-payment against a dealer bank's FX quote.

Both legs of an FX payment run in one contract call, so the runtime's all-or-nothing rule makes
it PvP: if either leg fails (funds, compliance, quote), neither balance moves.

State:
  pay/rec/<id>                      -> the payment record (parties, legs, rate, ISO fields, tx)
  pay/by_org/<org>/<height:016d>/<id> -> {roles: [...]}  (per-org index, oldest first)
  pay/e2e/<payer>/<end_to_end_id>   -> payment id  (one payment per end-to-end id and payer)
  pay/used/...                      -> daily usage, see contracts/xborder_rules.py
"""

from __future__ import annotations

from typing import Any

from contracts import cash, fx
from contracts.args import Optional, Validator, amount, currency, hex_id, optional, org_id, text
from contracts.errors import ensure
from contracts.registry import get_currency
from contracts.runtime import Context, method
from contracts.xborder_rules import (
    consume_daily_limit,
    party,
    purpose,
    require_compliant,
    with_defaults,
)

ISO_FIELDS: dict[str, Validator | Optional] = {
    "end_to_end_id": text(35),  # PmtId/EndToEndId, Max35Text
    "purpose": purpose,  # Purp/Cd (4 capitals) or Purp/Prtry (Max35Text)
    "remittance": optional(text(140, 0), ""),  # RmtInf/Ustrd, Max140Text; "" = none
    "originator": optional(party, {}),
    "beneficiary": optional(party, {}),
}


def record_key(payment_id: str) -> str:
    return "pay/rec/" + payment_id


def index_prefix(org: str) -> str:
    return f"pay/by_org/{org}/"


def _index(ctx: Context, payment_id: str, roles: dict[str, list[str]]) -> None:
    for org in sorted(roles):
        key = f"{index_prefix(org)}{ctx.height:016d}/{payment_id}"
        ctx.put(key, {"id": payment_id, "roles": sorted(roles[org])})


def _prepare(
    ctx: Context, to: str, end_to_end_id: str, debit_currency: str, debit_amount: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compliance of both parties, the e2e id's uniqueness, and the payer's daily limit."""
    payer_id = ctx.sender_org
    ensure(to != payer_id, "SELF_PAYMENT", "a payment needs two different parties")
    payer = require_compliant(ctx, payer_id)
    payee = require_compliant(ctx, to)
    e2e_key = f"pay/e2e/{payer_id}/{end_to_end_id}"
    ensure(
        ctx.get(e2e_key) is None,
        "DUPLICATE_PAYMENT",
        f"{payer_id} already sent a payment with end-to-end id {end_to_end_id!r}",
    )
    consume_daily_limit(ctx, payer, debit_currency, debit_amount)
    return payer, payee


def _store(ctx: Context, record: dict[str, Any], roles: dict[str, list[str]]) -> str:
    payment_id = ctx.new_id()
    record = {
        "id": payment_id,
        "tx": ctx.tx_id.hex(),
        "height": ctx.height,
        "time_ms": ctx.time_ms,
        "date": ctx.today(),
        **record,
    }
    ctx.put(record_key(payment_id), record)
    ctx.put(f"pay/e2e/{record['payer']}/{record['end_to_end_id']}", payment_id)
    _index(ctx, payment_id, roles)
    return payment_id


@method(
    "payments",
    "send",
    {"to": org_id, "currency": currency, "amount": amount, **ISO_FIELDS},
)
def send(
    ctx: Context,
    to: str,
    currency: str,
    amount: int,
    end_to_end_id: str,
    purpose: str,
    remittance: str,
    originator: dict[str, str],
    beneficiary: dict[str, str],
) -> dict[str, str]:
    """Pay `amount` of `currency` to `to`, with compliance checks and ISO 20022 details."""
    get_currency(ctx, currency)
    payer, payee = _prepare(ctx, to, end_to_end_id, currency, amount)
    cash.move(ctx, currency, payer["id"], to, amount)
    legs = [{"currency": currency, "from": payer["id"], "to": to, "amount": amount}]
    payment_id = _store(
        ctx,
        {
            "kind": "send",
            "payer": payer["id"],
            "payee": to,
            "currency": currency,
            "amount": amount,
            "credit_currency": currency,
            "credit_amount": amount,
            "rate": None,
            "quote": None,
            "dealer": None,
            "legs": legs,
            "end_to_end_id": end_to_end_id,
            "purpose": purpose,
            "remittance": remittance,
            "originator": with_defaults(originator, payer),
            "beneficiary": with_defaults(beneficiary, payee),
        },
        {payer["id"]: ["sent"], to: ["received"]},
    )
    ctx.emit(
        "payment", id=payment_id, payer=payer["id"], payee=to, currency=currency, amount=amount
    )
    return {"id": payment_id}


@method(
    "payments",
    "send_fx",
    {"to": org_id, "quote": hex_id, "base_amount": amount, **ISO_FIELDS},
)
def send_fx(
    ctx: Context,
    to: str,
    quote: str,
    base_amount: int,
    end_to_end_id: str,
    purpose: str,
    remittance: str,
    originator: dict[str, str],
    beneficiary: dict[str, str],
) -> dict[str, Any]:
    """PvP: the payer's base currency to the dealer and the dealer's quote currency to `to`."""
    record, credit = fx.take(ctx, quote, base_amount)
    dealer = record["dealer"]
    require_compliant(ctx, dealer)
    payer, payee = _prepare(ctx, to, end_to_end_id, record["base"], base_amount)
    cash.move(ctx, record["base"], payer["id"], dealer, base_amount)
    cash.move(ctx, record["quote"], dealer, to, credit)
    legs = [
        {"currency": record["base"], "from": payer["id"], "to": dealer, "amount": base_amount},
        {"currency": record["quote"], "from": dealer, "to": to, "amount": credit},
    ]
    roles: dict[str, list[str]] = {payer["id"]: ["sent"], to: ["received"]}
    roles.setdefault(dealer, []).append("dealer")
    payment_id = _store(
        ctx,
        {
            "kind": "fx",
            "payer": payer["id"],
            "payee": to,
            "currency": record["base"],
            "amount": base_amount,
            "credit_currency": record["quote"],
            "credit_amount": credit,
            "rate": record["rate"],
            "quote": quote,
            "dealer": dealer,
            "legs": legs,
            "end_to_end_id": end_to_end_id,
            "purpose": purpose,
            "remittance": remittance,
            "originator": with_defaults(originator, payer),
            "beneficiary": with_defaults(beneficiary, payee),
        },
        roles,
    )
    ctx.emit(
        "payment_fx",
        id=payment_id,
        payer=payer["id"],
        payee=to,
        dealer=dealer,
        quote=quote,
        base=record["base"],
        base_amount=base_amount,
        credit_currency=record["quote"],
        credit=credit,
        rate=record["rate"],
    )
    return {"id": payment_id, "credit": credit}
