"""The bench report as a type: the JSON `tally bench --json` prints, read back exactly."""

from __future__ import annotations

import dataclasses
import json

import pytest

from node.ops import bench, bench_profile
from node.ops.bench_net import BenchError
from node.ops.bench_report import BenchReport
from node.ops.bench_signing import request_signing_cost

# What the first release's `summarize` + `json.dumps` printed for the inputs of `_report()`
# (computed with commit 77233cf): the report type must print the same line, byte for byte.
FIRST_RELEASE_JSON = (
    '{"nodes": 4, "txs": 12, "orgs": 100, "accepted": 12, "committed": 11, '
    '"rejected": {"DUPLICATE": 1}, "blocks": 3, "offered_rate": 1250.0, "elapsed_s": 2.346, '
    '"tps": 4.7, "cores": 2, "ed25519_per_core": 18124, "ceiling_tps": 9061.8, '
    '"ratio": 0.0005, "latency_ms": {"p50": 234.5, "p95": 456.7, "p99": 456.7}, '
    '"cpu": [0.512, 0.4], "rss_mb": 96.2, "rss_mb_per_node": [94.0, 96.2]}'
)


def _report() -> BenchReport:
    measured = bench.LoadResult(
        accepted=12,
        rejected={"DUPLICATE": 1},
        committed=11,
        elapsed_s=2.34567,
        latencies=(0.1234, 0.2345, 0.3456, 0.4567),
        blocks=3,
    )
    return bench.summarize(
        nodes=4,
        txs=12,
        orgs=100,
        measured=measured,
        ed25519_per_core=18123.6,
        cores=2,
        cpu=[0.51234, 0.4],
        cpu_seconds=[1.2, 0.9384],
        rss_mb=[94.04, 96.25],
        rate=1250.0,
    )


SIGNING_KEYS = (
    ', "access": "open", "request_sign_us": null, "request_check_us": null, '
    '"catchup_by": null, "catchup_txs": null, "catchup_s": null}'
)


def test_report_prints_the_first_release_json_then_the_new_keys() -> None:
    # 1.2 CPU seconds over 11 committed txs is 109,090.9 µs per tx
    later = ', "cpu_us_per_tx": [109090.9, 85309.1], "catchup_ratio": null' + SIGNING_KEYS
    assert _report().encode() == FIRST_RELEASE_JSON[:-1] + later


def test_report_reads_back_what_it_printed() -> None:
    report = _report()
    assert BenchReport.decode(report.encode()) == report
    first_release = BenchReport.decode(FIRST_RELEASE_JSON)  # written before cpu_us_per_tx
    assert first_release.cpu_us_per_tx == ()
    assert first_release.catchup_ratio is None
    later = ', "cpu_us_per_tx": [], "catchup_ratio": null' + SIGNING_KEYS
    assert first_release.encode() == FIRST_RELEASE_JSON[:-1] + later
    with_catchup = dataclasses.replace(
        report, catchup_ratio=6.25, catchup_by="snapshot", catchup_txs=40_000, catchup_s=1.6
    )
    assert BenchReport.decode(with_catchup.encode()) == with_catchup


def test_committed_rate_is_committed_over_elapsed() -> None:
    measured = bench.LoadResult(
        accepted=10, rejected={}, committed=10, elapsed_s=2.0, latencies=(), blocks=1
    )
    assert measured.tps == 5.0


def _without(key: str) -> str:
    value = json.loads(FIRST_RELEASE_JSON)
    del value[key]
    return json.dumps(value)


def _with(key: str, item: object) -> str:
    return json.dumps({**json.loads(FIRST_RELEASE_JSON), key: item})


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        _without("tps"),
        _with("extra", 1),
        _with("nodes", "4"),
        _with("nodes", True),
        _with("tps", None),
        _with("cpu", "0.5"),
        _with("cpu_us_per_tx", [1.0, "2"]),
        _with("catchup_ratio", "fast"),
        _with("catchup_by", "teleport"),
        _with("catchup_txs", 1.5),
        _with("rejected", {"DUPLICATE": "1"}),
        _with("latency_ms", {"p50": 1.0, "p95": 2.0}),
        _with("latency_ms", [1.0, 2.0, 3.0]),
    ],
)
def test_anything_else_is_a_bad_report(text: str) -> None:
    with pytest.raises(BenchError) as raised:
        BenchReport.decode(text)
    assert raised.value.code == "BAD_REPORT"


def test_profile_function_table_counts_busy_samples_only() -> None:
    collapsed = "\n".join(
        [
            "main (a.py:1);execute (b.py:2);verify (c.py:3) 6",
            "main (a.py:1);execute (b.py:2) 2",
            "_bootstrap (threading.py:1);_worker (concurrent/futures/thread.py:9) 50",
            "garbage line",
        ]
    )
    table = bench_profile.function_table(collapsed)
    assert table.startswith("busy samples: 8 ")
    own, inclusive = table.split("incl %  function")
    assert "  75.0  verify (c.py:3)" in own and "  25.0  execute (b.py:2)" in own
    assert " 100.0  main (a.py:1)" in inclusive and "  75.0  verify (c.py:3)" in inclusive
    assert "_worker" not in table


def test_a_signed_load_reports_its_access_and_signing_cost() -> None:
    signed = dataclasses.replace(
        _report(), access="members", request_sign_us=80.5, request_check_us=120.0
    )
    assert BenchReport.decode(signed.encode()) == signed
    assert '"access": "members", "request_sign_us": 80.5' in signed.encode()


def test_request_signing_cost_is_measured_by_signing_and_checking() -> None:
    cost = request_signing_cost(4000, samples=5)
    assert cost.sign_us > 0 and cost.check_us > 0
