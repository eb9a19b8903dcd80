"""`tally netting open|submit|settle|show|export`: multilateral netting windows among banks.

Times given in seconds from now become block-time milliseconds.
"""

from __future__ import annotations

from typing import Any

import click

from wallet.amounts import format_amount
from wallet.cli.common import Session, call, client_options, write_out
from wallet.cli.output import utc_time


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


def window_text(record: dict[str, Any], decimals: int) -> str:
    """A netting window for people: status and close time, totals, each bank's net position,
    the obligations recorded and, once settled, the net transfers."""
    code = record["currency"]

    def money(minor: int) -> str:
        return format_amount(minor, decimals, code)

    lines = [
        f"window {record['id']}  {record['status']}  {code}, opened by {record['opener']} "
        f"in block {record['opened_height']}, closes {utc_time(record['close_ms'])}",
        f"  gross {money(record['gross'])} in {record['count']} obligation(s), "
        f"net {money(record['net'])}",
        "  positions (+ receives, - pays):",
    ]
    lines += [f"    {org:<12} {money(value)}" for org, value in sorted(record["positions"].items())]
    obligations = record.get("obligations") or []
    if obligations:
        lines.append("  obligations:")
    for item in obligations:
        ref = f"  ref {item['ref']}" if item.get("ref") else ""
        lines.append(
            f"    {item['from']:<12} owes {item['to']:<12} {money(item['amount'])}{ref}  "
            f"block {item['height']}"
        )
    if len(obligations) < record["count"]:
        lines.append(f"    … and {record['count'] - len(obligations)} more (see --json)")
    transfers = record.get("transfers") or []
    if transfers:
        lines.append("  settled by:")
    lines += [f"    {t['from']:<12} → {t['to']:<12} {money(t['amount'])}" for t in transfers]
    return "\n".join(lines)


@netting_group.command("show")
@click.argument("window")
@client_options(signing=False)
def netting_show(window: str, session: Session) -> None:
    """A window: status, close time, positions, obligations, settlement (minor units and
    block-time ms with --json)."""
    record = session.client.get(f"/v1/netting/{window}")
    session.output(record, lambda r: window_text(r, session.decimals(r["currency"])))


@netting_group.command("export")
@click.argument("window")
@click.option("-o", "--out")
@client_options(signing=False)
def netting_export(window: str, out: str | None, session: Session) -> None:
    """A settled window's net transfers as pacs.009.001.09 XML."""
    write_out(session.client.get_bytes(f"/v1/netting/{window}/iso20022"), out)


COMMANDS = [netting_group]
