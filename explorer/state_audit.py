"""`tally audit verify-state KEY` and `tally audit balance ORG CURRENCY`: a key's value, believed
only once its state proof checks against the genesis file (DESIGN.md §6).

Both print the value (a balance in the currency's units), the height it holds at, and what
vouches for it: the fold to the header's state_root and the certificate's signers against the
quorum. A proof or certificate that fails prints every check and exits 1, as a node error does
(a pruned height: `STATE_PRUNED`); `--json` prints one object for scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from ledger.errors import TallyError
from ledger.genesis import Genesis, load_genesis
from wallet.amounts import format_amount
from wallet.cli.common import node_client, node_options
from wallet.cli.output import exit_status
from wallet.proofs import Check
from wallet.verified_state import StateNotVerified, VerifiedState


def _error_json(error: TallyError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message}


def _fail(error: TallyError, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(json.dumps({"ok": False, "error": _error_json(error)}))
    else:
        click.echo(f"error: {error.code}: {error.message}", err=True)
    sys.exit(exit_status(error))


def _not_verified(error: StateNotVerified, as_json: bool) -> NoReturn:
    check = error.check
    if as_json:
        click.echo(json.dumps({**check.to_json(), "error": _error_json(error)}, indent=2))
    else:
        click.echo(f"{check.key}: the node's answer does NOT verify against the genesis")
        _print_checks(check.checks)
        click.echo("VERIFICATION FAILED")
    sys.exit(1)


def _verified(read: Callable[[], VerifiedState], as_json: bool) -> VerifiedState:
    """The verified read's result; a failure is printed, and the command exits 1."""
    try:
        return read()
    except StateNotVerified as error:
        _not_verified(error, as_json)
    except TallyError as error:
        _fail(error, as_json)


def _plain(value: Any) -> Any:
    """A decoded state value as JSON can show it (bytes as hex)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _print_checks(checks: tuple[Check, ...]) -> None:
    for check in checks:
        click.echo(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<24} {check.detail}")


def _vouched(state: VerifiedState) -> None:
    """What the value rests on, for a person: the checks, the root, the block and its signers."""
    _print_checks(state.checks)
    click.echo(
        f"  state root {state.state_root.hex()} of block {state.height} "
        f"(hash {state.block_hash.hex()})"
    )
    click.echo(
        f"  signed by {', '.join(state.signers)} ({len(state.signers)} of {state.validators} "
        f"validators, quorum {state.quorum})"
    )
    click.echo("verified")


GENESIS = click.option(
    "--genesis", "genesis_path", required=True, type=click.Path(dir_okay=False),
    help="The consortium's genesis.json: the only thing trusted.",
)  # fmt: skip
HEIGHT = click.option(
    "--height", type=click.IntRange(min=1), default=None, help="Block height (default: the tip)."
)
JSON = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.command("verify-state")
@click.argument("key")
@node_options
@GENESIS
@HEIGHT
@JSON
def verify_state_command(
    key: str,
    nodes: tuple[str, ...],
    localnet_dir: str | None,
    genesis_path: str,
    height: int | None,
    as_json: bool,
) -> None:
    """Prove what state KEY holds (e.g. rcv/piece/ID), checking the proof against GENESIS."""
    try:
        genesis = load_genesis(genesis_path)
        client = node_client(nodes, localnet_dir, genesis)
    except TallyError as error:
        _fail(error, as_json)
    state = _verified(lambda: client.verified_state(key, height), as_json)
    if as_json:
        click.echo(json.dumps({**state.to_json(), "value": _plain(state.value)}, indent=2))
        return
    if not state.present:
        click.echo(f"{key} at height {state.height}: (absent)")
    else:
        click.echo(f"{key} at height {state.height}:{_piece_summary(state.value, genesis)}")
        click.echo(json.dumps(_plain(state.value), indent=2, sort_keys=True))
    _vouched(state)


def _piece_summary(value: Any, genesis: Genesis) -> str:
    """A receivable piece's holder, amount and status, before the whole record."""
    if not isinstance(value, dict) or not {"holder", "amount", "currency", "status"} <= set(value):
        return ""
    currency = genesis.currency(str(value["currency"]))
    amount = value["amount"]
    if currency is not None and type(amount) is int:
        amount = format_amount(amount, currency.decimals, currency.code)
    return f" piece held by {value['holder']}, {amount}, {value['status']}"


@click.command("balance")
@click.argument("org")
@click.argument("currency")
@node_options
@GENESIS
@HEIGHT
@JSON
def balance_command(
    org: str,
    currency: str,
    nodes: tuple[str, ...],
    localnet_dir: str | None,
    genesis_path: str,
    height: int | None,
    as_json: bool,
) -> None:
    """Prove ORG's balance in CURRENCY, checking the proof against GENESIS."""
    try:
        genesis = load_genesis(genesis_path)
        info = genesis.currency(currency)
        if info is None:
            raise TallyError("UNKNOWN_CURRENCY", f"{currency} is not a currency of this chain")
        client = node_client(nodes, localnet_dir, genesis)
    except TallyError as error:
        _fail(error, as_json)
    state = _verified(lambda: client.verified_balance(org, currency, height), as_json)
    shown = format_amount(int(state.value), info.decimals, currency)
    if as_json:
        answer = {**state.to_json(), "org": org, "currency": currency, "amount": shown}
        click.echo(json.dumps(answer, indent=2))
        return
    click.echo(f"{org} holds {shown} at height {state.height}")
    _vouched(state)


COMMANDS = (verify_state_command, balance_command)
