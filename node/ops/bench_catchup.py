"""`tally bench --catchup`: how fast a stopped validator catches up, against the commit rate.

After the main measurement the last validator is stopped (its data kept), the others take a
second full load of `txs` fresh transfers (their committed tx/s is the commit rate), then the
stopped one is restarted and timed from its spawn until it reports the others' tip. Its
catch-up rate is the second load's committed txs over that time, which includes the node's
own Python start and its peer handshakes (but no `tally` CLI's start); `catchup_ratio` =
catch-up rate / commit rate. It needs at least four validators, so that the three left can
still commit.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from node.ops import localnet
from node.ops.bench import run_load
from node.ops.bench_net import BenchError
from node.ops.bench_workload import Progress, build_workload
from node.ops.localnet_access import localnet_client
from wallet.client import ApiError, Client

MIN_NODES = 4
POLL_S = 0.05
CATCHUP_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class CatchupResult:
    commit_tps: float  # the others' committed tx/s while the node was down
    caught_up_txs: int  # what it had to catch up on (the second load's committed txs)
    seconds: float  # restart to the others' tip

    @property
    def ratio(self) -> float:
        return self.caught_up_txs / self.seconds / self.commit_tps if self.commit_tps else 0.0


def require_enough_nodes(nodes: int) -> None:
    if nodes < MIN_NODES:
        raise BenchError("CATCHUP_NEEDS_4", f"--catchup needs at least {MIN_NODES} validators")


def measure_catchup(
    directory: Path,
    info: dict[str, Any],
    txs: int,
    load: dict[str, Any],
    progress: Progress,
) -> CatchupResult:
    """Stop the last node, load the others with `txs` transfers (`load`: run_load's batch,
    connections and commit_timeout), restart it and time its catch-up."""
    stopped, others = info["nodes"][-1], info["nodes"][:-1]
    localnet.stop_node(directory, stopped["name"])
    first = localnet_client(info, others[0]["api"])
    workload = build_workload(info, txs, first.height(), progress)
    measured = asyncio.run(
        run_load(
            [entry["api"] for entry in others],
            workload,
            rate=None,
            **load,
            progress=progress,
            signer=first.request_signer,
        )
    )
    tip = first.height()
    started = time.monotonic()
    _restart(directory, stopped["name"])
    _await_height(localnet_client(info, stopped["api"]), tip, started + CATCHUP_TIMEOUT_S)
    return CatchupResult(
        commit_tps=measured.tps,
        caught_up_txs=measured.committed,
        seconds=max(time.monotonic() - started, 1e-9),
    )


def _restart(directory: Path, name: str) -> None:
    """Spawn the node from this process, as `tally localnet start` would, and reap it from a
    thread when it exits: a stopped child left unreaped would look alive to `localnet down`,
    which would wait for it."""
    pid = int(localnet.start_node(directory, name)["pid"])
    threading.Thread(target=_reap, args=(pid,), name=f"reap-{name}", daemon=True).start()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # already reaped by processes.alive during the start


def _await_height(client: Client, tip: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if client.height() >= tip:
                return
        except ApiError:
            pass  # still starting
        time.sleep(POLL_S)
    raise BenchError("CATCHUP_TIMEOUT", f"the restarted node did not reach height {tip}")
