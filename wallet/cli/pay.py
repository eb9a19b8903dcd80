"""`tally pay TO AMOUNT CURRENCY`: a plain transfer, an ISO-detailed payment, or one through an
FX quote (payment versus payment).

Amounts are written as people write them ("50,000.00") and converted with the currency's
decimals from the node. Every write waits for the receipt and prints what the contract returned.
"""

from __future__ import annotations

import secrets
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli.common import Session, call, client_options
from wallet.cli.rates import base_needed, format_rate


def party(name: str | None, account: str | None, country: str | None) -> dict[str, str]:
    fields = {"name": name, "account": account, "country": country}
    return {k: v for k, v in fields.items() if v}


def _pay_plain(session: Session, to: str, minor: int, currency: str, memo: str) -> None:
    args: dict[str, Any] = {"currency": currency, "to": to, "amount": minor}
    if memo:  # cash.transfer refuses an explicit empty memo
        args["memo"] = memo
    call(session, "cash", "transfer", args)
    session.output(args, f"paid {session.format_amount(minor, currency)} to {to}")


def _pay_direct(session: Session, details: dict[str, Any], minor: int, currency: str) -> None:
    result = call(session, "payments", "send", {**details, "currency": currency, "amount": minor})
    human = f"payment {result['id']}: {session.format_amount(minor, currency)} to {details['to']}"
    session.output({**result, **details, "amount": minor, "currency": currency}, human)


def _pay_fx(
    session: Session, details: dict[str, Any], minor: int, currency: str, quote_id: str
) -> None:
    """Through a quote: `currency` is its base (what is paid) or its quote (what arrives)."""
    quote = session.client.get(f"/v1/fx/quotes/{quote_id}")
    if currency == quote["quote"]:
        base_amount = base_needed(
            minor, quote["rate"], session.decimals(quote["base"]), session.decimals(currency)
        )
    elif currency == quote["base"]:
        base_amount = minor
    else:
        raise TallyError("WRONG_CURRENCY", f"quote {quote_id} is {quote['base']}→{quote['quote']}")
    result = call(
        session, "payments", "send_fx", {**details, "quote": quote_id, "base_amount": base_amount}
    )
    human = (
        f"payment {result['id']}: paid {session.format_amount(base_amount, quote['base'])} "
        f"to {quote['dealer']}, {details['to']} received "
        f"{session.format_amount(result['credit'], quote['quote'])} at {format_rate(quote['rate'])}"
    )
    session.output({**result, **details, "base_amount": base_amount}, human)


@click.command("pay")
@click.argument("to")
@click.argument("amount")
@click.argument("currency")
@click.option("--fx", "quote_id", help="Pay through this FX quote (PvP, payments.send_fx).")
@click.option("--plain", is_flag=True, help="A simple cash.transfer, without ISO details.")
@click.option("--e2e", "end_to_end_id", help="End-to-end id (default: generated).")
@click.option("--purpose", default="GDDS", show_default=True, help="ISO purpose code or text.")
@click.option("--remittance", default="", help="Remittance information (≤ 140 chars).")
@click.option("--memo", default="", help="Memo of a --plain transfer.")
@click.option("--originator-name")
@click.option("--originator-account")
@click.option("--beneficiary-name")
@click.option("--beneficiary-account")
@client_options()
def pay(
    to: str,
    amount: str,
    currency: str,
    quote_id: str | None,
    plain: bool,
    end_to_end_id: str | None,
    purpose: str,
    remittance: str,
    memo: str,
    originator_name: str | None,
    originator_account: str | None,
    beneficiary_name: str | None,
    beneficiary_account: str | None,
    session: Session,
) -> None:
    """Pay TO AMOUNT CURRENCY. With --fx, CURRENCY may be the quote's base (what you pay) or
    its quote currency (what TO receives; the base amount is worked out, rounded up)."""
    currency = currency.upper()
    minor = session.parse_amount(amount, currency)
    if plain:
        _pay_plain(session, to, minor, currency, memo)
        return
    details: dict[str, Any] = {
        "to": to,
        "end_to_end_id": end_to_end_id or "TALLY-" + secrets.token_hex(8).upper(),
        "purpose": purpose,
        **({"remittance": remittance} if remittance else {}),
        "originator": party(originator_name, originator_account, None),
        "beneficiary": party(beneficiary_name, beneficiary_account, None),
    }
    if quote_id is None:
        _pay_direct(session, details, minor, currency)
    else:
        _pay_fx(session, details, minor, currency, quote_id)


COMMANDS = [pay]
