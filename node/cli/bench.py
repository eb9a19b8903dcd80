"""`tally bench`: start (or use) a localnet, load it, and report tx/s against the ceiling."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.errors import TallyError
from node.api.access import ACCESS_MODES
from node.ops import (
    bench,
    bench_catchup,
    bench_net,
    bench_profile,
    bench_signing,
    bench_workload,
)
from node.ops.bench_report import CATCHUP_BY, BenchReport
from node.ops.layout import DEFAULT_LOCALNET_ACCESS, read_info
from node.ops.localnet_access import localnet_client, localnet_reader
from wallet.cli.common import report_error
from wallet.cli.output import EXIT_INTERRUPTED
from wallet.request_signing import RequestSigner


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """How hard and how long to push: the command's load options."""

    txs: int
    batch: int
    connections: int
    rate: float | None
    timeout: float
    profile: Path | None = None  # py-spy samples of node 0 during the load, written here
    catchup: str | None = None  # "replay"/"snapshot": then stop a node, load the others, time
    # the node's catch-up that way


@dataclass(frozen=True, slots=True)
class NodeUsage:
    """What the validators' processes used while the load ran (read from /proc)."""

    cpu: list[float]  # cores busy per node over the load
    cpu_seconds: list[float]  # CPU time per node over the load
    rss_mb: list[float]  # peak resident memory per node


def _node_samples(info: dict[str, Any]) -> list[bench_net.ProcSample | None]:
    return [bench_net.sample(int(entry.get("pid", 0))) for entry in info["nodes"]]


def _table(report: BenchReport) -> Table:
    table = Table(title="tally bench", show_header=False)
    latency = report.latency_ms
    rows = [
        ("validators", str(report.nodes)),
        ("organizations", str(report.orgs)),
        ("transactions", f"{report.committed} committed of {report.txs}"),
        ("rejected", json.dumps(report.rejected) if report.rejected else "none"),
        ("offered load", f"{report.offered_rate} tx/s" if report.offered_rate else "max"),
        ("committed tx/s", f"{report.tps:,.1f}"),
        (
            "ceiling tx/s",
            f"{report.ceiling_tps:,.1f}  ({report.cores} cores × "
            f"{report.ed25519_per_core:,} Ed25519/s ÷ {report.nodes})",
        ),
        ("ratio", f"{100 * report.ratio:.1f}% of the ceiling"),
        ("latency p50/p95/p99", f"{latency.p50} / {latency.p95} / {latency.p99} ms"),
        ("node CPU (cores)", ", ".join(f"{value:.2f}" for value in report.cpu)),
        ("CPU per tx (µs)", ", ".join(f"{value:,.0f}" for value in report.cpu_us_per_tx)),
        ("peak RSS (MB)", ", ".join(f"{value:.0f}" for value in report.rss_mb_per_node)),
        ("blocks", str(report.blocks)),
    ]
    if report.catchup_ratio is not None:
        rows.append(
            (
                "catch-up",
                f"{report.catchup_ratio}× the commit rate (by {report.catchup_by}: "
                f"{report.catchup_txs:,} txs in {report.catchup_s} s from the node's spawn)",
            )
        )
    rows.append(("API access", report.access))
    if report.request_sign_us is not None:
        rows.append(
            (
                "request signature",
                f"sign {report.request_sign_us:,.0f} µs, check {report.request_check_us:,.0f} µs"
                " per POST /v1/txs of one batch (this machine, one core)",
            )
        )
    for name, value in rows:
        table.add_row(name, value)
    return table


@contextlib.contextmanager
def _progress_bars(console: Console, quiet: bool) -> Iterator[bench_workload.Progress]:
    """A progress callback that draws one bar per phase (signing, submitting, committed)."""
    with Progress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=False,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        yield report


def _load(
    info: dict[str, Any],
    workload: bench_workload.Workload,
    options: LoadOptions,
    progress: bench_workload.Progress,
) -> tuple[bench.LoadResult, NodeUsage]:
    """Run the load, reading each node's CPU time and peak memory before and after it."""
    profiling = (
        contextlib.nullcontext()
        if options.profile is None
        else bench_profile.profiled(int(info["nodes"][0].get("pid", 0)), options.profile)
    )
    with profiling:
        before = _node_samples(info)
        wall = time.monotonic()
        measured = asyncio.run(
            bench.run_load(
                [entry["api"] for entry in info["nodes"]],
                workload,
                batch=options.batch,
                connections=options.connections,
                rate=options.rate,
                commit_timeout=options.timeout,
                progress=progress,
                signer=_signer(info),
            )
        )
        wall = time.monotonic() - wall
        after = _node_samples(info)
    seconds = [
        b_after.cpu_seconds - b_before.cpu_seconds
        for b_before, b_after in zip(before, after, strict=True)
        if b_before is not None and b_after is not None
    ]
    rss = [sample.peak_rss_mb for sample in after if sample is not None]
    cpu = [value / wall for value in seconds]
    return measured, NodeUsage(cpu=cpu, cpu_seconds=seconds, rss_mb=rss)


def _signer(info: dict[str, Any]) -> RequestSigner | None:
    """Who signs the load's requests: the localnet's auditor when its API is `members`."""
    return localnet_reader(info) if info.get("access", "open") == "members" else None


def _signing_cost(
    info: dict[str, Any], workload: bench_workload.Workload, batch: int
) -> dict[str, Any]:
    """The report's access fields: the mode and, when signed, one request's signing cost."""
    access = str(info.get("access", "open"))
    if access != "members":
        return {"access": access}
    body = len(json.dumps({"txs": workload.transfers[:batch]}))
    cost = bench_signing.request_signing_cost(body)
    return {"access": access, "request_sign_us": cost.sign_us, "request_check_us": cost.check_us}


def _catchup(
    directory: Path, info: dict[str, Any], options: LoadOptions, progress: bench_workload.Progress
) -> dict[str, Any]:
    """The report's catch-up fields, by the path `options.catchup` names."""
    by = options.catchup or CATCHUP_BY[0]
    load = {
        "batch": options.batch,
        "connections": options.connections,
        "commit_timeout": options.timeout,
    }
    result = bench_catchup.measure_catchup(directory, info, options.txs, load, progress, by)
    return {
        "catchup_ratio": round(result.ratio, 2),
        "catchup_by": result.by,
        "catchup_txs": result.caught_up_txs,
        "catchup_s": round(result.seconds, 3),
    }


def _measure(
    info: dict[str, Any],
    nodes: int,
    options: LoadOptions,
    console: Console,
    quiet: bool,
    directory: Path | None = None,
) -> BenchReport:
    """The ceiling of this machine, then the load on the localnet; the report of both."""
    if not quiet:
        console.log("Measuring Ed25519 verifications per core…")
    per_core = bench.ed25519_verifies_per_second()
    height = localnet_client(info).height()
    with _progress_bars(console, quiet) as progress:
        workload = bench_workload.build_workload(info, options.txs, height, progress)
        measured, usage = _load(info, workload, options, progress)
        catchup: dict[str, Any] = {}
        if options.catchup is not None and directory is not None:
            catchup = _catchup(directory, info, options, progress)
    report = bench.summarize(
        nodes=nodes,
        txs=options.txs,
        orgs=workload.orgs,
        measured=measured,
        ed25519_per_core=per_core,
        cores=bench_net.cores(),
        cpu=usage.cpu,
        cpu_seconds=usage.cpu_seconds,
        rss_mb=usage.rss_mb,
        rate=options.rate,
    )
    signing = _signing_cost(info, workload, options.batch)
    return dataclasses.replace(report, **catchup, **signing)


def _own_localnet(
    directory: Path, nodes: int, orgs: int, console: Console, quiet: bool, access: str
) -> dict[str, Any]:
    """Lay out and start the bench's own localnet in `directory`; its localnet.json."""
    if not quiet:
        console.log(f"Starting a {nodes}-validator {access} localnet with {orgs} extra orgs…")
    bench_net.layout(directory, nodes, orgs, access)
    return bench_net.start(directory, nodes)


def _preflight(options: LoadOptions, nodes: int | None) -> None:
    """Refuse what cannot run before anything starts: no py-spy, too few nodes to stop one."""
    if options.profile is not None:
        bench_profile.profiler()
    if options.catchup is not None and nodes is not None:
        bench_catchup.require_enough_nodes(nodes)


@contextlib.contextmanager
def _interrupts() -> Iterator[None]:
    """SIGTERM and Ctrl-C both interrupt the bench, which then cleans up. SIGINT is set
    explicitly: a shell starts a background job (`make test &`) with it ignored, and the bench
    then ran to its end and exited 0. The default handler lets asyncio.run cancel the load."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


@click.command("bench")
@click.option("--nodes", type=click.IntRange(1, 16), default=1, show_default=True)
@click.option("--txs", type=click.IntRange(1, 1_000_000), default=20_000, show_default=True)
@click.option(
    "--orgs",
    type=click.IntRange(2, 2000),
    default=100,
    show_default=True,
    help="Extra organizations to spread transfers over (own localnet only).",
)
@click.option("--rate", type=click.FloatRange(min=1), help="Offered load in tx/s (default: max).")
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=250,
    show_default=True,
    help="Transactions per POST /v1/txs.",
)
@click.option("--connections", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option(
    "--localnet",
    "localnet_dir",
    type=click.Path(file_okay=False),
    help="Load this running localnet instead of starting one.",
)
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds to wait for commits after the last submission.",
)
@click.option(
    "--access",
    type=click.Choice(ACCESS_MODES),
    default=DEFAULT_LOCALNET_ACCESS,
    show_default=True,
    help="The own localnet's API access: members signs every request (its cost is reported).",
)
@click.option("--keep", is_flag=True, help="Leave the started localnet running (prints its dir).")
@click.option("--json", "json_output", is_flag=True, help="One JSON object on stdout.")
@click.option(
    "--catchup",
    type=click.Choice(CATCHUP_BY),
    is_flag=False,
    flag_value="replay",
    help="Then stop one validator, load the others, and time its catch-up by replay (the "
    "default) or snapshot (4+ nodes).",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False),
    help="Sample node 0 with py-spy during the load: stacks here, functions in PATH.functions.txt.",
)
def bench_command(
    nodes: int,
    txs: int,
    orgs: int,
    rate: float | None,
    batch: int,
    connections: int,
    localnet_dir: str | None,
    timeout: float,
    access: str,
    keep: bool,
    json_output: bool,
    catchup: str | None,
    profile_path: str | None,
) -> None:
    """Committed tx/s, latency, CPU and memory of a localnet, against this machine's ceiling."""
    console = Console(stderr=True)
    options = LoadOptions(
        txs=txs,
        batch=batch,
        connections=connections,
        rate=rate,
        timeout=timeout,
        profile=None if profile_path is None else Path(profile_path),
        catchup=catchup,
    )
    own_dir: Path | None = None
    with _interrupts():
        try:
            _preflight(options, nodes if localnet_dir is None else None)
            if localnet_dir:
                directory = Path(localnet_dir)
                info = read_info(directory)
                nodes = len(info["nodes"])
            else:
                own_dir = Path(tempfile.mkdtemp(prefix="tally-bench-"))
                directory = own_dir / "net"
                info = _own_localnet(directory, nodes, orgs, console, json_output, access)
            if catchup is not None:
                bench_catchup.require_enough_nodes(nodes)
            report = _measure(info, nodes, options, console, json_output, directory)
        except TallyError as error:
            sys.exit(report_error(error, json_output))
        except KeyboardInterrupt:
            click.echo("interrupted; cleaning up", err=True)
            sys.exit(EXIT_INTERRUPTED)
        finally:
            if own_dir is not None:
                if keep:
                    console.log(f"Localnet left running in {own_dir / 'net'}")
                else:
                    bench_net.stop(own_dir / "net")
                    shutil.rmtree(own_dir, ignore_errors=True)
    if json_output:
        click.echo(report.encode())
    else:
        Console().print(_table(report))


COMMANDS = [bench_command]
