"""The node processes of a localnet: spawn, tell whether one still runs, wait for it, stop it.

Nodes run as background processes in their own sessions, so they outlive the command that
started them; a pid in localnet.json is trusted only while /proc says it still runs that node.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from node.ops.layout import CONFIG_FILE, LOG_FILE, LocalnetError
from node.ops.localnet_access import localnet_reader
from wallet.request_signing import RequestSigner, signed_headers


def alive(pid: int) -> bool:
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
    return not _exited(pid)


def _exited(pid: int) -> bool:
    """The process has exited and waits for its parent to reap it (a zombie): the node was
    started by another process (`tally demo`, a test), so only that one can reap it, and
    `tally localnet stop` must not wait for that."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def is_our_node(pid: int, config: Path) -> bool:
    """The pid still runs this node (not a recycled pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return alive(pid)
    return str(config).encode() in cmdline and alive(pid)


def fetch_status(
    api: str, timeout: float = 2.0, signer: RequestSigner | None = None
) -> dict[str, Any] | None:
    """The node's /v1/status, signed by `signer` (node/ops/localnet_access.py); None when it
    gives no answer, or refuses one."""
    url = api + "/v1/status"
    request = urllib.request.Request(url, headers=signed_headers(signer, "GET", url))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: dict[str, Any] = json.loads(response.read())
            return status
    except (OSError, ValueError):
        return None


def spawn(directory: Path, name: str) -> int:
    """Start node `name` of the localnet in `directory` in the background; its pid."""
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


def wait_ready(
    directory: Path, entry: dict[str, Any], deadline: float, signer: RequestSigner | None
) -> None:
    """Until the node answers /v1/status (signed by `signer`); a coded error if it exits or the
    deadline passes."""
    while time.monotonic() < deadline:
        if fetch_status(entry["api"], timeout=1.0, signer=signer) is not None:
            return
        if not alive(entry["pid"]):
            tail = log_tail(directory / entry["name"] / LOG_FILE)
            raise LocalnetError("NODE_FAILED", f"{entry['name']} exited during start:\n{tail}")
        time.sleep(0.1)  # polling a child process: no event to await here
    raise LocalnetError("NODE_TIMEOUT", f"{entry['name']} did not answer at {entry['api']}")


def wait_connected(info: dict[str, Any], deadline: float) -> None:
    """Every validator reports the others of the set in force connected (a fresh network can
    commit). A node in no set (added but not yet in force, or removed) waits for nobody."""
    waiting = list(info["nodes"])
    signer = localnet_reader(info)
    while waiting:
        entry = waiting[0]
        answer = fetch_status(entry["api"], timeout=1.0, signer=signer)
        others = 0
        if answer is not None and answer.get("voting", True):
            others = len(answer.get("validators", info["nodes"])) - 1
        if answer is not None and answer.get("peers", 0) >= others:
            waiting.pop(0)
            continue
        if time.monotonic() >= deadline:
            raise LocalnetError(
                "NODE_TIMEOUT", f"{entry['name']} did not connect to its {others} peers"
            )
        time.sleep(0.1)  # polling another process's status: no event to await here


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_pid(pid: int, grace: float) -> None:
    """SIGTERM, then SIGKILL if the process still runs after `grace` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)  # waiting for another process to exit
    kill_pid(pid)


def kill_pid(pid: int) -> None:
    """SIGKILL at once, and return when the process is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while alive(pid):
        time.sleep(0.01)
