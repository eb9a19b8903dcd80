"""Payments: same-currency, or payment-versus-payment against a dealer bank's FX quote.

Both legs of an FX payment run in one contract call, so the runtime's all-or-nothing rule makes
it PvP: if either leg fails (funds, compliance, quote), neither balance moves.

State:
  pay/rec/<id>                      -> `Payment` (contracts/payments_records.py): parties, legs,
                                       rate, ISO fields, tx
  pay/by_org/<org>/<height:016d>/<id> -> {roles: [...]}  (per-org index, oldest first)
  pay/e2e/<payer>/<end_to_end_id>   -> payment id  (one payment per end-to-end id and payer)
  pay/used/...                      -> the daily-limit counter, see contracts/compliance.py
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import cash, fx
from contracts.args import Optional, Validator, amount, currency, hex_id, optional, org_id, text
from contracts.compliance import require_compliant
from contracts.errors import ensure
from contracts.payments_records import Leg, Payment
from contracts.registry import get_currency
from contracts.runtime import Context, method
from contracts.xborder_rules import party, purpose, with_defaults

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
    """Where an organization's payments are listed: `<prefix><height:016d>/<id> -> {id, roles}`."""
    return f"pay/by_org/{org}/"


def end_to_end_key(payer: str, end_to_end_id: str) -> str:
    return f"pay/e2e/{payer}/{end_to_end_id}"


def _index(ctx: Context, payment_id: str, roles: dict[str, list[str]]) -> None:
    for org in sorted(roles):
        key = f"{index_prefix(org)}{ctx.height:016d}/{payment_id}"
        ctx.put(key, {"id": payment_id, "roles": sorted(roles[org])})


def _prepare(
    ctx: Context, to: str, end_to_end_id: str, dealer: str | None = None
) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The e2e id's uniqueness, then compliance of payer, beneficiary (and dealer); each leg's
    `cash.move` then counts it against its payer's daily limit."""
    payer_id = ctx.sender_org
    ensure(to != payer_id, "SELF_PAYMENT", "a payment needs two different parties")
    ensure(
        ctx.get(end_to_end_key(payer_id, end_to_end_id)) is None,
        "DUPLICATE_PAYMENT",
        f"{payer_id} already sent a payment with end-to-end id {end_to_end_id!r}",
    )
    parties = require_compliant(ctx, payer_id, to, *([] if dealer is None else [dealer]))
    return parties[0], parties[1]


def _origin(ctx: Context) -> dict[str, Any]:
    """The fields every payment takes from its tx: a fresh id, the tx, height, time, date."""
    return {
        "id": ctx.new_id(),
        "tx": ctx.tx_id.hex(),
        "height": ctx.height,
        "time_ms": ctx.time_ms,
        "date": ctx.today(),
    }


def _store(ctx: Context, payment: Payment, roles: dict[str, list[str]]) -> str:
    ctx.put(record_key(payment.id), payment.to_value())
    ctx.put(end_to_end_key(payment.payer, payment.end_to_end_id), payment.id)
    _index(ctx, payment.id, roles)
    return payment.id


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
    payer, payee = _prepare(ctx, to, end_to_end_id)
    cash.move(ctx, currency, payer["id"], to, amount)
    payment = Payment(
        **_origin(ctx),
        kind="send",
        payer=payer["id"],
        payee=to,
        currency=currency,
        amount=amount,
        credit_currency=currency,
        credit_amount=amount,
        rate=None,
        quote=None,
        dealer=None,
        legs=(Leg(currency, payer["id"], to, amount),),
        end_to_end_id=end_to_end_id,
        purpose=purpose,
        remittance=remittance,
        originator=with_defaults(originator, payer),
        beneficiary=with_defaults(beneficiary, payee),
    )
    payment_id = _store(ctx, payment, {payer["id"]: ["sent"], to: ["received"]})
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
    terms, credit = fx.take(ctx, quote, base_amount)
    dealer = terms.dealer
    payer, payee = _prepare(ctx, to, end_to_end_id, dealer)
    cash.move(ctx, terms.base, payer["id"], dealer, base_amount)
    cash.move(ctx, terms.quote, dealer, to, credit)
    roles: dict[str, list[str]] = {payer["id"]: ["sent"], to: ["received"]}
    roles.setdefault(dealer, []).append("dealer")
    payment = Payment(
        **_origin(ctx),
        kind="fx",
        payer=payer["id"],
        payee=to,
        currency=terms.base,
        amount=base_amount,
        credit_currency=terms.quote,
        credit_amount=credit,
        rate=terms.rate,
        quote=quote,
        dealer=dealer,
        legs=(
            Leg(terms.base, payer["id"], dealer, base_amount),
            Leg(terms.quote, dealer, to, credit),
        ),
        end_to_end_id=end_to_end_id,
        purpose=purpose,
        remittance=remittance,
        originator=with_defaults(originator, payer),
        beneficiary=with_defaults(beneficiary, payee),
    )
    payment_id = _store(ctx, payment, roles)
    ctx.emit(
        "payment_fx",
        id=payment_id,
        payer=payer["id"],
        payee=to,
        dealer=dealer,
        quote=quote,
        base=terms.base,
        base_amount=base_amount,
        credit_currency=terms.quote,
        credit=credit,
        rate=terms.rate,
    )
    return {"id": payment_id, "credit": credit}
