"""`tally fx quote|withdraw|list`: firm FX quotes posted by banks, rates exact to 10^-8."""

from __future__ import annotations

from typing import Any

import click

from wallet.cli.common import Session, call, client_options
from wallet.cli.rates import format_rate, parse_rate


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
        "expires_ms": session.client.clock_ms() + ttl * 1000,
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


COMMANDS = [fx_group]
