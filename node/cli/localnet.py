"""`tally localnet up|down|status|stop|start`: a development consortium on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ledger.errors import TallyError
from node.ops import localnet
from wallet.cli.common import report_error

DIR_OPTION = click.option(
    "--dir", "directory", default="localnet", show_default=True, type=click.Path(file_okay=False)
)
JSON_OPTION = click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")


def _run(action: Any, json_output: bool = False) -> Any:
    try:
        return action()
    except TallyError as error:
        report_error(error, json_output)
        sys.exit(1)


@click.group("localnet")
def localnet_group() -> None:
    """Run a development consortium in the background."""


@localnet_group.command("up")
@click.option("--nodes", type=click.IntRange(1, 100), default=1, show_default=True)
@DIR_OPTION
@click.option("--chain", default="tally-dev", show_default=True)
@click.option("--base-port", type=click.IntRange(1024, 65000), help="API ports from here.")
@click.option("--fresh", is_flag=True, help="Replace whatever the folder holds.")
@JSON_OPTION
def up(
    nodes: int, directory: str, chain: str, base_port: int | None, fresh: bool, json_output: bool
) -> None:
    """Start N validators; returns once each answers /v1/status."""
    say = (lambda _: None) if json_output else click.echo
    info = _run(
        lambda: localnet.up(
            Path(directory), nodes, chain=chain, base_port=base_port, fresh=fresh, say=say
        ),
        json_output,
    )
    if json_output:
        click.echo(json.dumps(info))
        return
    click.echo(f"Localnet up: {Path(directory).resolve() / localnet.LOCALNET_FILE}")
    for entry in info["nodes"]:
        click.echo(f"  {entry['name']}  {entry['api']}  pid {entry['pid']}")


@localnet_group.command("down")
@DIR_OPTION
def down(directory: str) -> None:
    """Stop every node (data is kept)."""
    stopped = _run(lambda: localnet.down(Path(directory), say=click.echo))
    click.echo(f"Stopped {len(stopped)} node(s)." if stopped else "No node was running.")


@localnet_group.command("status")
@DIR_OPTION
@JSON_OPTION
def status(directory: str, json_output: bool) -> None:
    """Each node's height, view and peers."""
    rows = _run(lambda: localnet.status(Path(directory)), json_output)
    if json_output:
        click.echo(json.dumps({"nodes": rows}))
        return
    for row in rows:
        if row["up"]:
            click.echo(
                f"{row['name']:<22} up    height {row['height']:<8} view {row['view']:<4} "
                f"primary {row['primary']:<22} peers {row['peers']:<3} "
                f"mempool {row['mempool']}  {row['api']}"
            )
        else:
            click.echo(f"{row['name']:<22} down  {row['api']}")


@localnet_group.command("stop")
@DIR_OPTION
@click.argument("name")
def stop(directory: str, name: str) -> None:
    """Stop one node, keeping its data."""
    was_running = _run(lambda: localnet.stop_node(Path(directory), name))
    click.echo(f"Stopped {name}." if was_running else f"{name} was not running.")


@localnet_group.command("start")
@DIR_OPTION
@click.argument("name")
def start(directory: str, name: str) -> None:
    """Restart one node on its data; updates its pid in localnet.json."""
    entry = _run(lambda: localnet.start_node(Path(directory), name))
    click.echo(f"{name} up at {entry['api']} (pid {entry['pid']}).")


COMMANDS = [localnet_group]
