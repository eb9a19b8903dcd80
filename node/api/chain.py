"""Core routes: status, health, metrics, transactions and proofs, blocks, events and the stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from ledger.merkle import audit_path
from ledger.types import Receipt, SignedTx
from node.api.context import SPEC, node, store
from node.api.forms import block_json, certificate_json, error_json, receipt_json, tx_json
from node.api.params import query_int, read_json, tx_id_param
from node.api.responses import HttpError, bad_request, json_response, not_found, to_json
from node.runtime.outcomes import CommittedNotice

MAX_TXS_PER_REQUEST = 10_000


MAX_WAIT_MS = 120_000


DEFAULT_WAIT_MS = 30_000


STREAM_HEARTBEAT_S = 15.0


async def get_status(request: web.Request) -> web.Response:
    handle = node(request)
    tip = handle.driver.executor.tip
    replica = handle.driver.replica
    validators = handle.genesis.validators
    peers = handle.peers()
    return json_response(
        {
            "chain": handle.genesis.chain,
            "node": handle.name,
            "height": tip.height,
            "last_hash": tip.block_hash,
            "state_root": tip.state_root,
            "time_ms": tip.time_ms,
            "view": replica.view,
            "primary": validators[replica.primary % len(validators)].name,
            "validators": [
                {"name": v.name, "org": v.org, "live": v.name == handle.name or peers.get(v.name)}
                for v in validators
            ],
            "peers": sum(1 for up in peers.values() if up),
            "mempool": len(handle.driver.mempool),
        }
    )


async def healthz(request: web.Request) -> web.Response:
    return json_response({"ok": True, "height": node(request).driver.executor.tip.height})


async def get_metrics(request: web.Request) -> web.Response:
    handle = node(request)
    handle.metrics.mempool_size.set(len(handle.driver.mempool))
    handle.metrics.peers_connected.set(sum(1 for up in handle.peers().values() if up))
    body, content_type = handle.metrics.render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


def _wait_ms(request: web.Request) -> int | None:
    wait = request.query.get("wait")
    if wait is None or wait == "":
        return None
    if wait != "commit":
        raise bad_request("BAD_QUERY", "wait must be 'commit'")
    return query_int(request, "timeout_ms", DEFAULT_WAIT_MS, 0, MAX_WAIT_MS)


async def post_txs(request: web.Request) -> web.Response:
    wait_ms = _wait_ms(request)
    payload = await read_json(request)
    if not isinstance(payload, dict) or not isinstance(payload.get("txs"), list):
        raise bad_request("BAD_REQUEST", 'the body must be {"txs": [hex, ...]}')
    items = payload["txs"]
    if not items:
        raise bad_request("BAD_REQUEST", "txs is empty")
    if len(items) > MAX_TXS_PER_REQUEST:
        raise bad_request("TOO_MANY_TXS", f"at most {MAX_TXS_PER_REQUEST} txs per request")
    handle = node(request)
    driver = handle.driver
    raws: list[bytes] = []
    positions: list[int] = []
    results: list[dict[str, Any]] = []
    for position, item in enumerate(items):
        try:
            raws.append(bytes.fromhex(item))
            positions.append(position)
            results.append({})
        except (ValueError, TypeError):
            results.append(
                {"id": None, "accepted": False, "error": {"code": "NOT_HEX", "message": "not hex"}}
            )
    admissions = await driver.mempool.submit(raws)
    accepted: list[bytes] = []
    for position, admission in zip(positions, admissions, strict=True):
        tx_id = admission.id
        results[position] = {
            "id": None if tx_id is None else tx_id.hex(),
            "accepted": admission.error is None,
            "error": error_json(admission.error),
        }
        if admission.error is None and tx_id is not None:
            accepted.append(tx_id)
    not_hex = len(items) - len(raws)
    if not_hex:
        rejections = driver.mempool.rejections
        rejections["NOT_HEX"] = rejections.get("NOT_HEX", 0) + not_hex
    driver.txs_arrived(accepted)
    if wait_ms is not None and accepted:
        outcomes = await driver.outcomes.wait_for(accepted, wait_ms / 1000)
        for result in results:
            if result["accepted"]:
                outcome = outcomes.get(bytes.fromhex(result["id"]))
                if isinstance(outcome, Receipt):
                    result["receipt"] = receipt_json(outcome)
                else:
                    result["receipt"] = None
                    result["error"] = error_json(outcome)
    if not accepted:
        first = results[0]["error"]
        return json_response({"error": first, "results": results}, status=400)
    return json_response({"results": results})


async def get_tx(request: web.Request) -> web.Response:
    tx_id = tx_id_param(request)
    wait_ms = _wait_ms(request)
    handle = node(request)
    chain = store(request)
    location = chain.tx_location(tx_id)
    if location is None and wait_ms is not None and handle.driver.mempool.contains(tx_id):
        await handle.driver.outcomes.wait_for([tx_id], wait_ms / 1000)
        location = chain.tx_location(tx_id)
    if location is not None:
        height, index = location
        block = chain.block(height)
        receipt = chain.receipt(height, index)
        if block is None or receipt is None:
            raise HttpError(500, "INTERNAL", "the store lost a committed tx")
        tx = SignedTx.decode(block.txs[index])
        return json_response(
            {
                "id": tx_id,
                "status": "committed",
                "tx": tx_json(tx),
                "receipt": receipt_json(receipt),
            }
        )
    pending = handle.driver.mempool.get(tx_id)
    if pending is not None:
        return json_response(
            {"id": tx_id, "status": "pending", "tx": tx_json(pending), "receipt": None}
        )
    # 404, with the status field too, so clients reading either one understand.
    error = {"code": "NOT_FOUND", "message": "no such tx (pending or committed)"}
    body = {"id": tx_id, "status": "unknown", "tx": None, "receipt": None, "error": error}
    return json_response(body, status=404)


async def get_proof(request: web.Request) -> web.Response:
    tx_id = tx_id_param(request)
    chain = store(request)
    location = chain.tx_location(tx_id)
    if location is None:
        raise not_found("committed tx")
    height, index = location
    block = chain.block(height)
    header_bytes = chain.header_bytes(height)
    receipts = [receipt.encode() for receipt in chain.receipts(height)]
    if block is None or header_bytes is None:
        raise HttpError(500, "INTERNAL", "the store lost a committed block")
    return json_response(
        {
            "tx": block.txs[index],
            "receipt": receipts[index],
            "header": header_bytes,
            "index": index,
            "tree_size": len(block.txs),
            "tx_path": audit_path(block.txs, index),
            "receipt_path": audit_path(receipts, index),
            "certificate": certificate_json(chain.certificate(height)),
        }
    )


async def get_blocks(request: web.Request) -> web.Response:
    """Ascending from `from`, or newest first below `before` (default: the tip)."""
    chain = store(request)
    tip = chain.tip().height
    limit = query_int(request, "limit", 20, 1, 100)
    if "from" in request.query:
        start = query_int(request, "from", 1, 1, 2**63)
        heights = list(range(start, min(tip, start + limit - 1) + 1))
        following = heights[-1] + 1 if heights and heights[-1] < tip else None
    else:
        before = query_int(request, "before", tip + 1, 1, 2**63)
        top = min(before - 1, tip)
        heights = list(range(top, max(0, top - limit), -1))
        following = heights[-1] if heights and heights[-1] > 1 else None
    blocks = []
    for height in heights:
        block = chain.block(height)
        if block is not None:
            blocks.append(block_json(block, chain.certificate(height)))
    return json_response({"blocks": blocks, "next": following, "height": tip})


async def get_block(request: web.Request) -> web.Response:
    chain = store(request)
    ref = request.match_info["ref"]
    if len(ref) == 64:
        try:
            height = chain.height_of(bytes.fromhex(ref))
        except ValueError:
            raise bad_request("BAD_ID", "a block is named by its height or 64-hex hash") from None
    elif ref.isdigit() and len(ref) < 20:
        height = int(ref)
    else:
        raise bad_request("BAD_ID", "a block is named by its height or 64-hex hash")
    block = None if height is None else chain.block(height)
    if height is None or block is None:
        raise not_found("block")
    return json_response(block_json(block, chain.certificate(height)))


async def get_events(request: web.Request) -> web.Response:
    after = query_int(request, "after", 0, 0, 2**63)
    limit = query_int(request, "limit", 100, 1, 1000)
    events = store(request).events(after, limit)
    following = events[-1]["seq"] if events else after
    return json_response({"events": events, "next": following})


async def get_stream(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: `block` per commit and `event` per contract event."""
    driver = node(request).driver
    queue = driver.outcomes.subscribe()
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    response.headers["Cache-Control"] = "no-cache"
    await response.prepare(request)
    try:
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), STREAM_HEARTBEAT_S)
            except TimeoutError:
                await response.write(b": heartbeat\n\n")
                continue
            if notice is None:  # the node stops, or this client fell too far behind
                if driver.running:
                    await response.write(b"event: overflow\ndata: {}\n\n")
                break
            await response.write(_sse(notice))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        driver.outcomes.unsubscribe(queue)
    return response


def _sse(notice: CommittedNotice) -> bytes:
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


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[SPEC])


ROUTES: list[web.RouteDef] = [
    web.get("/v1/status", get_status),
    web.post("/v1/txs", post_txs),
    web.get("/v1/txs/{id}", get_tx),
    web.get("/v1/txs/{id}/proof", get_proof),
    web.get("/v1/blocks", get_blocks),
    web.get("/v1/blocks/{ref}", get_block),
    web.get("/v1/events", get_events),
    web.get("/v1/stream", get_stream),
    web.get("/healthz", healthz),
    web.get("/metrics", get_metrics),
    web.get("/openapi.json", get_openapi),
]
