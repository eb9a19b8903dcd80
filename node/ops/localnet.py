"""Development networks on this machine (DESIGN.md §11): lay out, start, stop, inspect.

A localnet folder holds `genesis.json`, one folder per validator (`node.toml`,
`validator.key`, `data/`, `node.log`) and `localnet.json` (the contract: chain, genesis path,
nodes with API URL and pid, organizations with their seeds). Nodes run as background processes
in their own sessions, so they outlive the command that started them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ledger.errors import TallyError
from node.config import load_config, render_config
from node.keys import ValidatorKeys, write_keys
from node.ops.devnet import make_devnet

LOCALNET_FILE = "localnet.json"
GENESIS_FILE = "genesis.json"
CONFIG_FILE = "node.toml"
LOG_FILE = "node.log"
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class LocalnetError(TallyError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


# -- layout ------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Ports the OS calls free right now (held open together so they are distinct)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def init_network(
    directory: Path,
    nodes: int,
    *,
    chain: str = "tally-dev",
    base_port: int | None = None,
    params: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Write genesis, per-node config and key files; return localnet.json's content (pid 0)."""
    if base_port is None:
        ports = free_ports(2 * nodes)
        api_ports, p2p_ports = ports[:nodes], ports[nodes:]
    else:
        api_ports = [base_port + i for i in range(nodes)]
        p2p_ports = [base_port + 100 + i for i in range(nodes)]
    devnet = make_devnet(nodes, chain=chain, p2p_ports=p2p_ports, params=params)
    directory.mkdir(parents=True, exist_ok=True)
    genesis_path = directory / GENESIS_FILE
    genesis_path.write_text(json.dumps(devnet.genesis, indent=2) + "\n")
    entries = []
    for validator, api_port in zip(devnet.validators, api_ports, strict=True):
        node_dir = directory / validator.name
        node_dir.mkdir(parents=True, exist_ok=True)
        write_keys(
            node_dir / "validator.key",
            ValidatorKeys(validator.name, validator.ed25519, validator.bls),
        )
        (node_dir / CONFIG_FILE).write_text(
            render_config(
                name=validator.name,
                genesis=f"../{GENESIS_FILE}",
                api_port=api_port,
                p2p_listen=validator.p2p,
            )
        )
        entries.append({"name": validator.name, "api": f"http://127.0.0.1:{api_port}", "pid": 0})
    orgs = [
        {
            "id": org["id"],
            "kind": org["kind"],
            "keys": [
                {"role": role, "public": key.public.hex(), "seed": key.seed.hex()}
                for role, key in devnet.org_keys[org["id"]].items()
            ],
        }
        for org in devnet.genesis["orgs"]
    ]
    info = {"chain": chain, "genesis": str(genesis_path.resolve()), "nodes": entries, "orgs": orgs}
    write_info(directory, info)
    return info


def read_info(directory: Path) -> dict[str, Any]:
    path = directory / LOCALNET_FILE
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except OSError:
        raise LocalnetError("NO_LOCALNET", f"no {LOCALNET_FILE} in {directory}") from None
    except ValueError:
        raise LocalnetError("BAD_LOCALNET", f"{path} is not valid JSON") from None
    return info


def write_info(directory: Path, info: dict[str, Any]) -> None:
    """Replace localnet.json atomically, so a reader never sees half of it."""
    path = directory / LOCALNET_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(info, indent=2) + "\n")
    temporary.replace(path)


# -- processes ---------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)  # our own child: reap it if it exited
        if reaped:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_node(pid: int, config: Path) -> bool:
    """The pid still runs this node (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _alive(pid)
    return str(config).encode() in cmdline and _alive(pid)


def fetch_status(api: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(api + "/v1/status", timeout=timeout) as response:
            status: dict[str, Any] = json.loads(response.read())
            return status
    except (OSError, ValueError):
        return None


def _spawn(directory: Path, name: str) -> int:
    node_dir = directory / name
    config = (node_dir / CONFIG_FILE).resolve()
    with open(node_dir / LOG_FILE, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "node", "node", "start", "--config", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=node_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    return process.pid


def _wait_ready(directory: Path, entry: dict[str, Any], deadline: float) -> None:
    while time.monotonic() < deadline:
        if fetch_status(entry["api"], timeout=1.0) is not None:
            return
        if not _alive(entry["pid"]):
            tail = _log_tail(directory / entry["name"] / LOG_FILE)
            raise LocalnetError("NODE_FAILED", f"{entry['name']} exited during start:\n{tail}")
        time.sleep(0.1)  # polling a child process: no event to await here
    raise LocalnetError("NODE_TIMEOUT", f"{entry['name']} did not answer at {entry['api']}")


def _wait_connected(directory: Path, info: dict[str, Any], deadline: float) -> None:
    """Every validator reports all the others connected (a fresh network can commit)."""
    others = len(info["nodes"]) - 1
    waiting = list(info["nodes"])
    while waiting:
        entry = waiting[0]
        answer = fetch_status(entry["api"], timeout=1.0)
        if answer is not None and answer.get("peers", 0) >= others:
            waiting.pop(0)
            continue
        if time.monotonic() >= deadline:
            raise LocalnetError(
                "NODE_TIMEOUT", f"{entry['name']} did not connect to its {others} peers"
            )
        time.sleep(0.1)  # polling another process's status: no event to await here


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop_pid(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.05)  # waiting for another process to exit
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while _alive(pid):
        time.sleep(0.01)


def _entry(info: dict[str, Any], name: str) -> dict[str, Any]:
    for entry in info["nodes"]:
        if entry["name"] == name:
            return dict(entry)
    names = ", ".join(e["name"] for e in info["nodes"])
    raise LocalnetError("UNKNOWN_NODE", f"no node {name!r} (nodes: {names})")


def _running(directory: Path, entry: dict[str, Any]) -> bool:
    return _is_our_node(
        int(entry.get("pid", 0)), (directory / entry["name"] / CONFIG_FILE).resolve()
    )


# -- commands ----------------------------------------------------------------------------------


def up(
    directory: Path,
    nodes: int,
    *,
    chain: str = "tally-dev",
    base_port: int | None = None,
    fresh: bool = False,
    params: dict[str, int] | None = None,
    say: Say = _quiet,
) -> dict[str, Any]:
    """Start (or reuse) a localnet in `directory`; return once every node answers."""
    directory = directory.resolve()
    if (directory / LOCALNET_FILE).exists() and not fresh:
        info = read_info(directory)
        if info.get("chain") != chain or len(info.get("nodes", [])) != nodes:
            raise LocalnetError(
                "LOCALNET_MISMATCH",
                f"{directory} holds chain {info.get('chain')!r} with "
                f"{len(info.get('nodes', []))} nodes; use --fresh to replace it",
            )
        say(f"Reusing the localnet in {directory} (same genesis: chain {chain}, {nodes} nodes).")
    else:
        if directory.exists() and any(directory.iterdir()):
            if not fresh and not (directory / LOCALNET_FILE).exists():
                raise LocalnetError(
                    "DIR_NOT_EMPTY", f"{directory} is not empty and holds no localnet"
                )
            if (directory / LOCALNET_FILE).exists():
                down(directory)
            say(f"Replacing the localnet in {directory}.")
            shutil.rmtree(directory)
        info = init_network(directory, nodes, chain=chain, base_port=base_port, params=params)
        say(f"Created a {nodes}-validator localnet in {directory}.")
    deadline = time.monotonic() + READY_TIMEOUT_S
    started = []
    for entry in info["nodes"]:
        if _running(directory, entry):
            say(f"  {entry['name']} already running (pid {entry['pid']}).")
            continue
        entry["pid"] = _spawn(directory, entry["name"])
        started.append(entry)
    write_info(directory, info)
    try:
        for entry in started:
            _wait_ready(directory, entry, deadline)
            say(f"  {entry['name']} up at {entry['api']} (pid {entry['pid']}).")
        if len(info["nodes"]) > 1:
            _wait_connected(directory, info, deadline)
            say("  validators connected to each other.")
    except LocalnetError:
        down(directory)
        raise
    return info


def down(directory: Path, grace: float = STOP_GRACE_S, say: Say = _quiet) -> list[str]:
    """Stop every node (SIGTERM, then SIGKILL after `grace` seconds); data stays."""
    directory = directory.resolve()
    info = read_info(directory)
    stopped = []
    for entry in info["nodes"]:
        if _running(directory, entry):
            _stop_pid(int(entry["pid"]), grace)
            stopped.append(entry["name"])
            say(f"  stopped {entry['name']} (pid {entry['pid']}).")
        entry["pid"] = 0
    write_info(directory, info)
    return stopped


def status(directory: Path) -> list[dict[str, Any]]:
    directory = directory.resolve()
    info = read_info(directory)
    rows = []
    for entry in info["nodes"]:
        answer = fetch_status(entry["api"]) if _running(directory, entry) else None
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
        _stop_pid(int(entry["pid"]), grace)
    _set_pid(directory, name, 0)
    return was_running


def kill_node(directory: Path, name: str) -> None:
    """SIGKILL one node at once (crash tests); data stays as the crash left it."""
    directory = directory.resolve()
    entry = _entry(read_info(directory), name)
    if _running(directory, entry):
        os.kill(int(entry["pid"]), signal.SIGKILL)
        while _alive(int(entry["pid"])):
            time.sleep(0.01)
    _set_pid(directory, name, 0)


def start_node(directory: Path, name: str) -> dict[str, Any]:
    """(Re)start one node on its existing data; update its pid in localnet.json."""
    directory = directory.resolve()
    entry = _entry(read_info(directory), name)
    if _running(directory, entry):
        return entry
    entry["pid"] = _spawn(directory, name)
    _set_pid(directory, name, entry["pid"])
    _wait_ready(directory, entry, time.monotonic() + READY_TIMEOUT_S)
    return entry


def _set_pid(directory: Path, name: str, pid: int) -> None:
    info = read_info(directory)
    for entry in info["nodes"]:
        if entry["name"] == name:
            entry["pid"] = pid
    write_info(directory, info)


def node_config_path(directory: Path, name: str) -> Path:
    return directory / name / CONFIG_FILE


def node_api(directory: Path, name: str) -> str:
    config = load_config(node_config_path(directory, name))
    return f"http://{config.api_host}:{config.api_port}"
