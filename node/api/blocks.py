"""Chain history routes: block pages, one block, committed events.

Each answer is built on a read thread (node/api/reads.py) and pages stop at the byte budget as
well as at `limit`: `next` says where the following page starts, so a client walking the chain
follows `next` (or asks again from the last height it got) and never misses a block.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ledger.chain import ChainStore
from node.api.access_check import RowFilter, row_filter
from node.api.context import store
from node.api.forms import block_json
from node.api.params import query_int
from node.api.reads import Page, limits, offload
from node.api.responses import (
    HttpError,
    bad_request,
    encode_json,
    json_body_response,
    not_found,
)

MAX_BLOCKS_PER_PAGE = 100
MAX_EVENTS_PER_PAGE = 1000
MAX_HEIGHT = 2**63


@dataclass(frozen=True, slots=True)
class BlockRange:
    """Which heights a page asks for: ascending from `start`, or descending from `start`."""

    start: int
    limit: int
    ascending: bool


def block_range(request: web.Request, tip: int) -> BlockRange:
    """`?from=` (ascending) or `?before=` (newest first; default below the tip), and `limit`."""
    limit = query_int(request, "limit", 20, 1, MAX_BLOCKS_PER_PAGE)
    if "from" in request.query:
        return BlockRange(query_int(request, "from", 1, 1, MAX_HEIGHT), limit, True)
    before = query_int(request, "before", tip + 1, 1, MAX_HEIGHT)
    return BlockRange(min(before - 1, tip), limit, False)


def blocks_page(chain: ChainStore, wanted: BlockRange, tip: int, budget: int) -> bytes:
    """`{"blocks", "next", "height"}` for `wanted`, at most `budget` bytes of blocks."""
    if wanted.ascending:
        step, end = 1, min(tip, wanted.start + wanted.limit - 1)
    else:
        step, end = -1, wanted.start - wanted.limit + 1
    page = Page(budget)
    last = None
    for height in range(wanted.start, end + step, step):
        if height < 1:
            break
        block = chain.block(height)
        if block is None:
            continue
        if not page.add(block_json(block, chain.certificate(height))):
            break
        last = height
    if last is None:
        following = None
    elif wanted.ascending:
        following = last + 1 if last < tip else None
    else:
        following = last if last > 1 else None
    return page.body("blocks", {"next": following, "height": tip})


async def get_blocks(request: web.Request) -> web.Response:
    """Ascending from `from`, or newest first below `before` (default: the tip)."""
    chain = store(request)
    tip = chain.tip().height
    wanted = block_range(request, tip)
    body = await offload(request, blocks_page, chain, wanted, tip, limits(request).answer_max_bytes)
    return json_body_response(body)


def _block_height(chain: ChainStore, ref: str) -> int | None:
    if len(ref) == 64:
        try:
            return chain.height_of(bytes.fromhex(ref))
        except ValueError:
            raise bad_request("BAD_ID", "a block is named by its height or 64-hex hash") from None
    if ref.isdigit() and len(ref) < 20:
        return int(ref)
    raise bad_request("BAD_ID", "a block is named by its height or 64-hex hash")


def one_block(chain: ChainStore, ref: str) -> bytes:
    height = _block_height(chain, ref)
    block = None if height is None else chain.block(height)
    if height is None or block is None:
        raise not_found("block")
    return encode_json(block_json(block, chain.certificate(height)))


async def get_block(request: web.Request) -> web.Response:
    body = await offload(request, one_block, store(request), request.match_info["ref"])
    return json_body_response(body)


def events_page(
    chain: ChainStore, after: int, limit: int, budget: int, keep: RowFilter | None = None
) -> bytes:
    """`limit` events after `after`, those `keep` leaves out left out (`next` passes them).

    `next` promises that the page holds every event up to it the caller may read, so a page
    never steps over events this node lacks (a node that joined by snapshot holds none below
    its snapshot): it stops before such a hole, and one that would start in it is 410
    HISTORY_ABSENT, for the client to ask another node.
    """
    page = Page(budget)
    following = after
    for record in chain.events(after, limit):
        if record["seq"] != following + 1:
            if following == after:
                raise HttpError(
                    410, "HISTORY_ABSENT", f"this node holds no event {after + 1}: ask another"
                )
            break
        if (keep is None or keep(record)) and not page.add(record):
            break
        following = record["seq"]
    return page.body("events", {"next": following})


async def get_events(request: web.Request) -> web.Response:
    after = query_int(request, "after", 0, 0, MAX_HEIGHT)
    limit = query_int(request, "limit", 100, 1, MAX_EVENTS_PER_PAGE)
    budget = limits(request).answer_max_bytes
    keep = row_filter(request)
    body = await offload(request, events_page, store(request), after, limit, budget, keep)
    return json_body_response(body)


ROUTES: list[web.RouteDef] = [
    web.get("/v1/blocks", get_blocks),
    web.get("/v1/blocks/{ref}", get_block),
    web.get("/v1/events", get_events),
]
