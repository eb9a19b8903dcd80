"""`tally netting open|submit|settle|show|export`: multilateral netting windows among banks.

Times given in seconds from now become block-time milliseconds.
"""

from __future__ import annotations

from typing import Any

import click

from wallet.cli.common import Session, call, client_options, write_out


@click.group("netting")
def netting_group() -> None:
    """Multilateral netting windows among banks."""


@netting_group.command("open")
@click.argument("currency")
@click.option("--participants", required=True, help="Comma-separated bank ids.")
@click.option("--close-in", default=3600, show_default=True, help="Seconds until the close.")
@client_options()
def netting_open(currency: str, participants: str, close_in: int, session: Session) -> None:
    """Open a window in CURRENCY."""
    args = {
        "currency": currency.upper(),
        "participants": [p.strip() for p in participants.split(",") if p.strip()],
        "close_ms": session.client.clock_ms() + close_in * 1000,
    }
    result = call(session, "netting", "open", args)
    session.output({**result, **args}, f"window {result['id']} open")


@netting_group.command("submit")
@click.argument("window")
@click.argument("to")
@click.argument("amount")
@click.option("--ref", default="")
@client_options()
def netting_submit(window: str, to: str, amount: str, ref: str, session: Session) -> None:
    """Record that you owe TO AMOUNT in the window's currency."""
    code = session.client.get(f"/v1/netting/{window}?limit=0")["currency"]
    minor = session.parse_amount(amount, code)
    args: dict[str, Any] = {"window": window, "to": to, "amount": minor}
    if ref:
        args["ref"] = ref
    call(session, "netting", "submit", args)
    session.output(args, f"owed {to} {session.format_amount(minor, code)}")


@netting_group.command("settle")
@click.argument("window")
@client_options()
def netting_settle(window: str, session: Session) -> None:
    """Settle the nets of a closed window, all at once."""
    code = session.client.get(f"/v1/netting/{window}?limit=0")["currency"]
    result = call(session, "netting", "settle", {"window": window})

    def human(r: dict[str, Any]) -> str:
        lines = [
            f"gross {session.format_amount(r['gross'], code)}, "
            f"net {session.format_amount(r['net'], code)}"
        ]
        lines += [f"  {o:<10} {session.format_amount(v, code)}" for o, v in r["positions"].items()]
        return "\n".join(lines)

    session.output(result, human)


@netting_group.command("show")
@click.argument("window")
@client_options(signing=False)
def netting_show(window: str, session: Session) -> None:
    """A window: status, positions, obligations."""
    session.output(session.client.get(f"/v1/netting/{window}"))


@netting_group.command("export")
@click.argument("window")
@click.option("-o", "--out")
@client_options(signing=False)
def netting_export(window: str, out: str | None, session: Session) -> None:
    """A settled window's net transfers as pacs.009.001.09 XML."""
    write_out(session.client.get_bytes(f"/v1/netting/{window}/iso20022"), out)


COMMANDS = [netting_group]
