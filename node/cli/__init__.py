"""The `tally` entry point: mounts the command groups each package owns (DESIGN.md §12)."""

from __future__ import annotations

import importlib
import logging

import click

# Modules that expose `COMMANDS: list[click.Command]`; each package owns its own.
COMMAND_MODULES = (
    "node.cli.node",  # tally node init|start
    "node.cli.consortium",  # tally node keygen|genesis (a real consortium, keys kept apart)
    "node.cli.localnet",  # tally localnet up|down|status|stop|start
    "node.cli.bench",  # tally bench
    "node.cli.demo",  # tally demo
    "wallet.cli.wallet",  # tally wallet new|import|export|list|balance
    "wallet.cli.tx",  # tally tx show|proof
    "wallet.cli.receivable",  # tally receivable ...
    "wallet.cli.receivable_repay",  # tally receivable repay|default|recourse|dispute|settle
    "wallet.cli.receivable_document",  # tally receivable share|document
    "wallet.cli.pay",  # tally pay
    "wallet.cli.payment",  # tally payment show|list|find|export
    "wallet.cli.statement",  # tally statement (camt.053, camt.054)
    "wallet.cli.fx",  # tally fx quote|withdraw|list
    "wallet.cli.netting",  # tally netting open|submit|settle|show|export
    "wallet.cli.escrow",  # tally escrow create|release|cancel|show|list|secret
    "wallet.cli.cash",  # tally cash issue|redeem
    "wallet.cli.governance",  # tally governance propose|approve|list
    "explorer.cli",  # tally explorer, tally audit
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tallychain")
def tally() -> None:
    """Tallychain: a permissioned settlement network for supply-chain finance and payments."""


def _mount() -> None:
    for name in COMMAND_MODULES:
        for command in importlib.import_module(name).COMMANDS:
            tally.add_command(command)


_mount()


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    tally(prog_name="tally")
