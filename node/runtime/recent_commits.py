"""The ids a node committed lately, for the duplicate check without a disk read per tx."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

# Committed ids held in memory at most (~20 MB); older ones are looked up in the store.
RECENT_IDS_MAX = 200_000


class RecentCommits:
    """Ids committed in the last `window` (= max_tx_validity) blocks, to refuse replays
    without a disk read per tx (DESIGN.md §5: ids are kept until their validity has passed).

    A tx committed at height h had valid_until <= h + window, so once the tip passes
    h + window its id cannot be valid again and is forgotten. Ids not in memory are looked up
    in the store instead: those committed before this process started (none when it starts at
    genesis, which orders no txs), and those of the oldest
    blocks dropped to keep at most `max_ids` ids (a window of full blocks would hold millions):
    a tx whose valid_until could still admit one of them (<= the last such height + window)
    costs one store read.
    """

    def __init__(
        self,
        start_height: int,
        window: int,
        in_store: Callable[[bytes], bool],
        max_ids: int = RECENT_IDS_MAX,
    ) -> None:
        self._store_horizon = start_height + window if start_height > 0 else 0
        self._window = window
        self._in_store = in_store
        self._max_ids = max_ids
        self._ids: set[bytes] = set()
        self._blocks: deque[tuple[int, list[bytes]]] = deque()

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, height: int, tx_ids: list[bytes]) -> None:
        self._ids.update(tx_ids)
        self._blocks.append((height, tx_ids))
        blocks = self._blocks
        while blocks and blocks[0][0] + self._window < height:
            self._ids.difference_update(blocks.popleft()[1])
        while len(blocks) > 1 and len(self._ids) > self._max_ids:
            dropped, ids = blocks.popleft()
            self._ids.difference_update(ids)
            self._store_horizon = max(self._store_horizon, dropped + self._window)

    def contains(self, tx_id: bytes, valid_until: int) -> bool:
        if tx_id in self._ids:
            return True
        return valid_until <= self._store_horizon and self._in_store(tx_id)

    def remembers(self, tx_id: bytes) -> bool:
        """Committed in the blocks held in memory (no store read: a miss proves nothing)."""
        return tx_id in self._ids
