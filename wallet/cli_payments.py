"""`tally pay`, `tally payment`, `tally fx`; and (from cli_payments_banks) the bank groups
`tally netting`, `tally cash`, `tally governance`.

Amounts are written as people write them ("50,000.00") and converted with the currency's
decimals from the node; rates as decimals ("0.12820513", converted exactly to ×10^8). Every
write waits for the receipt and prints what the contract returned.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli_common import Session, client_options
from wallet.cli_payments_banks import cash_group, governance_group, netting_group
from wallet.cli_payments_common import (
    base_needed,
    call,
    fetch_raw,
    format_rate,
    parse_rate,
    party,
    write_out,
)

# -- tally pay ---------------------------------------------------------------------------------


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
        args: dict[str, Any] = {"currency": currency, "to": to, "amount": minor}
        if memo:  # cash.transfer refuses an explicit empty memo
            args["memo"] = memo
        call(session, "cash", "transfer", args)
        session.output(args, f"paid {session.format_amount(minor, currency)} to {to}")
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
        result = call(
            session, "payments", "send", {**details, "currency": currency, "amount": minor}
        )
        human = f"payment {result['id']}: {session.format_amount(minor, currency)} to {to}"
        session.output({**result, **details, "amount": minor, "currency": currency}, human)
        return
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
        f"to {quote['dealer']}, {to} received "
        f"{session.format_amount(result['credit'], quote['quote'])} at {format_rate(quote['rate'])}"
    )
    session.output({**result, **details, "base_amount": base_amount}, human)


# -- tally payment -----------------------------------------------------------------------------


@click.group("payment")
def payment_group() -> None:
    """Look up payments and export them as ISO 20022 pacs.008."""


@payment_group.command("show")
@click.argument("payment_id")
@client_options(signing=False)
def payment_show(payment_id: str, session: Session) -> None:
    """A payment: parties, legs, rate, ISO fields, tx and height."""
    record = session.client.get(f"/v1/payments/{payment_id}")

    def human(p: dict[str, Any]) -> str:
        lines = [f"payment {p['id']} ({p['kind']}) at height {p['height']}, tx {p['tx']}"]
        for leg in p["legs"]:
            shown = session.format_amount(leg["amount"], leg["currency"])
            lines.append(f"  {leg['from']} -> {leg['to']}: {shown}")
        if p.get("rate"):
            lines.append(f"  rate {format_rate(p['rate'])} (quote {p['quote']})")
        lines.append(f"  end-to-end {p['end_to_end_id']}, purpose {p['purpose']}")
        if p.get("remittance"):
            lines.append(f"  remittance {p['remittance']}")
        return "\n".join(lines)

    session.output(record, human)


@payment_group.command("list")
@click.option("--org", required=True)
@click.option("--role", type=click.Choice(["sent", "received", "dealer"]))
@click.option("--cursor", default="")
@click.option("--limit", default=20, show_default=True)
@client_options(signing=False)
def payment_list(org: str, role: str | None, cursor: str, limit: int, session: Session) -> None:
    """An organization's payments, newest first."""
    query = f"/v1/payments?org={org}&limit={limit}&cursor={cursor}" + (
        f"&role={role}" if role else ""
    )
    page = session.client.get(query)

    def human(answer: dict[str, Any]) -> str:
        lines = [
            f"{p['id'][:16]}  {','.join(p['roles']):<9} {p['payer']} -> {p['payee']}  "
            f"{session.format_amount(p['credit_amount'], p['credit_currency'])}"
            for p in answer["payments"]
        ]
        if answer["next"]:
            lines.append(f"more: --cursor {answer['next']}")
        return "\n".join(lines) or "no payments"

    session.output(page, human)


@payment_group.command("export")
@click.argument("payment_id")
@click.option("-o", "--out", help="Write the XML here (default: stdout).")
@client_options(signing=False)
def payment_export(payment_id: str, out: str | None, session: Session) -> None:
    """The payment as pacs.008.001.09 XML."""
    write_out(fetch_raw(session, f"/v1/payments/{payment_id}/iso20022"), out)


# -- tally fx ----------------------------------------------------------------------------------


@click.group("fx")
def fx_group() -> None:
    """Firm FX quotes posted by banks."""


@fx_group.command("quote")
@click.argument("base")
@click.argument("quote")
@click.argument("rate")
@click.option("--max", "max_base", required=True, help="Most base currency the quote buys.")
@click.option("--ttl", default=3600, show_default=True, help="Seconds until it expires.")
@client_options()
def fx_quote(base: str, quote: str, rate: str, max_base: str, ttl: int, session: Session) -> None:
    """Post BASE→QUOTE at RATE (QUOTE units per 1 BASE, e.g. 0.12820513)."""
    base, quote = base.upper(), quote.upper()
    args = {
        "base": base,
        "quote": quote,
        "rate": parse_rate(rate),
        "max_base": session.parse_amount(max_base, base),
        "expires_ms": int(time.time() * 1000) + ttl * 1000,
    }
    result = call(session, "fx", "quote", args)
    session.output({**result, **args}, f"quote {result['id']}: {base}→{quote} at {rate}")


@fx_group.command("withdraw")
@click.argument("quote_id")
@client_options()
def fx_withdraw(quote_id: str, session: Session) -> None:
    """Take a quote off the market."""
    call(session, "fx", "withdraw", {"id": quote_id})
    session.output({"id": quote_id, "status": "withdrawn"}, f"quote {quote_id} withdrawn")


@fx_group.command("list")
@click.option("--base")
@click.option("--quote")
@client_options(signing=False)
def fx_list(base: str | None, quote: str | None, session: Session) -> None:
    """Open quotes."""
    query = "&".join(f"{k}={v.upper()}" for k, v in (("base", base), ("quote", quote)) if v)
    answer = session.client.get("/v1/fx/quotes" + (f"?{query}" if query else ""))

    def human(a: dict[str, Any]) -> str:
        return (
            "\n".join(
                f"{q['id']}  {q['dealer']:<8} {q['base']}→{q['quote']} {format_rate(q['rate'])}  "
                f"left {session.format_amount(q['remaining'], q['base'])}"
                for q in a["quotes"]
            )
            or "no open quotes"
        )

    session.output(answer, human)


COMMANDS = [pay, payment_group, fx_group, netting_group, cash_group, governance_group]
