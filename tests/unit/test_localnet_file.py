"""localnet.json under concurrent writers (issue 17): `tally localnet start` of two nodes at
once must record both pids; a read-modify-write without the lock lost one."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from node.ops import localnet
from node.ops.layout import LOCALNET_FILE, read_info

NODES = 12
ROUNDS = 10


def _localnet_file(directory: Path) -> None:
    nodes = [{"name": f"validator-{i}", "api": f"http://127.0.0.1:{9000 + i}", "pid": 0}
             for i in range(NODES)]  # fmt: skip
    (directory / LOCALNET_FILE).write_text(json.dumps({"chain": "t", "nodes": nodes}))


def _set_pids_at_once(directory: Path, round_no: int) -> list[BaseException]:
    """Every node's pid set by its own thread, all released together; what they raised."""
    barrier = threading.Barrier(NODES)
    failures: list[BaseException] = []

    def set_pid(index: int) -> None:
        barrier.wait()
        try:
            localnet._set_pid(directory, f"validator-{index}", round_no * 1000 + index)
        except BaseException as error:  # a clobbered temporary file fails the test
            failures.append(error)

    threads = [threading.Thread(target=set_pid, args=(i,)) for i in range(NODES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_concurrent_pid_updates_lose_no_pid(tmp_path: Path) -> None:
    _localnet_file(tmp_path)
    for round_no in range(1, ROUNDS + 1):
        assert _set_pids_at_once(tmp_path, round_no) == []
        pids = {entry["name"]: entry["pid"] for entry in read_info(tmp_path)["nodes"]}
        assert pids == {f"validator-{i}": round_no * 1000 + i for i in range(NODES)}, round_no
