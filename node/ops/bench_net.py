"""The network `tally bench` measures: a localnet with 100+ extra organizations, and the node
processes' CPU and memory read from /proc.

The development cast has ten organizations; a realistic load spreads transfers over many more,
so the bench lays out an ordinary localnet (node.ops.layout.init_network), adds enterprise
organizations to its genesis and localnet.json before any node has started, then starts it with
`tally localnet up`, which reuses a folder whose chain and node count match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from node.ops.devnet import KYC_EXPIRES
from node.ops.layout import (
    DEFAULT_LOCALNET_ACCESS,
    GENESIS_FILE,
    LOCALNET_FILE,
    init_network,
    read_info,
    write_info,
)

# Transfers are valid for this many blocks: a long run must not outlive its transactions.
BENCH_PARAMS = {"max_tx_validity": 100_000}
START_TIMEOUT_S = 180


class BenchError(TallyError):
    pass


def extra_org_id(index: int) -> str:
    return f"bench-org-{index:03d}"


def layout(
    directory: Path, nodes: int, extra_orgs: int, access: str = DEFAULT_LOCALNET_ACCESS
) -> dict[str, Any]:
    """Write a localnet folder whose genesis also holds `extra_orgs` enterprises; its API's
    `access` as given ("members": the load's requests are signed)."""
    info = init_network(directory, nodes, params=dict(BENCH_PARAMS), access=access)
    genesis_path = directory / GENESIS_FILE
    genesis = json.loads(genesis_path.read_text())
    for index in range(extra_orgs):
        org_id = extra_org_id(index)
        operator = Ed25519Key.generate()
        genesis["orgs"].append(
            {
                "id": org_id,
                "name": f"Bench Org {index:03d}",
                "kind": "enterprise",
                "jurisdiction": "CN",
                "keys": [{"public": operator.public.hex(), "role": "operator"}],
                "kyc_expires": KYC_EXPIRES,
                "sanctioned": False,
                "daily_limits": {},
            }
        )
        info["orgs"].append(
            {
                "id": org_id,
                "kind": "enterprise",
                "keys": [
                    {
                        "role": "operator",
                        "public": operator.public.hex(),
                        "seed": operator.seed.hex(),
                    }
                ],
            }
        )
    genesis_path.write_text(json.dumps(genesis, indent=2) + "\n")
    write_info(directory, info)
    return info


def tally(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=START_TIMEOUT_S,
    )


def start(directory: Path, nodes: int) -> dict[str, Any]:
    """`tally localnet up` on the prepared folder; the localnet.json with pids."""
    done = tally("localnet", "up", "--nodes", str(nodes), "--dir", str(directory))
    if done.returncode != 0:
        raise BenchError("LOCALNET_FAILED", (done.stderr or done.stdout).strip()[-2000:])
    return read_info(directory)


def stop(directory: Path) -> None:
    """`tally localnet down`; quiet, because it runs during cleanup."""
    if (directory / LOCALNET_FILE).exists():
        tally("localnet", "down", "--dir", str(directory))


# -- /proc -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProcSample:
    cpu_seconds: float  # user + system time so far
    peak_rss_mb: float  # VmHWM


def sample(pid: int) -> ProcSample | None:
    """CPU time and peak resident memory of a process, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak_kb = 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return ProcSample(cpu, peak_kb / 1024)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
