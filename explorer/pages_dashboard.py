"""The dashboard: height, view, primary, tx/s, recent blocks and txs, validator liveness, and
its live updates (Server-Sent Events to the browser, or one snapshot per request).

The page and each update render the same fragments from one snapshot, so what a browser shows
after an update is what a reload would show.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from explorer.chain import BlockRow, ChainView
from explorer.live import CLOSING
from explorer.reader import NodeError
from explorer.web import FOLLOWER, VIEW, follower, render, render_text

HEARTBEAT_S = 15.0


async def _latest_txs(chain_view: ChainView, rows: list[tuple[str, BlockRow]]) -> list[Any]:
    async def one(tx_id: str, row: BlockRow) -> dict[str, Any]:
        try:
            answer = await chain_view.tx(tx_id)
        except NodeError as error:
            if error.status == 404:  # a members node keeps this tx's body from the reader
                return {"id": tx_id, "height": row.height, "time_ms": row.time_ms,
                        "withheld": True}  # fmt: skip
            answer = {}
        body = answer.get("tx") or {}
        receipt = answer.get("receipt") or {}
        return {
            "id": tx_id,
            "height": row.height,
            "time_ms": row.time_ms,
            "call": f"{body.get('contract', '?')}.{body.get('method', '?')}",
            "sender": chain_view.org_of(str(body.get("from", ""))),
            "status": receipt.get("status", "?"),
        }

    return list(await asyncio.gather(*(one(tx_id, row) for tx_id, row in rows)))


def _validators(chain_view: ChainView, status: dict[str, Any], recent: list[BlockRow]) -> Any:
    live = {
        v.get("name"): v.get("live") for v in status.get("validators", []) if isinstance(v, dict)
    }
    strip = list(reversed(recent[:24]))
    table = []
    for index, validator in enumerate(chain_view.genesis.validators):
        signed = [index in row.signers for row in strip]
        table.append(
            {
                "index": index,
                "name": validator.name,
                "org": validator.org,
                "ed25519": validator.ed25519.hex(),
                "live": live.get(validator.name),
                "primary": status.get("primary") == validator.name,
                "strip": list(zip([r.height for r in strip], signed, strict=True)),
                "signed": sum(signed),
                "of": len(signed),
            }
        )
    return table


async def dashboard_snapshot(app: web.Application) -> dict[str, Any]:
    """Everything the dashboard shows, with its tables pre-rendered (one renderer for both)."""
    chain_view = app[VIEW]
    chain_follower = app[FOLLOWER]
    state = chain_follower.state
    status = state.status
    recent = chain_follower.recent(12)
    txs = await _latest_txs(chain_view, chain_follower.recent_tx_ids(10))
    validators = _validators(chain_view, status, chain_follower.recent(24))
    chart = chain_follower.chart()
    last_minute = chart[-6:]
    tps = sum(point["tps"] for point in last_minute) / max(1, len(last_minute))
    fragments = {
        name: render_text(
            app, f"fragments/{name}.html", blocks=recent, txs=txs, validators=validators
        )
        for name in ("blocks", "txs", "validators")
    }
    return {
        "height": status.get("height"),
        "last_time_ms": recent[0].time_ms if recent else status.get("time_ms"),
        "view": status.get("view"),
        "primary": status.get("primary"),
        "node": status.get("node"),
        "mempool": status.get("mempool"),
        "tps": round(tps, 2),
        "chart": chart,
        "error": state.error,
        "verified_recent": all(r.ok for r in recent),
        "fragments": fragments,
        # Now on the chain's clock: a development chain may run ahead (tally localnet time).
        "now_ms": int(time.time() * 1000) + int(status.get("clock_offset_ms") or 0),
    }


async def dashboard(request: web.Request) -> web.Response:
    chain_follower = follower(request)
    if not chain_follower.state.status:
        await chain_follower.refresh()
    snapshot = await dashboard_snapshot(request.app)
    return render(request, "dashboard.html", snap=snapshot, page="dashboard")


async def live_events(request: web.Request) -> web.StreamResponse:
    """SSE to the browser: a dashboard snapshot each time the chain moves."""
    chain_follower = follower(request)
    queue = chain_follower.subscribe()
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        snapshot = await dashboard_snapshot(request.app)
        await response.write(f"data: {json.dumps(snapshot)}\n\n".encode())
        while True:
            try:
                moved = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if moved == CLOSING:
                break
            snapshot = await dashboard_snapshot(request.app)
            await response.write(f"data: {json.dumps(snapshot)}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        chain_follower.unsubscribe(queue)
    return response


async def live_json(request: web.Request) -> web.Response:
    """The same snapshot for one request (a fallback for browsers without EventSource)."""
    return web.json_response(await dashboard_snapshot(request.app))


ROUTES: list[web.RouteDef] = [
    web.get("/", dashboard),
    web.get("/live/events", live_events),
    web.get("/live/snapshot", live_json),
]
