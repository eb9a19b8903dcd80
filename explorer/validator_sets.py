"""The validator sets of a chain whose genesis allows changes, followed from genesis.

The explorer trusts no set a node names: it walks the node's blocks from genesis with the
audit's block check (explorer.audit.check_block: certificate against the set in force, roots
recomputed, prev link), and only a block that passes every check moves the history on
(ledger.membership). A block that fails stops the walk: later certificates are judged against
the last set proven, so a lying node can make blocks show as failing, never as verified. The
walk goes at most `STEP` blocks per page view, so a long chain is followed over a few views.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.audit import check_block
from explorer.reader import NodeReader, RouteMissing
from ledger.genesis import Genesis
from ledger.membership import SetChange, ValidatorHistory

STEP = 1000
PAGE = 100


@dataclass(frozen=True, slots=True)
class SetInForce:
    """What a block page says about its validators: how many, and since which block."""

    validators: int
    since: int  # 1 for the genesis set
    change: SetChange | None
    followed: int  # blocks verified from genesis so far
    stopped: str | None  # why the walk stopped, if a block failed

    @property
    def line(self) -> str:
        if self.change is None:
            text = f"genesis set: {self.validators} validators"
        else:
            text = (
                f"{self.validators} validators, in force since block {self.since} "
                f"(set change approved in block {self.change.height})"
            )
        if self.stopped is not None:
            text += f"; set changes verified only up to block {self.followed}: {self.stopped}"
        return text


class SetTracker:
    def __init__(self, genesis: Genesis) -> None:
        self.genesis = genesis
        self.history = ValidatorHistory.of_genesis(genesis)
        self.followed = 0  # blocks 1..followed passed every check
        self._prev = genesis.hash()
        self.stopped: str | None = None  # why the walk stopped, if a block failed

    async def follow(self, reader: NodeReader, through: int) -> None:
        """Walk verified blocks up to `through` (at most STEP more); nothing on a chain whose
        genesis fixes its set."""
        if not self.genesis.membership or self.stopped is not None:
            return
        goal = min(through, self.followed + STEP)
        while self.followed < goal:
            try:
                page = await reader.raw_blocks(self.followed + 1, min(PAGE, goal - self.followed))
            except RouteMissing:
                self.stopped = "the node serves no /v1/raw/blocks: set changes cannot be followed"
                return
            blocks = sorted(page, key=lambda b: int(b.get("height", 0) or 0))
            if not blocks:
                return
            for block in blocks:
                if not self._step(block):
                    return

    def _step(self, block: dict[str, object]) -> bool:
        height = self.followed + 1
        result = check_block(self.genesis, dict(block), height, self._prev, self.history)
        failed = [c for c in result.checks if not c.ok]
        if failed or result.block_hash is None:
            what = failed[0] if failed else None
            self.stopped = f"block {height}: " + (
                f"{what.name}: {what.detail}" if what else "does not decode"
            )
            return False
        self.history, self._prev, self.followed = result.history, result.block_hash, height
        return True

    def in_force(self, height: int) -> SetInForce:
        change = None
        for known in self.history.changes:
            if known.effective_height <= height:
                change = known
        members = self.history.at(height)
        since = change.effective_height if change else 1
        return SetInForce(len(members), since, change, self.followed, self.stopped)
