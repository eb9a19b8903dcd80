"""`tally statement BANK CURRENCY DATE`: a bank's day as camt.053, and camt.054 notifications.

Prints the statement (each account's opening and closing booked balance and its entries) and
writes the ISO 20022 documents of the same page where asked. A day with more movements than a
page holds says how to ask for the next page (`--after`).
"""

from __future__ import annotations

from typing import Any

import click

from wallet.cli.common import Session, client_options, write_out


def _human(page: dict[str, Any], session: Session) -> str:
    code = page["currency"]
    final = "final" if page["final"] else "so far"
    lines = [
        f"{page['bank']} {code} statement for {page['date']} ({final}), heights "
        f"{page['opening_height'] + 1}..{page['closing_height']}"
    ]
    for account in page["accounts"]:
        opening = session.format_amount(account["opening"], code)
        closing = session.format_amount(account["closing"], code)
        lines.append(f"  {account['owner']}: opening {opening}, closing {closing}")
        for entry in account["entries"]:
            sign = "+" if entry["direction"] == "CRDT" else "-"
            shown = session.format_amount(entry["amount"], code)
            uetr = f" UETR {entry['uetr']}" if entry["uetr"] else ""
            lines.append(
                f"    {sign}{shown} {entry['kind']} {entry['counterparty'] or ''} "
                f"tx {entry['tx'][:16]}{uetr}"
            )
    if page["next"] is not None:
        lines.append(f"more: --after {page['next']}")
    return "\n".join(lines)


@click.command("statement")
@click.argument("bank")
@click.argument("currency")
@click.argument("date")
@click.option("--after", type=int, help="Continue after this height (a page's `more:`).")
@click.option("-o", "--out", help="Write the camt.053.001.08 XML here ('-': stdout).")
@click.option("--notifications", help="Write the camt.054.001.08 notifications here.")
@client_options(signing=False)
def statement(
    bank: str,
    currency: str,
    date: str,
    after: int | None,
    out: str | None,
    notifications: str | None,
    session: Session,
) -> None:
    """BANK's statement in CURRENCY for the UTC day DATE (YYYY-MM-DD)."""
    code = currency.upper()
    client = session.client
    if out is not None:
        write_out(client.statement_xml(bank, code, date, after), out)
    page = client.statement(bank, code, date, after)
    moved = any(account["entries"] for account in page["accounts"])
    if notifications is not None and moved:
        write_out(client.statement_xml(bank, code, date, after, notes=True), notifications)
    elif notifications is not None:
        click.echo("no movements: no camt.054 written", err=True)
    if out != "-":
        session.output(page, lambda shown: _human(shown, session))


COMMANDS = [statement]
