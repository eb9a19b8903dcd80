"""The `tally` entry point loads a command's modules only when it runs: the table of
top-level commands must name every command those modules build, and nothing else."""

from __future__ import annotations

import importlib
import subprocess
import sys

from node.cli import COMMAND_MODULES, load_command


def test_every_listed_command_loads_and_every_built_command_is_listed() -> None:
    built = set()
    for modules in COMMAND_MODULES.values():
        for module in modules:
            built |= {command.name for command in importlib.import_module(module).COMMANDS}
    assert built == set(COMMAND_MODULES)
    for name in COMMAND_MODULES:
        command = load_command(name)
        assert command is not None and command.name == name
    assert load_command("no-such-command") is None


def test_a_wallet_command_starts_without_the_node_and_explorer_modules() -> None:
    """`tally cash ...` imported aiohttp, the bench and the explorer first (~1 s a call)."""
    heavy = "('aiohttp', 'node.ops.bench', 'explorer.app')"
    probe = (
        "import sys; from node.cli import load_command; load_command('cash'); "
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_subcommands_that_other_modules_add_are_there() -> None:
    node = load_command("node")
    receivable = load_command("receivable")
    assert node is not None and receivable is not None
    assert {"keygen", "genesis"} <= set(getattr(node, "commands", {}))
    assert {"repay", "recourse", "dispute"} <= set(getattr(receivable, "commands", {}))
