"""Pruning the state tree past the retention height, on a thread of its own, at checkpoints.

Every block's tree nodes are appended under its height; a version older than the last
`retain` heights stops being provable once pruned (the API answers 410 STATE_PRUNED). Pruning
deletes one version's stale nodes per batch, which takes long after a long run, so it never
runs on the commit path: at a checkpoint height (every `params.checkpoint_interval`) a pruning
is started on the pruner's thread unless one is still running. It is safe beside commits and
proofs: it only deletes versions below the one it keeps, and the tip is always kept.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from ledger.smt_store import StateTree

log = logging.getLogger(__name__)


class StatePruner:
    def __init__(self, tree: StateTree, retain: int, interval: int) -> None:
        if retain < 1 or interval < 1:
            raise ValueError("retain and interval must be at least 1")
        self.tree = tree
        self.retain = retain
        self.interval = interval
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-prune")
        self._running: Future[int] | None = None
        self.pruned_below = 0  # versions below this are gone, as far as this pruner knows

    def committed(self, height: int) -> None:
        """Heard after each commit: at a checkpoint, prune in the background if idle."""
        if height % self.interval or height < self.retain:
            return
        if self._running is not None and not self._running.done():
            return
        oldest_kept = height - self.retain + 1
        self._running = self._pool.submit(self._prune, oldest_kept)
        self._running.add_done_callback(_log_failure)

    def _prune(self, oldest_kept: int) -> int:
        deleted = self.tree.prune(oldest_kept)
        self.pruned_below = max(self.pruned_below, oldest_kept)
        log.info("state tree pruned below height %d: %d nodes deleted", oldest_kept, deleted)
        return deleted

    def wait(self) -> None:
        """Until the pruning in progress (if any) is over; for tests and shutdown."""
        running = self._running
        if running is not None:
            running.exception()

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _log_failure(done: Future[int]) -> None:
    error = done.exception()
    if error is not None:
        log.error("state tree pruning failed: %s", error, exc_info=error)
