"""`tally bench` end to end on a real localnet it starts itself, and its cleanup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.ops import bench, bench_net

pytestmark = pytest.mark.slow


def _our_processes(marker: str) -> list[int]:
    """Pids whose command line mentions `marker` (the bench's private temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            found.append(int(entry.name))
    return found


def test_bench_reports_the_section_13_fields_and_cleans_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "node", "bench", "--txs", "400", "--orgs", "100", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    for name in ("nodes", "txs", "tps", "ceiling_tps", "ratio", "latency_ms", "cpu", "rss_mb"):
        assert name in report
    assert report["nodes"] == 1
    assert report["orgs"] >= 100
    assert report["committed"] == report["txs"] == 400
    assert report["rejected"] == {}
    assert report["tps"] > 0 and report["ceiling_tps"] > 0
    assert report["ratio"] == pytest.approx(report["tps"] / report["ceiling_tps"], abs=1e-3)
    latency = report["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert len(report["cpu"]) == 1 and report["rss_mb"] > 0
    assert len(report["cpu_us_per_tx"]) == 1 and report["cpu_us_per_tx"][0] > 0
    assert list(tmp_path.iterdir()) == []
    assert _our_processes(str(tmp_path)) == []


def _as_a_background_job() -> None:
    """What a shell does to a job started with `&` (and what a loaded CI runner may pass on):
    SIGINT ignored. The bench used to inherit that, run to its end and exit 0 when interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_interrupted_bench_stops_its_localnet(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "node", "bench", "--txs", "200000", "--orgs", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path), "COLUMNS": "200"},
        preexec_fn=_as_a_background_job,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the localnet is up once the bench measures Ed25519
            if "Measuring" in line:
                break
        assert _our_processes(str(tmp_path)) != []  # the nodes really are running
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert _our_processes(str(tmp_path)) == []
    assert list(tmp_path.iterdir()) == []


def test_bench_against_a_missing_localnet_is_a_coded_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "node", "bench", "--localnet", str(tmp_path / "nope"), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2  # usage: the folder named is not a localnet
    assert json.loads(done.stdout)["error"]["code"] == "NO_LOCALNET"


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 0.50) == 50.0
    assert bench.percentile(values, 0.95) == 95.0
    assert bench.percentile(values, 0.99) == 99.0
    assert bench.percentile([7.0], 0.99) == 7.0
    assert bench.percentile([], 0.5) == 0.0


def test_summary_ceiling_is_cores_times_rate_over_nodes() -> None:
    measured = bench.LoadResult(
        accepted=10,
        committed=10,
        rejected={},
        blocks=2,
        elapsed_s=2.0,
        latencies=(0.1, 0.2, 0.3),
    )
    report = bench.summarize(
        nodes=4,
        txs=10,
        orgs=100,
        measured=measured,
        ed25519_per_core=20_000,
        cores=2,
        cpu=[0.5] * 4,
        cpu_seconds=[1.0, 0.5, 0.25, 0.0],
        rss_mb=[50.0, 60.0, 55.0, 52.0],
        rate=None,
    ).to_json()
    assert report["ceiling_tps"] == 10_000
    assert report["ratio"] == 0.0005
    assert report["latency_ms"] == {"p50": 200.0, "p95": 300.0, "p99": 300.0}
    assert report["rss_mb"] == 60.0
    assert report["cpu_us_per_tx"] == [100_000.0, 50_000.0, 25_000.0, 0.0]


def test_proc_sample_of_this_process() -> None:
    sample = bench_net.sample(os.getpid())
    assert sample is not None and sample.cpu_seconds > 0 and sample.peak_rss_mb > 1
    assert bench_net.sample(2**22 + 12345) is None


def test_catchup_with_too_few_validators_is_refused_before_starting(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "node", "bench", "--nodes", "3", "--catchup", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "CATCHUP_NEEDS_4"
    assert list(tmp_path.iterdir()) == []  # no localnet was laid out


@pytest.mark.parametrize(
    ("arguments", "path"), [(["--catchup"], "replay"), (["--catchup", "snapshot"], "snapshot")]
)
def test_catchup_restarts_the_node_itself_and_still_cleans_up(
    tmp_path: Path, arguments: list[str], path: str
) -> None:
    """The bench spawns the restarted node from its own process (no `tally` CLI start inside
    the timed catch-up), so it must reap that child: an unreaped one would look alive to
    `localnet down`, and the bench would hang or leave it running. The path it reports is the
    one the node took (its snapshot counter is read), so a snapshot run says so."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "node",
            "bench",
            "--nodes",
            "4",
            "--txs",
            "400",
            *arguments,
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["nodes"] == 4 and report["committed"] == 400
    assert report["catchup_ratio"] > 0 and report["catchup_by"] == path
    assert report["catchup_txs"] == 400 and report["catchup_s"] > 0
    assert list(tmp_path.iterdir()) == []
    assert _our_processes(str(tmp_path)) == []
