"""`tally governance propose|approve|list`: registry proposals, signed with admin keys."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli.common import Session, call, client_options


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


def _as_admin(session: Session) -> Session:
    session.role = "admin" if session.role == "operator" else session.role
    return session


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
        ]
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
    if action == "add_validator":  # keys as the node's key file and genesis write them: hex
        for name in ("ed25519", "bls", "bls_pop"):
            if isinstance(values.get(name), str):
                values[name] = _hex_param(name, values[name])
    result = call(_as_admin(session), "registry", "propose", {"action": action, "params": values})
    state = "passed" if result.get("passed") else "open, awaiting approvals"
    session.output(result, f"proposal {result['id']}: {state}")


def _hex_param(name: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise TallyError("BAD_PARAM", f"--param {name} must be hex") from None


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


COMMANDS = [governance_group]
