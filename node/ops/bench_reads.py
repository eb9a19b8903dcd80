"""What heavy readers cost consensus: `python -m node.ops.bench_reads` (issue 11, finding 4).

A 4-validator localnet is filled with large blocks; then many clients ask the primary for its
heaviest answers (`/v1/blocks` and `/v1/raw/blocks` pages, inclusion proofs in large blocks)
while a probe polls `/healthz` and another commits one small tx after another through a backup.
The report gives `/healthz` latency and commit latency before and during the hammer, commits
during it, view changes, answer sizes and the primary's memory. Timings vary with the machine,
so they are measured here, never asserted by tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from node.ops import layout, localnet
from node.ops.bench import percentile
from wallet.localnet_keys import localnet_key, localnet_keys
from wallet.txbuilder import build_tx

PAGE = 100  # blocks per page asked by every block reader: the most the API allows
HEALTH_EVERY_S = 0.05
COMMIT_EVERY_S = 0.2
PARAMS = {"block_max_bytes": 320 * 1024, "max_tx_validity": 100_000}


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds: median, 99th percentile, worst, and how many samples."""

    p50: float
    p99: float
    max: float
    n: int

    @staticmethod
    def of(seconds: list[float]) -> Latency:
        ms = sorted(1000 * value for value in seconds)
        if not ms:
            return Latency(0.0, 0.0, 0.0, 0)
        return Latency(
            round(percentile(ms, 0.5), 1), round(percentile(ms, 0.99), 1), round(ms[-1], 1), len(ms)
        )


@dataclass(slots=True)
class ReaderTally:
    """What the hammering clients got back."""

    statuses: Counter[str] = field(default_factory=Counter)
    max_answer_bytes: int = 0
    answer_bytes: int = 0


@dataclass(frozen=True, slots=True)
class Phase:
    """One measured phase: quiet, or under the hammer."""

    seconds: float
    healthz_ms: Latency
    commit_ms: Latency
    commits: int  # blocks committed during the phase
    view_changes: int  # summed over validators during the phase
    primary_rss_mb: float  # the largest resident size sampled during the phase


@dataclass(frozen=True, slots=True)
class ReadsReport:
    clients: int
    blocks: int
    block_bytes: int
    quiet: Phase
    hammer: Phase
    answers: dict[str, int]  # status (or exception name) -> count
    max_answer_bytes: int
    mb_read: float


# -- the network -------------------------------------------------------------------------------


def start_localnet(
    directory: Path, nodes: int, limits: dict[str, Any], params: dict[str, int] | None = None
) -> dict[str, Any]:
    """A fresh localnet whose nodes' [api] tables also carry `limits` (node/api/limits.py);
    `open`, as these raw readers do not sign (a `members` node would refuse them first)."""
    info = localnet.init_network(directory, nodes, params=params, access="open")
    lines = "".join(f"{name} = {value}\n" for name, value in limits.items())
    for entry in info["nodes"]:
        config = layout.node_config_path(directory, entry["name"])
        text = config.read_text()  # [api] comes just before [p2p] (node.config.render_config)
        config.write_text(text.replace("\n\n[p2p]", "\n" + lines + "\n[p2p]"))
    return localnet.up(directory, nodes)


# -- filling the chain -------------------------------------------------------------------------


async def fill_large_blocks(
    session: aiohttp.ClientSession, net: dict[str, Any], blocks: int, tx_bytes: int, per_block: int
) -> list[str]:
    """Commit `blocks` blocks of about `per_block` × `tx_bytes`; the ids of their txs.

    The txs are transfers padded with an argument the contract refuses, signed by registered
    organizations: each commits as a failed receipt, and the block is as large as it would be
    on a busy day of long memos.
    """
    keys = localnet_keys(net)
    orgs = sorted(keys)
    api = net["nodes"][-1]["api"]
    tx_ids: list[str] = []
    count = 0
    while await _height(session, api) < blocks:
        txs = []
        for _ in range(per_block):
            org = orgs[count % len(orgs)]
            count += 1
            args = {"currency": "CNY", "to": "bank-a", "amount": 1, "pad": "x" * tx_bytes}
            txs.append(build_tx(keys[org], net["chain"], "cash", "transfer", args, 90_000))
        answer = await _post_txs(session, api, [tx.encode().hex() for tx in txs])
        tx_ids += [r["id"] for r in answer["results"] if r["accepted"]]
    return tx_ids


async def _post_txs(session: aiohttp.ClientSession, api: str, hexes: list[str]) -> Any:
    async with session.post(f"{api}/v1/txs?wait=commit", json={"txs": hexes}) as response:
        answer = await response.json()
        if response.status != 200:
            raise RuntimeError(f"submission refused: {answer}")
        return answer


async def _height(session: aiohttp.ClientSession, api: str) -> int:
    return int((await _status(session, api))["height"])


async def _status(session: aiohttp.ClientSession, api: str) -> dict[str, Any]:
    async with session.get(f"{api}/v1/status") as response:
        status: dict[str, Any] = await response.json()
        return status


# -- probes ------------------------------------------------------------------------------------


async def _health_probe(session: aiohttp.ClientSession, api: str, until: float) -> list[float]:
    """Round trips of GET /healthz, one every HEALTH_EVERY_S."""
    samples = []
    while time.monotonic() < until:
        started = time.perf_counter()
        async with session.get(f"{api}/healthz") as response:
            await response.read()
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(HEALTH_EVERY_S)
    return samples


async def _commit_probe(
    session: aiohttp.ClientSession, net: dict[str, Any], api: str, until: float
) -> list[float]:
    """Latencies of one small tx after another, each submitted with ?wait=commit."""
    issuer = localnet_key(net, "bank-a")
    samples = []
    while time.monotonic() < until:
        tx = build_tx(
            issuer,
            net["chain"],
            "cash",
            "issue",
            {"currency": "CNY", "to": "bigauto", "amount": 1},
            90_000,
        )
        started = time.perf_counter()
        await _post_txs(session, api, [tx.encode().hex()])
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(COMMIT_EVERY_S)
    return samples


async def _rss_probe(pid: int, until: float) -> float:
    """The largest resident size of process `pid` sampled until `until`, in MB."""
    largest = 0.0
    while time.monotonic() < until:
        largest = max(largest, resident_mb(pid))
        await asyncio.sleep(0.2)
    return largest


def resident_mb(pid: int) -> float:
    """VmRSS of a process, in MB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def view_changes(session: aiohttp.ClientSession, apis: list[str]) -> int:
    """tally_consensus_view_changes_total summed over validators."""
    total = 0.0
    for api in apis:
        async with session.get(f"{api}/metrics") as response:
            text = await response.text()
        for line in text.splitlines():
            if line.startswith("tally_consensus_view_changes_total"):
                total += float(line.split()[-1])
    return int(total)


# -- readers -----------------------------------------------------------------------------------


def heavy_paths(top: int, tx_ids: list[str]) -> list[Callable[[int], str]]:
    """Path makers for the heaviest reads: block pages, raw block pages, proofs."""
    span = max(1, top - PAGE)

    def blocks(n: int) -> str:
        return f"/v1/blocks?from={1 + (n * 37) % span}&limit={PAGE}"

    def raw_blocks(n: int) -> str:
        return f"/v1/raw/blocks?from={1 + (n * 53) % span}&limit={PAGE}"

    def proof(n: int) -> str:
        return f"/v1/txs/{tx_ids[(n * 101) % len(tx_ids)]}/proof"

    return [blocks, raw_blocks, proof]


async def read_hard(
    session: aiohttp.ClientSession,
    api: str,
    path_of: Callable[[int], str],
    until: float,
    tally: ReaderTally,
) -> None:
    """One client asking for `path_of(n)`, n = 0, 1, ..., until `until`; a 503 waits as told."""
    n = 0
    while time.monotonic() < until:
        n += 1
        try:
            async with session.get(api + path_of(n)) as response:
                body = await response.read()
                retry = response.headers.get("Retry-After")
            tally.statuses[str(response.status)] += 1
            tally.max_answer_bytes = max(tally.max_answer_bytes, len(body))
            tally.answer_bytes += len(body)
            if response.status == 503 and retry is not None:
                await asyncio.sleep(min(float(retry), 1.0))
        except (aiohttp.ClientError, TimeoutError) as error:
            tally.statuses[type(error).__name__] += 1
            await asyncio.sleep(0.1)


# -- the measurement ---------------------------------------------------------------------------


async def measure_phase(
    session: aiohttp.ClientSession,
    net: dict[str, Any],
    seconds: float,
    readers: list[Callable[[float], Any]],
) -> Phase:
    """Probe health, commits and memory of the primary for `seconds` while `readers` run."""
    apis = [entry["api"] for entry in net["nodes"]]
    primary_name = (await _status(session, apis[0]))["primary"]
    primary = next(entry for entry in net["nodes"] if entry["name"] == primary_name)
    backup = next(entry for entry in net["nodes"] if entry["name"] != primary_name)
    changes_before = await view_changes(session, apis)
    height_before = await _height(session, backup["api"])
    started = time.monotonic()
    until = started + seconds
    health, commits, rss, *_ = await asyncio.gather(
        _health_probe(session, primary["api"], until),
        _commit_probe(session, net, backup["api"], until),
        _rss_probe(int(primary["pid"]), until),
        *(reader(until) for reader in readers),
    )
    return Phase(
        seconds=round(time.monotonic() - started, 1),
        healthz_ms=Latency.of(health),
        commit_ms=Latency.of(commits),
        commits=await _height(session, backup["api"]) - height_before,
        view_changes=await view_changes(session, apis) - changes_before,
        primary_rss_mb=round(rss, 1),
    )


async def measure(
    net: dict[str, Any], *, clients: int, seconds: float, tx_ids: list[str], quiet_s: float
) -> tuple[Phase, Phase, ReaderTally]:
    """A quiet phase, then `clients` heavy readers on the primary for `seconds`."""
    tally = ReaderTally()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=clients + 8)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        quiet = await measure_phase(session, net, quiet_s, [])
        status = await _status(session, net["nodes"][0]["api"])
        primary = next(e for e in net["nodes"] if e["name"] == status["primary"])
        makers = heavy_paths(int(status["height"]), tx_ids)
        readers = [
            reader(session, primary["api"], makers[index % len(makers)], tally)
            for index in range(clients)
        ]
        hammer = await measure_phase(session, net, seconds, readers)
    return quiet, hammer, tally


def reader(
    session: aiohttp.ClientSession, api: str, path_of: Callable[[int], str], tally: ReaderTally
) -> Callable[[float], Any]:
    """A heavy reader for `measure_phase`: given the end time, it reads until then."""
    return lambda until: read_hard(session, api, path_of, until, tally)


async def _fill(net: dict[str, Any], blocks: int, tx_bytes: int, per_block: int) -> list[str]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        return await fill_large_blocks(session, net, blocks, tx_bytes, per_block)


def run(
    directory: Path,
    *,
    blocks: int,
    clients: int,
    seconds: float,
    quiet_s: float,
    limits: dict[str, Any],
) -> ReadsReport:
    """Start a fresh 4-validator localnet in `directory`, fill it, measure, stop it."""
    tx_bytes, per_block = 16_000, 16
    if (directory / localnet.LOCALNET_FILE).exists():
        localnet.down(directory)
    shutil.rmtree(directory, ignore_errors=True)
    net = start_localnet(directory, 4, limits, dict(PARAMS))
    try:
        tx_ids = asyncio.run(_fill(net, blocks, tx_bytes, per_block))
        quiet, hammer, tally = asyncio.run(
            measure(net, clients=clients, seconds=seconds, tx_ids=tx_ids, quiet_s=quiet_s)
        )
    finally:
        localnet.down(directory, grace=5.0)
    return ReadsReport(
        clients=clients,
        blocks=blocks,
        block_bytes=tx_bytes * per_block,
        quiet=quiet,
        hammer=hammer,
        answers=dict(sorted(tally.statuses.items())),
        max_answer_bytes=tally.max_answer_bytes,
        mb_read=round(tally.answer_bytes / 1e6, 1),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m node.ops.bench_reads", description=__doc__)
    parser.add_argument("--blocks", type=int, default=150, help="large blocks to commit first")
    parser.add_argument("--clients", type=int, default=50, help="concurrent heavy readers")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the hammer")
    parser.add_argument("--quiet-seconds", type=float, default=10.0, help="baseline length")
    parser.add_argument("--dir", help="localnet folder (default: a temporary one)")
    parser.add_argument(
        "--api",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an [api] limit for the nodes, e.g. --api read_threads=1 (repeatable)",
    )
    options = parser.parse_args(argv)
    limits = dict(item.split("=", 1) for item in options.api)
    with tempfile.TemporaryDirectory(prefix="tally-bench-reads-") as scratch:
        directory = Path(options.dir) if options.dir else Path(scratch) / "net"
        report = run(
            directory,
            blocks=options.blocks,
            clients=options.clients,
            seconds=options.seconds,
            quiet_s=options.quiet_seconds,
            limits=limits,
        )
    print(json.dumps(asdict(report), indent=2))


if __name__ == "__main__":
    main()
