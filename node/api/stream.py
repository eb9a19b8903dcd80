"""GET /v1/stream: Server-Sent Events, a `block` per commit and an `event` per contract event.

Subscribers are bounded (`max_stream_clients`; more get 503 BUSY), and each commit is encoded
once for all of them: the loop that runs consensus must not render the same large block once
per listener.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict

from aiohttp import web

from node.api.context import node
from node.api.reads import Slots, limits
from node.api.responses import busy, to_json
from node.runtime.driver import CommittedNotice

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


def sse_lines(notice: CommittedNotice) -> bytes:
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
    queue = driver.subscribe()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    response.headers["Cache-Control"] = "no-cache"
    try:
        await response.prepare(request)
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if notice is None:  # the node stops, or this client fell too far behind
                if driver.running:
                    await response.write(b"event: overflow\ndata: {}\n\n")
                break
            await response.write(hub.encode(notice))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        driver.unsubscribe(queue)
    return response


ROUTES: list[web.RouteDef] = [web.get("/v1/stream", get_stream)]
