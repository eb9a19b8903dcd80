"""Pages about the chain itself: dashboard, blocks, one block, one transaction, search."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp import web

from explorer.app import FOLLOWER, VIEW, PageError, follower, render, render_text, view
from explorer.chain import BlockRow, ChainView
from explorer.reader import NodeError
from explorer.search import candidates, resolve
from explorer.verify import check_proof, decode_header, verify_certificate
from wallet.forms import parse_certificate

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
PAGE_SIZE = 25


def _tx_id(request: web.Request) -> str:
    raw = request.match_info["id"]
    if not HEX64.match(raw):
        raise PageError(400, "Malformed transaction id", "A transaction id is 64 hex characters.")
    return raw.lower()


# -- dashboard -------------------------------------------------------------------------------------


async def _latest_txs(chain_view: ChainView, rows: list[tuple[str, BlockRow]]) -> list[Any]:
    async def one(tx_id: str, row: BlockRow) -> dict[str, Any]:
        try:
            answer = await chain_view.tx(tx_id)
        except NodeError:
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
        "now_ms": int(time.time() * 1000),
    }


async def dashboard(request: web.Request) -> web.Response:
    chain_follower = follower(request)
    if not chain_follower.state.status:
        await chain_follower.refresh()
    snapshot = await dashboard_snapshot(request.app)
    return render(request, "dashboard.html", snap=snapshot, page="dashboard")


# -- blocks ----------------------------------------------------------------------------------------


async def blocks(request: web.Request) -> web.Response:
    raw = request.query.get("before", "")
    status = await view(request).reader.status()
    tip = int(status.get("height", 0))
    if raw:
        if not raw.isdigit() or len(raw) > 19:
            raise PageError(400, "Bad cursor", "?before= takes a block height.")
        before = min(int(raw), tip + 1)
    else:
        before = tip + 1
    limit_raw = request.query.get("limit", str(PAGE_SIZE))
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100:
        raise PageError(400, "Bad page size", "?limit= takes 1 to 100 blocks.")
    limit = int(limit_raw)
    rows = await view(request).rows(before, limit)
    older = rows[-1].height if rows and rows[-1].height > 1 else None
    newer = before + limit if before <= tip else None
    return render(
        request,
        "blocks.html",
        blocks=rows,
        tip=tip,
        older=older,
        newer=newer,
        limit=limit,
        page="blocks",
    )


async def block(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    if HEX64.match(ref):
        height = await view(request).reader.height_of_hash(ref.lower())
        raise web.HTTPFound(f"/block/{height}")
    if not ref.isdigit() or len(ref) > 19:
        raise PageError(
            400, "Malformed block reference", "A block is named by its height or its 64-hex hash."
        )
    height = int(ref)
    if height == 0:
        return render(request, "genesis.html", page="blocks")
    block_view = await view(request).block(height)
    tip = follower(request).state.status.get("height")
    return render(request, "block.html", b=block_view, tip=tip, page="blocks")


# -- transactions ----------------------------------------------------------------------------------


async def tx(request: web.Request) -> web.Response:
    tx_id = _tx_id(request)
    chain_view = view(request)
    answer = await chain_view.tx(tx_id)
    proof_verdict = cert = None
    header = None
    if answer.get("status") == "committed":
        proof = await chain_view.reader.proof(tx_id)
        proof_verdict = check_proof(chain_view.genesis, proof, tx_id)
        try:
            header = decode_header(proof.get("header"))
            cert = verify_certificate(
                chain_view.genesis, header, parse_certificate(proof.get("certificate"))
            )
        except ValueError:
            cert = None
    body = answer.get("tx") or {}
    return render(
        request,
        "tx.html",
        t=answer,
        body=body,
        sender=chain_view.org_of(str(body.get("from", ""))),
        receipt=answer.get("receipt"),
        proof=proof_verdict,
        cert=cert,
        header=header,
        page="tx",
    )


# -- search ----------------------------------------------------------------------------------------


async def search(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not query:
        raise web.HTTPFound("/")
    if not candidates(query):
        return render(request, "search.html", status=404, targets=[], searched=query)
    targets = await resolve(view(request).reader, query)
    if len(targets) == 1:
        raise web.HTTPFound(targets[0].url)
    status = 200 if targets else 404
    return render(request, "search.html", status=status, targets=targets, searched=query)


ROUTES: list[web.RouteDef] = [
    web.get("/", dashboard),
    web.get("/blocks", blocks),
    web.get("/block/{ref}", block),
    web.get("/tx/{id}", tx),
    web.get("/search", search),
]
