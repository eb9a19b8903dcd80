"""`tally bench`: committed tx/s of a real localnet against the machine's own ceiling.

Every validator verifies every tx signature, so c cores and n validators cannot commit more than
c × (Ed25519 verifications per core per second) / n tx/s (DESIGN.md §13). The bench measures
that rate in-process, then funds 100+ organizations, pre-signs cash transfers among them
(node.ops.bench_workload) and submits them in batches over several HTTP connections. Commit
times are observed by polling /v1/status (cheap for the node, unlike a stream that serializes
every event), and tx ids are mapped to heights afterwards from /v1/blocks, so latency = first
observation of the tx's block - the moment its batch was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nacl.signing

from node.ops.bench_net import BenchError
from node.ops.bench_report import BenchReport, LatencyPercentiles
from node.ops.bench_workload import Progress, Workload, no_progress
from wallet.async_client import AsyncClient
from wallet.client import ApiError
from wallet.request_signing import RequestSigner

POLL_S = 0.01  # how often the commit watcher asks for the height
LOCATE_EVERY_S = 0.25  # how often committed blocks are scanned for the submitted tx ids
FUNDING_BATCH = 1000

Batch = list[tuple[str, str]]  # (tx id hex, signed tx hex)


def ed25519_verifies_per_second(count: int = 1000, rounds: int = 5) -> float:
    """Single-core Ed25519 verifications per second, with the node's library (libsodium).

    The best of a few short rounds: the machine may be shared, and the ceiling is what one core
    can do, not what it did while something else ran.
    """
    keys = [nacl.signing.SigningKey.generate() for _ in range(16)]
    message = b"\x42" * 32  # a tx signature is over a 32-byte digest
    signed = [(k.verify_key, k.sign(message).signature) for k in keys]
    work = [signed[i % len(signed)] for i in range(count)]
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for verify_key, signature in work:
            verify_key.verify(message, signature)
        best = max(best, count / (time.perf_counter() - started))
    return best


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The raw measurements of one load run, before they are summarized."""

    accepted: int
    rejected: dict[str, int]  # refused submissions by error code
    committed: int  # accepted transfers found in a block
    elapsed_s: float  # first submission to the first observation of the last commit
    latencies: tuple[float, ...]  # seconds, one per committed transfer
    blocks: int  # blocks that held at least one transfer

    @property
    def tps(self) -> float:
        return self.committed / self.elapsed_s


@dataclass(slots=True)
class _Run:
    """Mutable bookkeeping of one run (only the bench's own event loop touches it)."""

    sent_at: dict[str, float] = field(default_factory=dict)
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    height_seen_at: dict[int, float] = field(default_factory=dict)
    last_height: int = 0


async def _watch_heights(api: AsyncClient, run: _Run, stop: asyncio.Event) -> None:
    """Record when each height is first observed; a jump stamps every height it skipped."""
    while not stop.is_set():
        try:
            height = await api.height()
        except ApiError:
            height = run.last_height
        now = time.monotonic()
        for seen in range(run.last_height + 1, height + 1):
            run.height_seen_at[seen] = now
        run.last_height = max(run.last_height, height)
        await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def _heights_watched(api: AsyncClient, run: _Run) -> AsyncIterator[None]:
    """Run the height watcher for the duration of the block, and stop it however it ends."""
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_heights(api, run, stop))
    try:
        yield
    finally:
        stop.set()
        await watcher


async def _fund(api: AsyncClient, funding: list[str]) -> None:
    """Submit the funding txs and wait for their commit; any refusal ends the bench."""
    for first in range(0, len(funding), FUNDING_BATCH):
        funded = await api.request(
            "POST", "/v1/txs?wait=commit", {"txs": funding[first : first + FUNDING_BATCH]}
        )
        refused = [r for r in funded["results"] if not r.get("accepted")]
        if refused:
            raise BenchError("FUNDING_FAILED", f"funding refused: {refused[0]}")


async def _send_batches(
    api: AsyncClient,
    queue: asyncio.Queue[tuple[int, Batch]],
    started: float,
    rate: float | None,
    run: _Run,
    progress: Progress,
    total: int,
) -> None:
    """One connection's worker: send queued batches (each at its slot when paced), count results."""
    while not queue.empty():
        first, batch = queue.get_nowait()
        if rate:
            await asyncio.sleep(max(0.0, started + first / rate - time.monotonic()))
        sent = time.monotonic()
        results = await api.submit_hex([raw for _, raw in batch])
        for (tx_id, _), result in zip(batch, results, strict=True):
            if result.get("accepted"):
                run.sent_at[tx_id] = sent
                run.accepted += 1
            else:
                code = (result.get("error") or {}).get("code", "REJECTED")
                run.rejected[code] = run.rejected.get(code, 0) + 1
        progress("submitting", run.accepted + sum(run.rejected.values()), total)


async def _submit(
    apis: list[AsyncClient],
    batches: list[Batch],
    connections: int,
    rate: float | None,
    run: _Run,
    progress: Progress,
    total: int,
) -> float:
    """Send batches over `connections` workers (split among the nodes), paced at `rate` tx/s
    if given; batch i goes to node i mod n (round robin: every validator takes client load)."""
    queues: list[asyncio.Queue[tuple[int, Batch]]] = [asyncio.Queue() for _ in apis]
    offset = 0
    for index, batch in enumerate(batches):
        queues[index % len(apis)].put_nowait((offset, batch))
        offset += len(batch)
    started = time.monotonic()
    await asyncio.gather(
        *(
            _send_batches(api, queue, started, rate, run, progress, total)
            for api, queue in zip(apis, queues, strict=True)
            for _ in range(max(1, connections // len(apis)))
        )
    )
    return started


async def _locate(
    api: AsyncClient, start: int, end: int, into: dict[str, int], wanted: dict[str, float]
) -> int:
    """Record the height of every wanted tx committed in heights start..end; return the next
    height to scan (so each block is fetched once)."""
    height = start
    while height <= end:
        blocks = await api.blocks(height, 100)
        if not blocks:
            break
        for block in blocks:
            for tx_id in block["txs"]:
                if tx_id in wanted:
                    into[tx_id] = int(block["height"])
        height = int(blocks[-1]["height"]) + 1
    return height


async def _await_commits(
    api: AsyncClient, run: _Run, start_height: int, timeout: float, progress: Progress
) -> dict[str, int]:
    """The height of every accepted transfer, scanning new blocks until all are found or
    `timeout` seconds pass."""
    located: dict[str, int] = {}
    scan_from = start_height + 1
    deadline = time.monotonic() + timeout
    while len(located) < run.accepted and time.monotonic() < deadline:
        await asyncio.sleep(LOCATE_EVERY_S)
        scan_from = await _locate(api, scan_from, run.last_height, located, run.sent_at)
        progress("committed", len(located), run.accepted)
    return located


def _result(run: _Run, located: dict[str, int], started: float) -> LoadResult:
    """Latency of each committed transfer: its block's first observation - its batch's send."""
    latencies = []
    last_commit = started
    for tx_id, height in located.items():
        seen = run.height_seen_at.get(height)
        if seen is None:
            continue
        latencies.append(seen - run.sent_at[tx_id])
        last_commit = max(last_commit, seen)
    return LoadResult(
        accepted=run.accepted,
        rejected=run.rejected,
        committed=len(located),
        elapsed_s=max(last_commit - started, 1e-9),
        latencies=tuple(latencies),
        blocks=len(set(located.values())),
    )


async def run_load(
    api_urls: list[str],
    workload: Workload,
    *,
    batch: int,
    connections: int,
    rate: float | None,
    commit_timeout: float,
    progress: Progress = no_progress,
    signer: RequestSigner | None = None,
) -> LoadResult:
    """Fund, submit round robin to every node in `api_urls`, wait for every accepted transfer to
    commit (as seen by the first node); return the raw measurements. `signer` signs every
    request (a `members` localnet's auditor, node/ops/localnet_access.py)."""
    async with contextlib.AsyncExitStack() as stack:
        apis = [
            await stack.enter_async_context(
                AsyncClient(url, timeout=120, connections=connections + 2, request_signer=signer)
            )
            for url in api_urls
        ]
        api = apis[0]
        await _fund(api, workload.funding)
        start_height = await api.height()
        run = _Run(last_height=start_height)
        pairs = list(zip(workload.transfer_ids, workload.transfers, strict=True))
        batches = [pairs[i : i + batch] for i in range(0, len(pairs), batch)]
        async with _heights_watched(api, run):
            started = await _submit(apis, batches, connections, rate, run, progress, len(pairs))
            located = await _await_commits(api, run, start_height, commit_timeout, progress)
    return _result(run, located, started)


def summarize(
    *,
    nodes: int,
    txs: int,
    orgs: int,
    measured: LoadResult,
    ed25519_per_core: float,
    cores: int,
    cpu: list[float],
    cpu_seconds: list[float],
    rss_mb: list[float],
    rate: float | None,
) -> BenchReport:
    """The §13 report: tps against ceiling, latency percentiles, CPU and peak memory.

    `cpu` is cores busy per node over the load; `cpu_seconds` the CPU time each node used
    meanwhile, which over the committed txs is the node's CPU cost of one tx (µs)."""
    ceiling = cores * ed25519_per_core / nodes
    latencies_ms = [1000 * value for value in measured.latencies]
    return BenchReport(
        nodes=nodes,
        txs=txs,
        orgs=orgs,
        accepted=measured.accepted,
        committed=measured.committed,
        rejected=dict(measured.rejected),
        blocks=measured.blocks,
        offered_rate=rate,
        elapsed_s=round(measured.elapsed_s, 3),
        tps=round(measured.tps, 1),
        cores=cores,
        ed25519_per_core=round(ed25519_per_core),
        ceiling_tps=round(ceiling, 1),
        ratio=round(measured.tps / ceiling, 4) if ceiling else 0.0,
        latency_ms=LatencyPercentiles(
            p50=round(percentile(latencies_ms, 0.50), 1),
            p95=round(percentile(latencies_ms, 0.95), 1),
            p99=round(percentile(latencies_ms, 0.99), 1),
        ),
        cpu=tuple(round(value, 3) for value in cpu),
        cpu_us_per_tx=tuple(
            round(1e6 * seconds / measured.committed, 1) if measured.committed else 0.0
            for seconds in cpu_seconds
        ),
        rss_mb=round(max(rss_mb), 1) if rss_mb else 0.0,
        rss_mb_per_node=tuple(round(value, 1) for value in rss_mb),
    )
