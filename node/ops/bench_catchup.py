"""`tally bench --catchup [replay|snapshot]`: how fast a stopped validator catches up, against
the commit rate.

After the main measurement the last validator is stopped (its data kept), the others take a
second full load of `txs` fresh transfers (their committed tx/s is the commit rate), then the
stopped one is restarted and timed from its spawn until it reports the others' tip. Its
catch-up rate is the second load's committed txs over that time, which includes the node's
own Python start and its peer handshakes (but no `tally` CLI's start); `catchup_ratio` =
catch-up rate / commit rate. It needs at least four validators, so that the three left can
still commit.

The path is chosen, not left to the gap's size: for `replay` the stopped node's config is set
never to take a snapshot (`snapshot_behind_heights = 0`), for `snapshot` to take one whenever
it is a height behind, and its `tally_snapshot_installed` counter afterwards must show that
path was taken, or the run is refused rather than mislabelled. The config is put back after.
A snapshot catch-up's time hardly depends on the gap (the state's size does: DESIGN.md §7),
so its ratio grows with `--txs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from node.config import with_snapshot_behind
from node.ops import localnet
from node.ops.bench import run_load
from node.ops.bench_net import BenchError
from node.ops.bench_report import CATCHUP_BY
from node.ops.bench_workload import Progress, build_workload
from node.ops.layout import node_config_path
from node.ops.localnet_access import localnet_client
from wallet.client import ApiError, Client

MIN_NODES = 4
POLL_S = 0.05
CATCHUP_TIMEOUT_S = 600.0
# Each path's snapshot_behind_heights for the restart: never, or whenever a height behind.
SNAPSHOT_BEHIND = dict(zip(CATCHUP_BY, (0, 1), strict=True))
INSTALLED_METRIC = "tally_snapshot_installed"


@dataclass(frozen=True, slots=True)
class CatchupResult:
    by: str  # "replay" or "snapshot"
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
    by: str = "replay",
) -> CatchupResult:
    """Stop the last node, load the others with `txs` transfers (`load`: run_load's batch,
    connections and commit_timeout), restart it to catch up `by` replay or snapshot, and time
    its catch-up."""
    stopped, others = info["nodes"][-1], info["nodes"][:-1]
    localnet.stop_node(directory, stopped["name"])
    first = localnet_client(info, others[0]["api"])
    with _restart_config(node_config_path(directory, stopped["name"]), by):
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
    restarted = localnet_client(info, stopped["api"])
    _await_height(restarted, tip, started + CATCHUP_TIMEOUT_S)
    seconds = max(time.monotonic() - started, 1e-9)
    _require_path(restarted, by)
    return CatchupResult(by, measured.tps, measured.committed, seconds)


@contextlib.contextmanager
def _restart_config(config: Path, by: str) -> Iterator[None]:
    """The stopped node's config set to catch up `by`, put back once it has restarted (a node
    reads its config only at start)."""
    original = config.read_text()
    config.write_text(with_snapshot_behind(original, SNAPSHOT_BEHIND[by]))
    try:
        yield
    finally:
        config.write_text(original)


def _require_path(client: Client, by: str) -> None:
    """The restarted node caught up the way asked: a snapshot installed, or none."""
    installed = snapshots_installed(client.get_bytes("/metrics").decode())
    if (installed > 0) != (by == "snapshot"):
        taken = "installed a snapshot" if installed else "replayed every block"
        raise BenchError("CATCHUP_PATH", f"catch-up by {by} was asked, the node {taken}")


def snapshots_installed(metrics_text: str) -> int:
    """The `tally_snapshot_installed` counter in a node's /metrics text (0 if absent)."""
    for family in text_string_to_metric_families(metrics_text):
        if family.name == INSTALLED_METRIC:
            totals = [sample.value for sample in family.samples if sample.name.endswith("_total")]
            return int(sum(totals))
    return 0


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
