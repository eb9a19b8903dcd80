"""The development clock (DESIGN.md §11): `tally localnet time --advance DAYS`, on chain.

A block's time is its proposer's clock plus an offset that lives in the state the block builds
on; every replica checks the proposer's time against its own clock plus the same offset. The
offset is moved by a transaction, so every replica applies it at the same height: no node can
be ahead of another (a node that had moved alone would propose blocks the others reject, and
the chain would halt), and a restarted node reads it back from its store. Block time stays
monotonic: the offset only grows, and the executor never lets a block's time go below its
parent's.

Only a development chain may move its clock: genesis marks one (`"development": true`, which
`tally localnet up` writes and `tally consortium` never does), and only then does the genesis
state hold the offset key. Its absence is what refuses the call on any other chain.

State: clock/offset_ms -> int (milliseconds added to every proposer's clock; development only)
"""

from __future__ import annotations

from typing import Any

from contracts.args import integer
from contracts.errors import ensure
from contracts.runtime import Context, method
from contracts.wording import moment
from ledger.genesis import Genesis
from ledger.state import Reader

OFFSET_KEY = "clock/offset_ms"
DAY_MS = 86_400_000
MAX_ADVANCE_DAYS = 3650
# Block dates must stay far inside what every replica's calendar code can write (year 9999).
MAX_OFFSET_DAYS = 36_500
MAX_OFFSET_MS = MAX_OFFSET_DAYS * DAY_MS


def genesis_state(genesis: Genesis) -> dict[str, Any]:
    """A development chain starts with a zero offset; any other chain has no offset key."""
    return {OFFSET_KEY: 0} if genesis.development else {}


def clock_offset_ms(read: Reader) -> int:
    """The offset in the state `read` sees: what blocks built on that state add to the clock."""
    value = read(OFFSET_KEY)
    return 0 if value is None else int(value)


def _offset_of_development_chain(ctx: Context) -> int:
    offset = ctx.get(OFFSET_KEY)
    ensure(
        offset is not None,
        "NOT_DEVELOPMENT_CHAIN",
        "only a development chain may move its block clock, and genesis does not mark this "
        'chain as one ("development": true)',
    )
    return int(offset)


@method(
    "clock",
    "advance",
    {"days": integer(1, MAX_ADVANCE_DAYS)},
    roles=("admin",),
    kinds=("bank",),
)
def advance(ctx: Context, days: int) -> dict[str, int]:
    """A bank's admin moves a development chain's block clock `days` forward, from the next
    block on (this block's time was fixed before it ran)."""
    offset = _offset_of_development_chain(ctx)
    new_offset = offset + days * DAY_MS  # both bounded far below 2^63: no overflow to check
    ensure(
        new_offset <= MAX_OFFSET_MS,
        "CLOCK_OFFSET_TOO_LARGE",
        f"the block clock runs {offset // DAY_MS} days ahead already; {days} more would pass "
        f"the {MAX_OFFSET_DAYS} days a development chain may run ahead",
        {"offset_ms": offset, "max_offset_ms": MAX_OFFSET_MS},
    )
    ctx.put(OFFSET_KEY, new_offset)
    ctx.emit("clock_advanced", days=days, offset_ms=new_offset, from_height=ctx.height + 1)
    return {"days": days, "offset_ms": new_offset, "from_height": ctx.height + 1}


@method("clock", "tick", {}, roles=("admin",), kinds=("bank",))
def tick(ctx: Context) -> dict[str, int | str]:
    """Records nothing but a block, so a development chain shows its clock after an advance
    (nodes build no empty blocks)."""
    _offset_of_development_chain(ctx)
    return {"time_ms": ctx.time_ms, "time": moment(ctx.time_ms), "height": ctx.height}
