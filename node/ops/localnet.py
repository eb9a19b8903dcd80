"""Development networks on this machine (DESIGN.md §11): lay out, start, stop, inspect.

The folder and its localnet.json are node.ops.layout's, the processes node.ops.processes';
this module holds the commands over both, and re-exports the layout's names that callers use
with them (`LOCALNET_FILE`, `read_info`, `free_ports`, ...), so it is the one module they need.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from node.ops import processes
from node.ops.layout import (
    CONFIG_FILE,
    DEFAULT_LOCALNET_ACCESS,
    LOCALNET_FILE,
    LocalnetError,
    free_ports,
    init_network,
    read_info,
    updating_info,
    write_info,
)
from node.ops.localnet_access import localnet_reader

__all__ = [
    "CONFIG_FILE",
    "LOCALNET_FILE",
    "LocalnetError",
    "down",
    "free_ports",
    "init_network",
    "kill_node",
    "read_info",
    "start_node",
    "status",
    "stop_node",
    "up",
    "updating_info",
    "write_info",
]

READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def _entry(info: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in info["nodes"]:
        if entry["name"] == name:
            return dict(entry)
    names = ", ".join(e["name"] for e in info["nodes"])
    raise LocalnetError("UNKNOWN_NODE", f"no node {name!r} (nodes: {names})")


def _running(directory: Path, entry: dict[str, Any]) -> bool:
    return processes.is_our_node(
        int(entry.get("pid", 0)), (directory / entry["name"] / CONFIG_FILE).resolve()
    )


def _set_pid(directory: Path, name: str, pid: int) -> None:
    with updating_info(directory) as info:
        for entry in info["nodes"]:
            if entry["name"] == name:
                entry["pid"] = pid


def _reuse(directory: Path, nodes: int, chain: str, say: Say) -> dict[str, Any]:
    """The localnet.json of a folder whose chain and node count match what was asked for."""
    info = read_info(directory)
    genesis_nodes = [e for e in info.get("nodes", []) if not e.get("added")]
    if info.get("chain") != chain or len(genesis_nodes) != nodes:
        raise LocalnetError(
            "LOCALNET_MISMATCH",
            f"{directory} holds chain {info.get('chain')!r} with "
            f"{len(info.get('nodes', []))} nodes; use --fresh to replace it",
        )
    say(f"Reusing the localnet in {directory} (same genesis: chain {chain}, {nodes} nodes).")
    return info


def _clear(directory: Path, fresh: bool, say: Say) -> None:
    """Empty the folder for a new localnet: only with `fresh`, or if it holds a localnet."""
    if not (directory.exists() and any(directory.iterdir())):
        return
    if not fresh and not (directory / LOCALNET_FILE).exists():
        raise LocalnetError("DIR_NOT_EMPTY", f"{directory} is not empty and holds no localnet")
    if (directory / LOCALNET_FILE).exists():
        down(directory)
    say(f"Replacing the localnet in {directory}.")
    shutil.rmtree(directory)


def _start_all(directory: Path, info: dict[str, Any], say: Say) -> None:
    """Spawn every node not already running; return once each answers and, with peers,
    all are connected. On failure, stop them all."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    started = []
    for entry in info["nodes"]:
        if _running(directory, entry):
            say(f"  {entry['name']} already running (pid {entry['pid']}).")
            continue
        entry["pid"] = processes.spawn(directory, entry["name"])
        started.append(entry)
    pids = {entry["name"]: entry["pid"] for entry in started}
    with updating_info(directory) as current:  # a concurrent `start` keeps its pid
        for entry in current["nodes"]:
            entry["pid"] = pids.get(entry["name"], entry["pid"])
    try:
        for entry in started:
            processes.wait_ready(directory, entry, deadline, localnet_reader(info))
            say(f"  {entry['name']} up at {entry['api']} (pid {entry['pid']}).")
        if len(info["nodes"]) > 1:
            processes.wait_connected(info, deadline)
            say("  validators connected to each other.")
    except LocalnetError:
        down(directory)
        raise


def up(
    directory: Path,
    nodes: int,
    *,
    chain: str = "tally-dev",
    base_port: int | None = None,
    fresh: bool = False,
    params: dict[str, int] | None = None,
    membership: bool = False,
    access: str = DEFAULT_LOCALNET_ACCESS,
    say: Say = _quiet,
) -> dict[str, Any]:
    """Start (or reuse) a localnet in `directory`; return once every node answers.
    `membership`: a genesis whose validator set governance may change; `access`: its nodes'
    `api.access` ("members": every request signed, DESIGN.md §9; "open" for old clients)."""
    directory = directory.resolve()
    if (directory / LOCALNET_FILE).exists() and not fresh:
        info = _reuse(directory, nodes, chain, say)
    else:
        _clear(directory, fresh, say)
        info = init_network(
            directory,
            nodes,
            chain=chain,
            base_port=base_port,
            params=params,
            membership=membership,
            access=access,
        )
        say(f"Created a {nodes}-validator localnet in {directory}.")
    _start_all(directory, info, say)
    return info


def down(directory: Path, grace: float = STOP_GRACE_S, say: Say = _quiet) -> list[str]:
    """Stop every node (SIGTERM, then SIGKILL after `grace` seconds); data stays."""
    directory = directory.resolve()
    info = read_info(directory)
    stopped = []
    for entry in info["nodes"]:
        if _running(directory, entry):
            processes.stop_pid(int(entry["pid"]), grace)
            stopped.append(entry["name"])
            say(f"  stopped {entry['name']} (pid {entry['pid']}).")
    seen = {entry["name"]: entry["pid"] for entry in info["nodes"]}
    with updating_info(directory) as current:  # a pid a concurrent `start` wrote stays
        for entry in current["nodes"]:
            if entry["pid"] == seen.get(entry["name"]):
                entry["pid"] = 0
    return stopped


def status(directory: Path) -> list[dict[str, Any]]:
    directory = directory.resolve()
    info = read_info(directory)
    rows = []
    signer = localnet_reader(info)
    for entry in info["nodes"]:
        running = _running(directory, entry)
        answer = processes.fetch_status(entry["api"], signer=signer) if running else None
        rows.append(
            {
                "name": entry["name"],
                "api": entry["api"],
                "pid": entry["pid"],
                "up": answer is not None,
                "height": None if answer is None else answer["height"],
                "view": None if answer is None else answer["view"],
                "primary": None if answer is None else answer.get("primary"),
                "peers": None if answer is None else answer["peers"],
                "mempool": None if answer is None else answer["mempool"],
            }
        )
    return rows


def stop_node(directory: Path, name: str, grace: float = STOP_GRACE_S) -> bool:
    """Stop one node, keeping its data; False if it was not running."""
    directory = directory.resolve()
    info = read_info(directory)
    entry = _entry(info, name)
    was_running = _running(directory, entry)
    if was_running:
        processes.stop_pid(int(entry["pid"]), grace)
    _set_pid(directory, name, 0)
    return was_running


def kill_node(directory: Path, name: str) -> None:
    """SIGKILL one node at once (crash tests); data stays as the crash left it."""
    directory = directory.resolve()
    entry = _entry(read_info(directory), name)
    if _running(directory, entry):
        processes.kill_pid(int(entry["pid"]))
    _set_pid(directory, name, 0)


def start_node(directory: Path, name: str) -> dict[str, Any]:
    """(Re)start one node on its existing data; update its pid in localnet.json."""
    directory = directory.resolve()
    with updating_info(directory) as info:  # one starter at a time decides and records a pid
        entry = _entry(info, name)
        if _running(directory, entry):
            return entry
        entry["pid"] = processes.spawn(directory, name)
        for listed in info["nodes"]:
            if listed["name"] == name:
                listed["pid"] = entry["pid"]
    processes.wait_ready(
        directory, entry, time.monotonic() + READY_TIMEOUT_S, localnet_reader(info)
    )
    return entry
