"""`tally node init|start|status`: lay out a network's files; run one node in the foreground;
ask a node how it is (a signed request, as every client's: wallet/cli/reader.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from ledger.errors import TallyError
from node.config import load_config
from node.ops.layout import init_network
from wallet.cli.common import Session, client_options
from wallet.cli.output import exit_status


@click.group("node")
def node_group() -> None:
    """Set up and run validator nodes."""


@node_group.command("init")
@click.option("--nodes", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--dir", "directory", type=click.Path(file_okay=False), required=True)
@click.option("--chain", default="tally-dev", show_default=True, help="Chain id.")
@click.option("--base-port", type=click.IntRange(1024, 65000), help="API ports from here.")
def init(nodes: int, directory: str, chain: str, base_port: int | None) -> None:
    """Write genesis.json (the development cast) and each node's config and key files."""
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        _fail("DIR_NOT_EMPTY", f"{target} is not empty")
    try:
        info = init_network(target, nodes, chain=chain, base_port=base_port)
    except TallyError as error:
        _fail(error.code, error.message)
    click.echo(f"Genesis: {info['genesis']} (chain {chain})")
    for entry in info["nodes"]:
        config = target / entry["name"] / "node.toml"
        click.echo(f"  {entry['name']}: {config}  (API {entry['api']})")
    click.echo(f"Start one with: tally node start --config {config}")


@node_group.command("start")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
def start(config_path: str) -> None:
    """Run one node in the foreground until SIGTERM or Ctrl-C."""
    from node.service import run_node

    try:
        asyncio.run(run_node(load_config(config_path)))
    except TallyError as error:
        _fail(error.code, error.message)


@node_group.command("status")
@client_options(signing=False)
def status(session: Session) -> None:
    """A node's height, view, peers and API access, asked as --keystore (or --as) says."""
    answer = session.client.status()
    shown = ("chain", "height", "view", "primary", "peers", "mempool", "access")
    session.output(answer, "\n".join(f"{name}: {answer[name]}" for name in shown if name in answer))


def _fail(code: str, message: str) -> None:
    click.echo(f"error: {code}: {message}", err=True)
    sys.exit(exit_status(TallyError(code, message)))


COMMANDS = [node_group]
