"""The `tally` entry point: mounts the command groups each package owns (DESIGN.md §12)."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from wallet.cli.output import EXIT_INTERRUPTED

# Each top-level command and the modules that build it (a module exposes `COMMANDS:
# list[click.Command]`, or adds subcommands to a group another module owns). A command's
# modules are imported only when it runs, so `tally cash issue` does not load aiohttp, the
# bench and the explorer first: each call starts in a fraction of the time.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "node": ("node.cli.node", "node.cli.consortium"),  # init|start; keygen|genesis|config
    "localnet": ("node.cli.localnet",),  # up|down|status|stop|start|add-node|time
    "bench": ("node.cli.bench",),
    "demo": ("node.cli.demo",),
    "wallet": ("wallet.cli.wallet",),  # new|import|export|list|balance
    "tx": ("wallet.cli.tx",),  # show|proof
    "proof": ("wallet.cli.tx",),  # verify
    "receivable": (
        "wallet.cli.receivable",
        "wallet.cli.receivable_repay",
        "wallet.cli.receivable_document",  # share|document
    ),
    "pay": ("wallet.cli.pay",),
    "payment": ("wallet.cli.payment",),  # show|list|find|export
    "statement": ("wallet.cli.statement",),  # camt.053, camt.054
    "fx": ("wallet.cli.fx",),  # quote|withdraw|list
    "netting": ("wallet.cli.netting",),  # open|submit|settle|show|export
    "escrow": ("wallet.cli.escrow",),  # create|release|cancel|show|list|secret
    "cash": ("wallet.cli.cash",),  # issue|redeem
    "governance": ("wallet.cli.governance",),  # propose|approve|list
    "explorer": ("explorer.cli",),
    "audit": ("explorer.cli",),
    "index": ("explorer.index.cli",),  # tally index, export|status|statement
}


def load_command(name: str) -> click.Command | None:
    """The top-level command `name`, its modules imported (None for an unknown name)."""
    modules = COMMAND_MODULES.get(name)
    if modules is None:
        return None
    found = None
    for module in modules:
        for command in importlib.import_module(module).COMMANDS:
            if command.name == name:
                found = command
    return found


class TallyGroup(click.Group):
    """The `tally` group: commands loaded when asked for (`COMMAND_MODULES`), and Ctrl-C
    anywhere ends a command with status 130 (wallet/cli/output.py), where click would say
    "Aborted!" and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=TallyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tallychain")
def tally() -> None:
    """Tallychain: a permissioned settlement network for supply-chain finance and payments.

    \b
    Which node: --node URL (repeat for failover) or --localnet DIR; else $TALLY_NODE,
    $TALLY_LOCALNET, ./localnet, ./demo-data, http://127.0.0.1:8700 (said on stderr).
    Exit status: 0 ok, 1 refused by the ledger, 2 usage, 3 no node answers, 130 interrupted.
    """


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    tally(prog_name="tally")
