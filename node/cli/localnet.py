"""`tally localnet up|down|status|stop|start|time`: a development consortium on this machine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ledger.errors import TallyError
from node.api.access import ACCESS_MODES
from node.ops import localnet, localnet_members, localnet_time
from node.ops.layout import DEFAULT_LOCALNET_ACCESS
from wallet.cli.common import report_error

DIR_OPTION = click.option(
    "--dir", "directory", default="localnet", show_default=True, type=click.Path(file_okay=False)
)
JSON_OPTION = click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")


def _run(action: Any, json_output: bool = False) -> Any:
    try:
        return action()
    except TallyError as error:
        sys.exit(report_error(error, json_output))


@click.group("localnet")
def localnet_group() -> None:
    """Run a development consortium in the background."""


@localnet_group.command("up")
@click.option("--nodes", type=click.IntRange(1, 100), default=1, show_default=True)
@DIR_OPTION
@click.option("--chain", default="tally-dev", show_default=True)
@click.option("--base-port", type=click.IntRange(1024, 65000), help="API ports from here.")
@click.option("--fresh", is_flag=True, help="Replace whatever the folder holds.")
@click.option(
    "--membership", is_flag=True, help="A genesis whose validator set governance may change."
)
@click.option(
    "--access",
    type=click.Choice(ACCESS_MODES),
    default=DEFAULT_LOCALNET_ACCESS,
    show_default=True,
    help="API access of a new localnet: members answers signed requests only (DESIGN.md §9).",
)
@JSON_OPTION
def up(
    nodes: int,
    directory: str,
    chain: str,
    base_port: int | None,
    fresh: bool,
    membership: bool,
    access: str,
    json_output: bool,
) -> None:
    """Start N validators; returns once each answers /v1/status (signed, as its auditor)."""
    say = (lambda _: None) if json_output else click.echo
    info = _run(
        lambda: localnet.up(
            Path(directory),
            nodes,
            chain=chain,
            base_port=base_port,
            fresh=fresh,
            membership=membership,
            access=access,
            say=say,
        ),
        json_output,
    )
    if json_output:
        click.echo(json.dumps(info))
        return
    click.echo(f"Localnet up: {Path(directory).resolve() / localnet.LOCALNET_FILE}")
    if info.get("access") == "members":
        click.echo("  API access: members (tally signs with the keys in localnet.json)")
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


@localnet_group.command("add-node")
@DIR_OPTION
@click.option("--org", default="bank-a", show_default=True, help="The bank that runs it.")
@click.option("--name", help="Its validator name (default: validator-<n>).")
@JSON_OPTION
def add_node(directory: str, org: str, name: str | None, json_output: bool) -> None:
    """Lay out one more node (keys, config; not started) and print its add_validator params."""
    added = _run(
        lambda: localnet_members.add_node(Path(directory), org=org, name=name), json_output
    )
    if json_output:
        click.echo(json.dumps(added))
        return
    node_name = added["node"]["name"]
    params = json.dumps(added["add_validator"])
    click.echo(f"Added {node_name} (API {added['node']['api']}), not started.")
    click.echo(f"  start it:   tally localnet start --dir {directory} {node_name}")
    click.echo(f"  propose it: tally governance propose add_validator --params-json '{params}'")
    click.echo("  then approve with banks until ⌈2b/3⌉ have (tally governance approve ID).")


@localnet_group.command("time")
@DIR_OPTION
@click.option(
    "--advance",
    "days",
    metavar="DAYS",
    help="Move every node's block clock this many whole days forward (1 to 3650).",
)
@JSON_OPTION
def clock(directory: str, days: str | None, json_output: bool) -> None:
    """Show the block clock, or move it forward on every node (development chains only)."""
    if days is None:
        shown = _run(lambda: localnet_time.show(Path(directory)), json_output)
        if json_output:
            click.echo(json.dumps(shown))
            return
        click.echo(
            f"Block time {shown['time']} at height {shown['height']}; "
            f"the clock runs {shown['offset_days']} day(s) ahead."
        )
        return
    moved = _run(
        lambda: localnet_time.advance(Path(directory), localnet_time.parse_days(days)),
        json_output,
    )
    if json_output:
        click.echo(json.dumps(moved))
        return
    click.echo(
        f"Block clock moved {moved['advanced_days']} day(s) forward from height "
        f"{moved['from_height']} (now {moved['offset_days']} day(s) ahead)."
    )
    click.echo(f"Block {moved['height']} has time {moved['time']}; every running node holds it:")
    for row in moved["nodes"]:
        click.echo(f"  {row['name']:<22} {row['hash']}")
    for name in moved["down"]:
        click.echo(f"  {name:<22} down (takes the new clock from the chain when it restarts)")


COMMANDS = [localnet_group]
