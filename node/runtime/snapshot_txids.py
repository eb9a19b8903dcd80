"""After a snapshot: the ids of the txs committed in the `params.max_tx_validity` heights below it.

Replay protection (DESIGN.md §5) is "a tx id is committed at most once": a node keeps the ids of
committed txs until their `valid_until` has passed. A node restored at height H has none of the
blocks below H, so a tx committed at H - 3 and offered again would pass its mempool, and its
proposals would carry it (the others refuse them). So, before the replica starts, the blocks of
the heights that can still hold a valid tx are fetched from the peers, newest first, in spans of
`SPAN`; each must hash to the `prev` of the block above it (starting from H's certified header),
so no peer is trusted, and their tx ids are noted (`ChainStore.remember_committed`). A peer that
sends a block that does not link costs a fault and the next one is asked; if none can give a span
the node goes on without the rest (logged), as the node did before this existed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from consensus.blocks import matches
from ledger.chain import ChainStore
from ledger.errors import TallyError
from ledger.types import Block, SignedTx
from node.runtime.metrics import Metrics
from node.runtime.statesync import StateSync

log = logging.getLogger(__name__)

SPAN = 16  # blocks asked at once: memory is SPAN blocks at most


def linked_blocks(
    raw: Sequence[tuple[bytes, bytes]], low: int, high: int, top_prev: bytes
) -> list[Block] | None:
    """The blocks low..high if `raw` holds exactly them and each hashes to the `prev` of the
    one above (the block at high to `top_prev`); None otherwise."""
    if len(raw) != high - low + 1:
        return None
    try:
        blocks = [Block.decode(raw_block) for raw_block, _ in raw]
    except TallyError:
        return None
    expected = top_prev
    for offset in range(len(blocks) - 1, -1, -1):
        block = blocks[offset]
        if not matches(block, low + offset, expected):
            return None
        expected = block.header.prev
    return blocks


async def remember_recent_tx_ids(
    statesync: StateSync, store: ChainStore, window: int, peers: Sequence[int], metrics: Metrics
) -> int:
    """Fetch and note the tx ids of the `window` heights up to our (restored) tip; how many."""
    tip = store.tip()
    block = store.block(tip.height)
    if block is None:
        return 0
    noted = _note(store, [block])
    expected, high = block.header.prev, tip.height - 1
    low_end = max(1, tip.height - window + 1)
    while high >= low_end:
        low = max(low_end, high - SPAN + 1)
        blocks = await _span(statesync, peers, low, high, expected, metrics)
        if blocks is None:
            log.warning(
                "snapshot sync: no peer gave blocks %d..%d; tx ids below unknown", low, high
            )
            return noted
        noted += _note(store, blocks)
        expected, high = blocks[0].header.prev, low - 1
    log.info(
        "snapshot sync: noted %d committed tx ids of heights %d..%d", noted, low_end, tip.height
    )
    return noted


async def _span(
    statesync: StateSync,
    peers: Sequence[int],
    low: int,
    high: int,
    expected: bytes,
    metrics: Metrics,
) -> list[Block] | None:
    for peer in peers:
        raw = await statesync.fetch_raw(peer, low, high)
        if raw is None:
            continue
        blocks = linked_blocks(raw, low, high, expected)
        if blocks is not None:
            return blocks
        if len(raw) == high - low + 1:  # all there, but not the chain: the peer lied
            statesync.peers.fault(peer, f"snapshot: blocks {low}..{high} do not link")
            metrics.snapshot_peer_faults.labels("bad_block").inc()
    return None


def _note(store: ChainStore, blocks: Sequence[Block]) -> int:
    """Note the ids of a span's txs, in one write; how many."""
    ids = {block.header.height: [SignedTx.id_of(raw) for raw in block.txs] for block in blocks}
    store.remember_committed(ids)
    return sum(len(found) for found in ids.values())
