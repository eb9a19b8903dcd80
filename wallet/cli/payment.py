"""`tally payment show|list|find|export`: payments as recorded, found by UETR, and their ISO
20022 pacs.008 (and pacs.009 COV for the cover leg of a PvP payment)."""

from __future__ import annotations

from typing import Any

import click

from ledger.errors import TallyError
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
        lines.append(f"  UETR {p['uetr']}")
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


@payment_group.command("find")
@click.argument("uetr")
@client_options(signing=False)
def payment_find(uetr: str, session: Session) -> None:
    """The payment whose UETR is UETR (as its pacs.008, pacs.009 or camt entries carry it)."""
    found = session.client.payment_by_uetr(uetr)
    if found is None:
        raise TallyError("NOT_FOUND", f"no payment has UETR {uetr}")
    session.output(found, lambda p: f"payment {p['id']} ({p['kind']}), UETR {p['uetr']}")


@payment_group.command("export")
@click.argument("payment_id")
@click.option("-o", "--out", help="Write the XML here (default: stdout).")
@click.option("--cover", is_flag=True, help="The pacs.009 COV of a PvP payment's cover leg.")
@client_options(signing=False)
def payment_export(payment_id: str, out: str | None, cover: bool, session: Session) -> None:
    """The payment as pacs.008.001.09 XML (--cover: its cover leg as pacs.009.001.09 COV)."""
    client = session.client
    data = client.payment_pacs009(payment_id) if cover else client.payment_iso20022(payment_id)
    write_out(data, out)


COMMANDS = [payment_group]
