"""`tally tx show|proof` and `tally proof verify`: a transaction and its receipt, its inclusion
proof checked here, and a saved proof checked with no node at all.

`proof` trusts only the genesis file (given, or the localnet's); output is for people unless
`--json`, and an unverified proof exits with status 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ledger.genesis import load_genesis
from wallet.amounts import format_amount
from wallet.cli.common import Session, client_options, json_option, local_errors
from wallet.cli.nodes import UsageProblem
from wallet.cli.output import EXIT_REFUSED, utc_time
from wallet.cli.tx_offline import build, sign, submit
from wallet.proofs import ProofCheck, verify_proof


@click.group("tx")
def tx_group() -> None:
    """Look up transactions and verify their inclusion proofs; build, sign offline, submit."""


for _offline_step in (build, sign, submit):
    tx_group.add_command(_offline_step)


# Fields that hold money in the minor units of the record's `currency`, and block times in ms.
MONEY_FIELDS = frozenset(
    {"amount", "face", "reduction", "paid", "held", "outstanding", "credit", "price", "gross"}
)


def worded(fields: Any, decimals: dict[str, int]) -> str:
    """A call's arguments, an event or a result for people: `name=value` pairs with money in
    the currency's units and block times as UTC dates; anything else as JSON."""
    if not isinstance(fields, dict):
        return json.dumps(fields, sort_keys=True)
    code = fields.get("currency")
    places = decimals.get(code) if isinstance(code, str) else None

    def shown(name: str, value: Any) -> str:
        if name in MONEY_FIELDS and places is not None:
            if type(value) is int:
                return format_amount(value, places, str(code))
            if isinstance(value, dict):
                return ", ".join(f"{k} {shown(name, v)}" for k, v in sorted(value.items()))
        if name.endswith("_ms") and type(value) is int:
            return utc_time(value)
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

    return "  ".join(f"{name}={shown(name, value)}" for name, value in sorted(fields.items()))


def render_tx(answer: dict[str, Any], decimals: dict[str, int]) -> str:
    """`tally tx show` for people: the call, its arguments and its receipt in people's units."""
    lines = [f"tx {answer.get('id')}  {answer.get('status')}"]
    body = answer.get("tx") or {}
    if body:
        lines.append(f"  call     {body.get('contract')}.{body.get('method')}")
        lines.append(f"  from     {body.get('from')}")
        lines.append(f"  args     {worded(body.get('args'), decimals)}")
        lines.append(f"  valid    until height {body.get('valid_until')}")
    receipt = answer.get("receipt")
    if receipt:
        lines.append(
            f"  receipt  {receipt.get('status')} at height {receipt.get('height')} "
            f"index {receipt.get('index')}"
        )
        error = receipt.get("error")
        if error:
            lines.append(f"  error    {error.get('code')}: {error.get('message')}")
        for event in receipt.get("events") or []:
            lines.append(f"  event    {worded(event, decimals)}")
        if receipt.get("result") is not None:
            lines.append(f"  result   {worded(receipt.get('result'), decimals)}")
    return "\n".join(lines)


@tx_group.command("show")
@click.argument("tx_id")
@client_options(signing=False)
def show(tx_id: str, session: Session) -> None:
    """A transaction, its status and its receipt."""
    answer = session.client.tx(tx_id)
    session.output(answer, lambda a: render_tx(a, session.currency_decimals()))


@tx_group.command("proof")
@click.argument("tx_id")
@click.option(
    "--genesis",
    "genesis_path",
    type=click.Path(dir_okay=False),
    help="The genesis file to trust (default: the localnet's).",
)
@click.option("--save", type=click.Path(dir_okay=False), help="Also write the proof JSON here.")
@client_options(signing=False)
def proof(tx_id: str, genesis_path: str | None, save: str | None, session: Session) -> None:
    """Fetch a tx's inclusion proof and verify it here, trusting only the genesis file."""
    if genesis_path is None:
        net = session.localnet
        if not net or not net.get("genesis"):
            raise UsageProblem("NO_GENESIS", "say which genesis to trust: --genesis FILE")
        genesis_path = str(net["genesis"])
    genesis = load_genesis(genesis_path)
    proof_json = session.client.get_proof(tx_id)
    if save:
        Path(save).write_text(json.dumps(proof_json, indent=2) + "\n")
        click.echo(f"wrote the proof of tx {tx_id} to {Path(save).resolve()}", err=True)
    result = verify_proof(proof_json, genesis, expected_tx_id=tx_id)
    _print_verdict(result, genesis_path, session.json)


def _print_verdict(result: ProofCheck, genesis_path: str, json_output: bool) -> None:
    """Each check and the verdict (or the JSON of both); exit status 1 when it fails."""
    if json_output:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
    else:
        for check in result.checks:
            mark = "ok  " if check.ok else "FAIL"
            click.echo(f"  {mark} {check.name:<24} {check.detail}")
        verdict = "VERIFIED" if result.ok else "NOT VERIFIED"
        click.echo(
            f"{verdict}: tx {result.tx_id} at height {result.height} (genesis {genesis_path})"
        )
    if not result.ok:
        sys.exit(EXIT_REFUSED)


@click.group("proof")
def proof_group() -> None:
    """Check saved proofs offline, with nothing but the genesis file."""


@proof_group.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--genesis",
    "genesis_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The consortium's genesis.json: the only thing trusted.",
)
@click.option("--tx", "expected_tx_id", help="The tx id the proof must be about.")
@json_option
@local_errors
def proof_verify(
    file: str, genesis_path: str, expected_tx_id: str | None, json_output: bool
) -> None:
    """Verify FILE, an inclusion proof saved by `tally tx proof --save`, with no node at all."""
    genesis = load_genesis(genesis_path)
    try:
        document = json.loads(Path(file).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageProblem("BAD_FILE", f"cannot read {file}: {error.strerror}") from None
    except ValueError:
        raise UsageProblem("BAD_FILE", f"{file} is not JSON") from None
    result = verify_proof(document, genesis, expected_tx_id=expected_tx_id)
    _print_verdict(result, genesis_path, json_output)


COMMANDS = [tx_group, proof_group]
