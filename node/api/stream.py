"""GET /v1/stream: Server-Sent Events, a `block` per commit and an `event` per contract event.

Subscribers are bounded (`max_stream_clients`; more get 503 BUSY), and each commit is encoded
once for all of them: the loop that runs consensus must not render the same large block once
per listener.
"""

from __future__ import annotations

import asyncio
import json
from asyncio import FIRST_COMPLETED
from collections import OrderedDict
from typing import Any

from aiohttp import web

from node.api.access_check import RowFilter, row_filter
from node.api.context import node
from node.api.reads import Slots, limits
from node.api.responses import busy, to_json
from node.runtime.outcomes import CommittedNotice

HEARTBEAT_S = 15.0
ENCODED_KEPT = 16  # commits kept encoded: subscribers a few blocks apart share them


class StreamHub:
    """The subscriber count and the encodings of the last few commits."""

    def __init__(self, max_clients: int) -> None:
        self.slots = Slots(max_clients)
        self._encoded: OrderedDict[bytes, bytes] = OrderedDict()

    def encode(self, notice: CommittedNotice) -> bytes:
        """`notice` as SSE lines, encoded once whoever asks."""
        encoded = self._encoded.get(notice.block_hash)
        if encoded is None:
            encoded = sse_lines(notice)
            self._encoded[notice.block_hash] = encoded
            while len(self._encoded) > ENCODED_KEPT:
                self._encoded.popitem(last=False)
        return encoded


STREAMS: web.AppKey[StreamHub] = web.AppKey("streams", StreamHub)


def stream_hub(request: web.Request) -> StreamHub:
    hub = request.app.get(STREAMS)
    if hub is None:
        raise RuntimeError("the app was made without a stream hub")
    return hub


def sse_lines(notice: CommittedNotice, keep: RowFilter | None = None) -> bytes:
    """The block's summary, then each event record `keep` lets through (all without one)."""
    header = notice.block.header
    summary = {
        "height": header.height,
        "hash": notice.block_hash,
        "time_ms": header.time_ms,
        "txs": len(notice.receipts),
        "failed": sum(1 for r in notice.receipts if r.status != "ok"),
    }
    parts = [f"event: block\ndata: {json.dumps(to_json(summary))}\n\n"]
    seq = notice.first_event_seq
    for receipt in notice.receipts:
        for event in receipt.events:
            record = {
                "seq": seq,
                "height": header.height,
                "index": receipt.index,
                "tx": receipt.tx,
                "event": event,
            }
            if keep is None or keep(record):
                parts.append(f"event: event\ndata: {json.dumps(to_json(record))}\n\n")
            seq += 1
    return "".join(parts).encode()


async def get_stream(request: web.Request) -> web.StreamResponse:
    hub = stream_hub(request)
    if not hub.slots.try_take():
        cap = limits(request).max_stream_clients
        raise busy(f"the node serves {cap} streams at most; retry later")
    try:
        return await _serve(request, hub)
    finally:
        hub.slots.release()


async def _serve(request: web.Request, hub: StreamHub) -> web.StreamResponse:
    driver = node(request).driver
    queue = driver.outcomes.subscribe()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    response.headers["Cache-Control"] = "no-cache"
    lost = getattr(request.protocol, "lost", None)  # set by the guarded handler of server.py
    try:
        await response.prepare(request)
        while True:
            notice = await _next(queue, lost)
            if notice is _GONE:
                break
            if notice is _QUIET:
                await response.write(b": heartbeat\n\n")
            elif notice is None:  # the node stops, or this client fell too far behind
                if driver.running:
                    await response.write(b"event: overflow\ndata: {}\n\n")
                break
            elif isinstance(notice, CommittedNotice):
                await response.write(await _encoded(request, hub, notice))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        driver.outcomes.unsubscribe(queue)
    return response


async def _encoded(request: web.Request, hub: StreamHub, notice: CommittedNotice) -> bytes:
    """`notice` for this subscriber: shared by all who see every event; else filtered for it,
    on a thread (looking up whom events concern reads records), with a fresh lookup per block."""
    keep = row_filter(request)
    if keep.everything:
        return hub.encode(notice)
    return await asyncio.get_running_loop().run_in_executor(None, sse_lines, notice, keep)


_QUIET = object()  # nothing to send for HEARTBEAT_S
_GONE = object()  # the client closed its connection


async def _next(
    queue: asyncio.Queue[CommittedNotice | None], lost: asyncio.Future[None] | None
) -> object:
    """The next notice, `_QUIET` after a heartbeat's silence, or `_GONE` once the client left."""
    getting = asyncio.ensure_future(queue.get())
    waiting: set[asyncio.Future[Any]] = {getting} if lost is None else {getting, lost}
    done, _ = await asyncio.wait(waiting, timeout=HEARTBEAT_S, return_when=FIRST_COMPLETED)
    if getting in done or (getting.done() and not getting.cancelled()):
        return getting.result()  # (it may have finished since `wait` returned)
    getting.cancel()  # the notice, if one comes, stays in the queue for the next call
    return _GONE if lost is not None and lost.done() else _QUIET


ROUTES: list[web.RouteDef] = [web.get("/v1/stream", get_stream)]
