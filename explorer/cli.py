"""`tally explorer` (the web UI) and `tally audit verify-chain|verify-tx|trace|verify-state|balance`
(the last two in explorer/state_audit.py)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from explorer import state_audit
from explorer.audit_text import org_text, trace_text
from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.genesis import Genesis, genesis_from_value, load_genesis
from wallet.cli.common import node_client, node_options, report_error
from wallet.cli.nodes import UsageProblem, read_localnet
from wallet.cli.reader import keystore_key
from wallet.client import Client
from wallet.localnet_keys import localnet_key
from wallet.request_signing import RequestSigner


def _genesis(path: str | None, node: str, signer: RequestSigner | None) -> tuple[Genesis, bool]:
    """The genesis to verify against, and whether it came from the user (not the node)."""
    if path:
        return load_genesis(path), True
    raw = Client(node, request_signer=signer).raw_genesis()
    return genesis_from_value(raw), False


def _fail(error: TallyError, as_json: bool) -> None:
    sys.exit(report_error(error, as_json))


@dataclass(frozen=True, slots=True)
class Target:
    """The node the explorer shows, and whom it signs in as there."""

    node: str
    genesis_path: str | None
    key: Ed25519Key | None
    org: str  # "" when the key's organization is to be found from the chain


def _localnet_auditor(net: dict[str, Any]) -> str:
    auditors = [o["id"] for o in net.get("orgs", []) if o.get("kind") == "auditor"]
    if not auditors:
        raise UsageProblem("NO_AUDITOR", "the localnet has no auditor: say --as ORG")
    return str(auditors[0])


def _target(
    node: str | None,
    genesis_path: str | None,
    keystore: str | None,
    localnet_dir: str | None,
    as_org: str | None,
) -> Target:
    """--node/--keystore, or --localnet [--as ORG] (its first node, genesis and key)."""
    if keystore and (localnet_dir or as_org):
        raise UsageProblem("SIGNER_CONFLICT", "say who signs once: --keystore FILE or --as ORG")
    if localnet_dir is None:
        if as_org:
            raise UsageProblem("NO_LOCALNET", "--as needs --localnet DIR")
        if not node:
            raise UsageProblem("NO_NODE", "say which node: --node URL or --localnet DIR")
        return Target(node, genesis_path, keystore_key(keystore) if keystore else None, "")
    net = read_localnet(localnet_dir)
    org = as_org or _localnet_auditor(net)
    key = localnet_key(net, org)
    if not (node or net["nodes"]):
        raise UsageProblem("NO_NODE", f"{localnet_dir} lists no node: say --node URL")
    return Target(
        node or str(net["nodes"][0]["api"]),
        genesis_path or str(net["genesis"]),
        key,
        org,
    )


@click.command("explorer")
@click.option("--node", help="Node API URL, e.g. http://127.0.0.1:8700 (default with --localnet: "
              "its first node)")  # fmt: skip
@click.option(
    "--genesis",
    "genesis_path",
    type=click.Path(dir_okay=False),
    help="The consortium's genesis.json; without it the node's own is used (marked unverified).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--db",
    "index_db",
    default="",
    help="An index kept by `tally index` (sqlite:///... or postgresql://...); without it the "
    "explorer keeps its own in a temporary SQLite file.",
)
@click.option(
    "--keystore",
    type=click.Path(exists=True, dir_okay=False),
    help="Sign in as this organization's keystore (passphrase from TALLY_PASSPHRASE or a "
    "prompt): every request is signed with it, and the documents shared with it open.",
)
@click.option(
    "--localnet",
    "localnet_dir",
    type=click.Path(file_okay=False),
    help="For development: a localnet's folder; its first node, its genesis, and the key of "
    "--as ORG (default: its auditor).",
)
@click.option("--as", "as_org", help="With --localnet: sign in as this organization.")
def explorer_command(
    node: str | None,
    genesis_path: str | None,
    host: str,
    port: int,
    index_db: str,
    keystore: str | None,
    localnet_dir: str | None,
    as_org: str | None,
) -> None:
    """Serve the block explorer for NODE, verifying what it shows against GENESIS, signed in
    as an organization (--keystore FILE, or --localnet DIR --as ORG)."""
    from aiohttp import web

    from explorer.app import make_app

    try:
        target = _target(node, genesis_path, keystore, localnet_dir, as_org)
        signer = None if target.key is None else RequestSigner.of(target.key)
        genesis, verified = _genesis(target.genesis_path, target.node, signer)
    except TallyError as error:
        _fail(error, False)
        return
    source = str(Path(target.genesis_path).resolve()) if target.genesis_path else ""
    app = make_app(
        target.node,
        genesis,
        genesis_verified=verified,
        genesis_source=source,
        index_db=index_db,
        document_key=target.key,  # and the request signer: the same key signs in
        sign_in_org=target.org,
    )
    if not verified:
        click.echo(
            "warning: no --genesis given; verifying against the node's own genesis", err=True
        )

    def ready(_: object) -> None:
        click.echo(f"explorer for {target.node} ready on http://{host}:{port}/", err=True)

    web.run_app(app, host=host, port=port, print=ready, access_log=None)


@click.group("audit")
def audit_group() -> None:
    """Verify a node's chain and proofs yourself, against the genesis file."""


def _client_and_genesis(
    nodes: tuple[str, ...], localnet_dir: str | None, genesis_path: str
) -> tuple[Client, Genesis]:
    return node_client(nodes, localnet_dir), load_genesis(genesis_path)


@audit_group.command("verify-chain")
@node_options
@click.option("--genesis", "genesis_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_chain_command(
    nodes: tuple[str, ...], localnet_dir: str | None, genesis_path: str, as_json: bool
) -> None:
    """Walk the chain from genesis: links, roots, chain id, validator set, certificates."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from explorer.audit import verify_chain

    try:
        client, genesis = _client_and_genesis(nodes, localnet_dir, genesis_path)
        console = Console(stderr=True)
        show = not as_json and console.is_terminal
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
        ) as progress:
            task = progress.add_task("verifying blocks", total=None)

            def advance(height: int, tip: int) -> None:
                progress.update(task, completed=height, total=tip)

            audit = verify_chain(client, genesis, advance)
    except TallyError as error:
        _fail(error, as_json)
        return
    if as_json:
        click.echo(json.dumps(audit.to_json(), indent=2))
    else:
        click.echo(f"chain {genesis.chain}: walked {audit.blocks} of {audit.tip} blocks")
        click.echo(f"genesis hash {genesis.hash().hex()}")
        for name, count in sorted(audit.passed.items()):
            click.echo(f"  ok    {name:<24} {count} block(s)")
        if not audit.roots_checked:
            click.echo(
                "  note  txs_root/receipts_root not recomputed: node serves no /v1/raw/blocks"
            )
        for change in audit.history.changes if audit.history is not None else ():
            names = ", ".join(v.name for v in change.validators)
            click.echo(
                f"  set   from block {change.effective_height} (approved in block "
                f"{change.height}): {len(change.validators)} validators: {names}"
            )
        for failure in audit.failures[:50]:
            click.echo(f"  FAIL  block {failure.height}: {failure.check}: {failure.detail}")
        if len(audit.failures) > 50:
            click.echo(f"  ... and {len(audit.failures) - 50} more failures")
        click.echo("verified" if audit.ok else "VERIFICATION FAILED")
    sys.exit(0 if audit.ok else 1)


@audit_group.command("verify-tx")
@click.argument("tx_id")
@node_options
@click.option("--genesis", "genesis_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_tx_command(
    tx_id: str, nodes: tuple[str, ...], localnet_dir: str | None, genesis_path: str, as_json: bool
) -> None:
    """Fetch TX_ID's inclusion proof and check every step of it against the genesis."""
    from explorer.verify import check_proof

    try:
        client, genesis = _client_and_genesis(nodes, localnet_dir, genesis_path)
        proof = client.get_proof(tx_id)
    except TallyError as error:
        _fail(error, as_json)
        return
    verdict = check_proof(genesis, proof, tx_id)
    if as_json:
        checks = [check.to_json() for check in verdict.checks]
        click.echo(json.dumps({"tx": tx_id, "ok": verdict.ok, "checks": checks}, indent=2))
    else:
        for check in verdict.checks:
            click.echo(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<28} {check.detail}")
        click.echo("verified" if verdict.ok else "VERIFICATION FAILED")
    sys.exit(0 if verdict.ok else 1)


@audit_group.command("trace")
@click.argument("subject")
@node_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def trace_command(
    subject: str, nodes: tuple[str, ...], localnet_dir: str | None, as_json: bool
) -> None:
    """History of an invoice number (INV-1001), a receivable id, or an organization; amounts in
    the currency's units (minor units with --json)."""
    from explorer.audit import trace_targets

    try:
        client = node_client(nodes, localnet_dir)
        result = trace_targets(client, subject)
        decimals = {} if as_json else {c["code"]: int(c["decimals"]) for c in client.currencies()}
    except TallyError as error:
        _fail(error, as_json)
        return
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    if result["kind"] == "org":
        lines = org_text(result, decimals)
    else:
        lines = [line for trace in result["traces"] for line in trace_text(trace, decimals)]
    click.echo("\n".join(lines))


for _command in state_audit.COMMANDS:
    audit_group.add_command(_command)

COMMANDS: list[click.Command] = [explorer_command, audit_group]
