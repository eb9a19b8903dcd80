"""`tally governance propose|approve|list`: registry proposals, signed with admin keys.

Proposals and approvals sign with the organization's admin key unless `--role` says otherwise.
`--param` values are written as people write them: `set_limit`'s `amount=5,000.00` is in the
currency's units, like every other amount on the command line (`--params-json` passes the
contract's own parameters, amounts in minor units).
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from wallet.cli.common import Session, call, client_options
from wallet.cli.nodes import UsageProblem
from wallet.cli.tx import worded


@click.group("governance")
def governance_group() -> None:
    """Registry proposals: pass with ⌈2b/3⌉ of the b banks (signed with admin keys)."""


def parse_value(text: str) -> Any:
    """A --param value: true/false/null, an integer, or text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _people_params(session: Session, action: str, texts: dict[str, str]) -> dict[str, Any]:
    """The --param values as the contract takes them: a limit's amount from the currency's
    units to minor units (`null` removes the limit), everything else by `parse_value`."""
    values = {name: parse_value(text) for name, text in texts.items()}
    if action == "set_limit" and "amount" in texts:
        amount = texts["amount"].strip()
        if amount.lower() in ("null", "none"):
            values["amount"] = None
        elif amount == "0":
            values["amount"] = 0
        else:
            currency = str(values.get("currency", "")).upper()
            if not currency:
                raise UsageProblem("BAD_PARAM", "set_limit needs --param currency=CODE")
            values["currency"] = currency
            values["amount"] = session.parse_amount(amount, currency)
    return values


@governance_group.command("propose")
@click.argument(
    "action",
    type=click.Choice(
        [
            "set_kyc",
            "set_sanctioned",
            "set_limit",
            "add_org",
            "suspend_org",
            "cancel_netting",
            "add_validator",
            "remove_validator",
            "remove_key",
            "scope_reader",
        ]
    ),
)
@click.option("--param", "params", multiple=True, help="name=value (repeat).")
@click.option("--params-json", help="All parameters as a JSON object (minor units).")
@client_options(role="admin")
def governance_propose(
    action: str, params: tuple[str, ...], params_json: str | None, session: Session
) -> None:
    """Propose ACTION, e.g. set_limit --param org=fuel-co --param currency=CNY
    --param amount=5,000.00 (a daily limit of 5,000.00 CNY; amount=null removes it), or
    remove_key --param org=fuel-co --param public=HEX (a compromised key; refused by every
    node's API from the block that applies it)."""
    values: dict[str, Any] = json.loads(params_json) if params_json else {}
    texts: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageProblem("BAD_PARAM", f"--param {item!r} is not name=value")
        texts[name] = value
    values.update(_people_params(session, action, texts))
    for key in values.get("keys") or []:
        key["public"] = bytes.fromhex(key["public"])
    if action == "remove_key" and isinstance(values.get("public"), str):
        values["public"] = _hex_param("public", values["public"])
    if action == "add_validator":  # keys as the node's key file and genesis write them: hex
        for name in ("ed25519", "bls", "bls_pop"):
            if isinstance(values.get(name), str):
                values[name] = _hex_param(name, values[name])
    result = call(session, "registry", "propose", {"action": action, "params": values})
    state = "passed" if result.get("passed") else "open, awaiting approvals"
    session.output(result, f"proposal {result['id']}: {state}")


def _hex_param(name: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise UsageProblem("BAD_PARAM", f"--param {name} must be hex") from None


@governance_group.command("approve")
@click.argument("proposal_id")
@client_options(role="admin")
def governance_approve(proposal_id: str, session: Session) -> None:
    """Approve a proposal; the deciding approval applies it."""
    result = call(session, "registry", "approve", {"id": proposal_id})
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
                f"approvals {','.join(p['approvals'])}\n"
                f"    {worded(p.get('params'), session.currency_decimals())}"
                for p in a["proposals"]
            )
            or "no proposals"
        )

    session.output(answer, human)


COMMANDS = [governance_group]
