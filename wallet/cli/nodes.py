"""Which nodes a `tally` command talks to, and which localnet's keys `--as` signs with: chosen
by a fixed order that never guesses silently (issue 17).

1. `--node URL` (repeat it, or separate URLs by commas): those nodes, in that order.
2. `--localnet DIR`: every node of that localnet; DIR must hold a localnet.json.
3. `$TALLY_NODE` (URLs as for --node), then `$TALLY_LOCALNET` (a folder, as for --localnet).
4. `./localnet`, then `./demo-data`: the first that holds a localnet.json.
5. http://127.0.0.1:8700.

A folder named by the user (--localnet, $TALLY_LOCALNET) that is not a localnet is a usage error,
never a reason to look elsewhere. Whatever steps 3 to 5 pick is said on stderr, so nobody commits
to a chain they did not mean. `--as` takes its keys from the localnet of step 2, 3 or 4.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import TallyError

DEFAULT_NODE = "http://127.0.0.1:8700"
WORKING_FOLDER_LOCALNETS = ("localnet", "demo-data")
LOCALNET_FILE = "localnet.json"


class UsageProblem(TallyError):
    """The command as given cannot run (a missing folder, two signers): exit status 2."""


def read_localnet(directory: str) -> dict[str, Any]:
    """The localnet.json of `directory` (with `_dir` set), or UsageProblem saying what is wrong."""
    folder = Path(directory)
    path = folder / LOCALNET_FILE
    if not folder.is_dir():
        raise UsageProblem("NO_LOCALNET", f"no localnet folder {directory}")
    if not path.is_file():
        raise UsageProblem("NOT_A_LOCALNET", f"{directory} holds no {LOCALNET_FILE}")
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        raise UsageProblem("BAD_LOCALNET", f"{path} is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise UsageProblem("BAD_LOCALNET", f"{path} lists no nodes")
    data["_dir"] = str(folder)
    return data


def find_localnet(directory: str | None = None) -> dict[str, Any] | None:
    """The localnet of --localnet DIR, else of $TALLY_LOCALNET, else of ./localnet or
    ./demo-data; None when there is none (a named folder that is not one is an error)."""
    named = directory or os.environ.get("TALLY_LOCALNET")
    if named:
        return read_localnet(named)
    for candidate in WORKING_FOLDER_LOCALNETS:
        if (Path(candidate) / LOCALNET_FILE).is_file():
            return read_localnet(candidate)
    return None


def _urls(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return tuple(url.strip() for value in values for url in value.split(",") if url.strip())


def _localnet_urls(net: dict[str, Any]) -> tuple[str, ...]:
    urls = tuple(str(entry["api"]) for entry in net["nodes"] if entry.get("api"))
    if not urls:
        raise UsageProblem("BAD_LOCALNET", f"the localnet in {net['_dir']} lists no node")
    return urls


@dataclass(frozen=True, slots=True)
class NodeChoice:
    """The nodes to talk to, the localnet (if any) and, when the user named neither, how they
    were found (said on stderr)."""

    urls: tuple[str, ...]
    localnet: dict[str, Any] | None
    picked: str | None = None


def choose_nodes(nodes: tuple[str, ...], localnet_dir: str | None) -> NodeChoice:
    """Apply the lookup order of this module's docstring."""
    if localnet_dir:
        net = read_localnet(localnet_dir)
        return NodeChoice(_urls(nodes) or _localnet_urls(net), net)
    if _urls(nodes):
        return NodeChoice(_urls(nodes), None)
    from_env = _urls([os.environ.get("TALLY_NODE", "")])
    if from_env:
        return NodeChoice(from_env, None, f"nodes from $TALLY_NODE: {', '.join(from_env)}")
    if os.environ.get("TALLY_LOCALNET"):
        net = read_localnet(os.environ["TALLY_LOCALNET"])
        return NodeChoice(_localnet_urls(net), net, f"localnet {net['_dir']} from $TALLY_LOCALNET")
    found = find_localnet()
    if found is not None:
        where = f"localnet {found['_dir']}/ found in the working folder"
        return NodeChoice(_localnet_urls(found), found, where)
    return NodeChoice((DEFAULT_NODE,), None, f"no --node or --localnet: trying {DEFAULT_NODE}")
