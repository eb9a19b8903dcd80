"""`tally cash issue|redeem`: issuing banks mint and burn deposit tokens."""

from __future__ import annotations

import click

from wallet.cli.common import Session, call, client_options


@click.group("cash")
def cash_group() -> None:
    """Deposit tokens: issuing banks mint and burn them."""


@cash_group.command("issue")
@click.argument("currency")
@click.argument("to")
@click.argument("amount")
@client_options()
def cash_issue(currency: str, to: str, amount: str, session: Session) -> None:
    """Mint AMOUNT of CURRENCY to TO (issuing bank only)."""
    code = currency.upper()
    minor = session.parse_amount(amount, code)
    args = {"currency": code, "to": to, "amount": minor}
    call(session, "cash", "issue", args)
    session.output(args, f"issued {session.format_amount(minor, code)} to {to}")


@cash_group.command("redeem")
@click.argument("currency")
@click.argument("amount")
@client_options()
def cash_redeem(currency: str, amount: str, session: Session) -> None:
    """Burn AMOUNT of your CURRENCY tokens for an off-chain payout."""
    code = currency.upper()
    minor = session.parse_amount(amount, code)
    args = {"currency": code, "amount": minor}
    call(session, "cash", "redeem", args)
    session.output(args, f"redeemed {session.format_amount(minor, code)}")


COMMANDS = [cash_group]
