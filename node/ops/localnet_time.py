"""`tally localnet time`: move a development chain's block clock forward, or show it.

The clock offset is chain state, moved by a bank admin's `clock.advance` transaction
(contracts/devclock.py), so every validator applies it at the same height and a restarted one
reads it back from its store. This module signs that transaction with `bank-a`'s admin key
from localnet.json, then commits one `clock.tick` so a block shows the new time, and waits until
every running node holds that block: the answer names the block time and each node's hash.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.devclock import DAY_MS, MAX_ADVANCE_DAYS
from ledger.errors import TallyError
from node.ops import processes
from node.ops.layout import CONFIG_FILE, LocalnetError, read_info
from node.ops.localnet_access import localnet_client, localnet_reader
from wallet.client import Client
from wallet.localnet_keys import localnet_key

SIGNER_ORG = "bank-a"
AGREE_TIMEOUT_S = 60.0
_WHOLE_DAYS = re.compile(r"[0-9]{1,6}")


def parse_days(text: str) -> int:
    """`--advance`'s value: a whole number of days from 1 to MAX_ADVANCE_DAYS, or BAD_ADVANCE
    (the contract checks the same range again; this answers before anything is signed)."""
    stripped = text.strip()
    if not _WHOLE_DAYS.fullmatch(stripped) or not 1 <= int(stripped) <= MAX_ADVANCE_DAYS:
        raise LocalnetError(
            "BAD_ADVANCE",
            f"--advance takes a whole number of days from 1 to {MAX_ADVANCE_DAYS}, "
            f"not {text!r} (the block clock only moves forward)",
        )
    return int(stripped)


def utc(time_ms: int) -> str:
    """Block-time milliseconds as a UTC date-time, to the second."""
    return datetime.fromtimestamp(time_ms // 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _running_nodes(directory: Path, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of localnet.json whose process runs and answers /v1/status."""
    running = []
    for entry in info["nodes"]:
        config = (directory / entry["name"] / CONFIG_FILE).resolve()
        if processes.is_our_node(int(entry.get("pid", 0)), config):
            running.append(entry)
    if not running:
        raise LocalnetError("LOCALNET_DOWN", f"no node of the localnet in {directory} is running")
    return running


def _call(client: Client, info: dict[str, Any], method: str, args: dict[str, Any]) -> Any:
    """One committed `clock.<method>` call signed by bank-a's admin; its receipt."""
    key = localnet_key(info, SIGNER_ORG, "admin")
    try:
        return client.call(key, "clock", method, args)
    except TallyError as error:  # TxFailed or ApiError: both carry the chain's code
        hint = ""
        if error.code == "NOT_DEVELOPMENT_CHAIN":
            hint = (
                "; a localnet laid out before `tally localnet time` existed lacks the marker: "
                "recreate it with `tally localnet up --fresh`"
            )
        raise LocalnetError(error.code, error.message + hint) from None


def _agreement(
    info: dict[str, Any], nodes: list[dict[str, Any]], height: int
) -> list[dict[str, Any]]:
    """Each running node's block at `height` once it holds it: name, hash and time."""
    deadline = time.monotonic() + AGREE_TIMEOUT_S
    rows = []
    for entry in nodes:
        client = localnet_client(info, entry["api"], timeout=5.0)
        while True:
            status = processes.fetch_status(entry["api"], 2.0, client.request_signer)
            if status is not None and status["height"] >= height:
                break
            if time.monotonic() >= deadline:
                raise LocalnetError(
                    "NODE_BEHIND", f"{entry['name']} did not reach height {height} in time"
                )
            time.sleep(0.1)  # polling another process's status: no event to await here
        block = client.block(height)
        rows.append({"name": entry["name"], "hash": block["hash"], "time_ms": block["time_ms"]})
    if len({row["hash"] for row in rows}) != 1:
        raise LocalnetError("NODES_DISAGREE", f"the nodes hold different blocks at {height}")
    return rows


def advance(directory: Path, days: int) -> dict[str, Any]:
    """Move the block clock `days` forward on every node; what the next block shows."""
    directory = directory.resolve()
    info = read_info(directory)
    nodes = _running_nodes(directory, info)
    client = localnet_client(info, nodes[0]["api"], org=SIGNER_ORG, role="admin")
    moved = _call(client, info, "advance", {"days": days})
    shown = _call(client, info, "tick", {})
    height = int(shown["height"])
    rows = _agreement(info, nodes, height)
    time_ms = int(rows[0]["time_ms"])
    offset_ms = int(moved["result"]["offset_ms"])
    return {
        "chain": info["chain"],
        "advanced_days": days,
        "offset_ms": offset_ms,
        "offset_days": offset_ms // DAY_MS,
        "from_height": int(moved["result"]["from_height"]),
        "height": height,
        "time_ms": time_ms,
        "time": utc(time_ms),
        "nodes": rows,
        "down": [e["name"] for e in info["nodes"] if e not in nodes],
    }


def show(directory: Path) -> dict[str, Any]:
    """The chain's clock as a running node sees it: its tip's block time and the offset."""
    directory = directory.resolve()
    info = read_info(directory)
    first = _running_nodes(directory, info)[0]["api"]
    status = processes.fetch_status(first, signer=localnet_reader(info))
    if status is None:
        raise LocalnetError("LOCALNET_DOWN", f"no node of the localnet in {directory} answers")
    offset_ms = int(status.get("clock_offset_ms", 0))
    return {
        "chain": info["chain"],
        "height": status["height"],
        "time_ms": status["time_ms"],
        "time": utc(status["time_ms"]),
        "offset_ms": offset_ms,
        "offset_days": offset_ms // DAY_MS,
    }
