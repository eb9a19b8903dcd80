"""`tally payment show|list|export`: payments as recorded, and their ISO 20022 pacs.008."""

from __future__ import annotations

from typing import Any

import click

from wallet.cli.common import Session, client_options, write_out
from wallet.cli.nodes import UsageProblem
from wallet.cli.rates import format_rate


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
@click.argument("org_id", metavar="ORG", required=False)
@click.option("--org", help="The organization (the same as ORG).")
@click.option("--role", type=click.Choice(["sent", "received", "dealer"]))
@click.option("--cursor", default="")
@click.option("--limit", default=20, show_default=True)
@client_options(signing=False)
def payment_list(
    org_id: str | None,
    org: str | None,
    role: str | None,
    cursor: str,
    limit: int,
    session: Session,
) -> None:
    """ORG's payments, newest first."""
    if org_id and org and org_id != org:
        raise UsageProblem("BAD_USAGE", f"ORG {org_id} and --org {org} differ: say one")
    org = org_id or org
    if not org:
        raise UsageProblem("BAD_USAGE", "say whose payments: tally payment list ORG")
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
    write_out(session.client.get_bytes(f"/v1/payments/{payment_id}/iso20022"), out)


COMMANDS = [payment_group]
