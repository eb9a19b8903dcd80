"""Prometheus metrics of one node (DESIGN.md §9), each in its own registry.

A registry per node (not the process-global one) lets tests run several nodes in one process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from consensus.interface import Suspected, ViewChanged

log = logging.getLogger("node.runtime.driver")

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.chain_height = Gauge(
            "tally_chain_height", "Height of the last committed block", registry=r
        )
        self.consensus_view = Gauge("tally_consensus_view", "Current consensus view", registry=r)
        self.view_changes = Counter(
            "tally_consensus_view_changes",
            "View changes this node went through, by why",
            ["reason"],
            registry=r,
        )
        self.round_time = Histogram(
            "tally_consensus_round_seconds",
            "Time from a height's proposal being built or executed here to its commit",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.statesync_target = Gauge(
            "tally_statesync_target_height",
            "Height the current state transfer fetches up to (0 when none runs)",
            registry=r,
        )
        self.statesync_blocks = Counter(
            "tally_statesync_blocks", "Blocks committed by state transfer", registry=r
        )
        self.statesync_failures = Counter(
            "tally_statesync_failures",
            "Pieces of state transfer refused or timed out, by why",
            ["reason"],
            registry=r,
        )
        self._snapshot(r)
        self.gossip_txs = Counter(
            "tally_gossip_txs", "Transactions gossiped, by direction", ["direction"], registry=r
        )
        self.commit_latency = Histogram(
            "tally_commit_latency_seconds",
            "Time from a tx entering the mempool to its block being committed",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.txs_committed = Counter(
            "tally_txs_committed", "Transactions committed (ok or failed)", registry=r
        )
        self.txs_failed = Counter(
            "tally_txs_failed", "Committed transactions whose call failed", ["code"], registry=r
        )
        self.mempool_size = Gauge("tally_mempool_size", "Transactions waiting", registry=r)
        self.peers_connected = Gauge("tally_peers_connected", "Validators connected", registry=r)
        self.commit_missing_signers = Gauge(
            "tally_commit_missing_signers",
            "Validators missing from the last commit certificate",
            registry=r,
        )
        self.blocks_committed = Counter("tally_blocks_committed", "Blocks committed", registry=r)

    def _snapshot(self, r: CollectorRegistry) -> None:
        """Snapshot sync's progress and faults (node/runtime/snapshot.py)."""
        self.snapshot_height = Gauge(
            "tally_snapshot_height",
            "Height of the snapshot being fetched or installed (0 when none is)",
            registry=r,
        )
        self.snapshot_keys = Counter(
            "tally_snapshot_keys", "State keys fetched by snapshot sync and checked", registry=r
        )
        self.snapshot_chunks = Counter(
            "tally_snapshot_chunks", "Snapshot chunks fetched and checked", registry=r
        )
        self.snapshot_bytes = Counter(
            "tally_snapshot_bytes", "Bytes of state keys and values fetched by snapshot", registry=r
        )
        self.snapshot_peer_faults = Counter(
            "tally_snapshot_peer_faults",
            "Snapshot answers refused (bad chunk, bad offer) or missing (timeout), by why",
            ["reason"],
            registry=r,
        )
        self.snapshot_installed = Counter(
            "tally_snapshot_installed", "Snapshots installed (the state replaced)", registry=r
        )
        self.snapshot_served = Counter(
            "tally_snapshot_served_chunks", "Snapshot chunks served to peers", registry=r
        )

    def watch(self, name: str, help_text: str, source: Callable[[], float]) -> None:
        """A gauge read at scrape time (queue sizes, peer faults), costing nothing in between."""
        Gauge(name, help_text, registry=self.registry).set_function(source)

    def count_rejections(self, source: Callable[[], dict[str, int]]) -> None:
        """Export `tally_tx_rejections_total{code}` from the mempool's own tally at scrape time,
        so the submit path does no metric bookkeeping per tx."""
        self.registry.register(_RejectionCollector(source))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _RejectionCollector(Collector):
    def __init__(self, source: Callable[[], dict[str, int]]) -> None:
        self._source = source

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "tally_tx_rejections", "Transactions refused at entry, by code", labels=["code"]
        )
        for code, count in sorted(self._source().items()):
            family.add_metric([code], count)
        yield family


def reason_label(reason: str) -> str:
    """A bounded label for a view change's reason: the free text after a colon (an executor's
    message) would make a new time series per block."""
    if reason.startswith("invalid proposal"):
        return "invalid proposal"
    return reason[:60]


def note_view_action(action: Suspected | ViewChanged, height: int, metrics: Metrics) -> None:
    """Log a suspicion or a view change the replica reports; count view changes."""
    if isinstance(action, Suspected):
        log.warning(
            "suspecting the primary of view %d at height %d (leaving it once f+1 do): %s",
            action.view,
            height,
            action.reason,
        )
        return
    log.warning(
        "view change at height %d: view %d, primary %d, because %s",
        height,
        action.view,
        action.primary,
        action.reason,
    )
    metrics.view_changes.labels(reason_label(action.reason)).inc()
    metrics.consensus_view.set(action.view)
