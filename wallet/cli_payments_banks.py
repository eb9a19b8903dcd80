"""Bank-side commands: `tally netting`, `tally cash`, `tally governance` (mounted by
wallet/cli_payments.py). Times given in seconds from now become block-time milliseconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli_common import Session, client_options
from wallet.cli_payments_common import call, fetch_raw, parse_value, write_out

# -- tally netting -----------------------------------------------------------------------------


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
        "close_ms": int(time.time() * 1000) + close_in * 1000,
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
    write_out(fetch_raw(session, f"/v1/netting/{window}/iso20022"), out)


# -- tally cash --------------------------------------------------------------------------------


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


# -- tally governance --------------------------------------------------------------------------


@click.group("governance")
def governance_group() -> None:
    """Registry proposals: pass with ⌈2b/3⌉ of the b banks (signed with admin keys)."""


def _as_admin(session: Session) -> Session:
    session.role = "admin" if session.role == "operator" else session.role
    return session


@governance_group.command("propose")
@click.argument(
    "action",
    type=click.Choice(
        ["set_kyc", "set_sanctioned", "set_limit", "add_org", "suspend_org", "cancel_netting"]
    ),
)
@click.option("--param", "params", multiple=True, help="name=value (repeat).")
@click.option("--params-json", help="All parameters as a JSON object.")
@client_options()
def governance_propose(
    action: str, params: tuple[str, ...], params_json: str | None, session: Session
) -> None:
    """Propose ACTION, e.g. set_limit --param org=fuel-co --param currency=CNY --param amount=5."""
    values: dict[str, Any] = json.loads(params_json) if params_json else {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise TallyError("BAD_PARAM", f"--param {item!r} is not name=value")
        values[name] = parse_value(value)
    for key in values.get("keys") or []:
        key["public"] = bytes.fromhex(key["public"])
    result = call(_as_admin(session), "registry", "propose", {"action": action, "params": values})
    state = "passed" if result.get("passed") else "open, awaiting approvals"
    session.output(result, f"proposal {result['id']}: {state}")


@governance_group.command("approve")
@click.argument("proposal_id")
@client_options()
def governance_approve(proposal_id: str, session: Session) -> None:
    """Approve a proposal; the deciding approval applies it."""
    result = call(_as_admin(session), "registry", "approve", {"id": proposal_id})
    session.output(result, "passed and applied" if result["passed"] else "approved; not yet 2/3")


@governance_group.command("list")
@click.option("--status", type=click.Choice(["open", "passed"]))
@client_options(signing=False)
def governance_list(status: str | None, session: Session) -> None:
    """Proposals, newest first."""
    answer = session.client.get(
        "/v1/governance/proposals" + (f"?status={status}" if status else "")
    )

    def human(a: dict[str, Any]) -> str:
        return (
            "\n".join(
                f"{p['id']}  {p['status']:<7} {p['action']:<15} by {p['proposer']}, "
                f"approvals {','.join(p['approvals'])}"
                for p in a["proposals"]
            )
            or "no proposals"
        )

    session.output(answer, human)
