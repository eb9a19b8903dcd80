"""Core routes: status, health, metrics, transactions and their proofs, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contracts.devclock import clock_offset_ms
from ledger.chain import ChainStore
from ledger.merkle import audit_path
from ledger.types import Receipt, SignedTx
from node.api.access import ACCESS
from node.api.context import SPEC, node, store
from node.api.forms import certificate_json, error_json, receipt_json, tx_json, unknown_tx
from node.api.params import query_int, read_json, tx_id_param
from node.api.reads import offload
from node.api.responses import (
    HttpError,
    bad_request,
    encode_json,
    json_body_response,
    json_response,
    not_found,
)

MAX_TXS_PER_REQUEST = 10_000


MAX_WAIT_MS = 120_000


DEFAULT_WAIT_MS = 30_000


async def get_status(request: web.Request) -> web.Response:
    handle = node(request)
    tip = handle.driver.executor.tip
    replica = handle.driver.replica
    validators = handle.driver.executor.validators_at(tip.height + 1)  # the set in force
    peers = handle.peers()
    return json_response(
        {
            "chain": handle.genesis.chain,
            "node": handle.name,
            "height": tip.height,
            "last_hash": tip.block_hash,
            "state_root": tip.state_root,
            "time_ms": tip.time_ms,
            # What the next block adds to its proposer's clock (tally localnet time); 0 unless
            # a development chain moved its clock.
            "clock_offset_ms": clock_offset_ms(handle.driver.store.state_trusted),
            "view": replica.view,
            "primary": validators[replica.primary % len(validators)].name,
            "validators": [
                {"name": v.name, "org": v.org, "live": v.name == handle.name or peers.get(v.name)}
                for v in validators
            ],
            # Whether this node votes: false for a validator governance has not added yet (or
            # whose addition is not in force yet) and for one it removed (node/runtime/follower.py)
            "voting": any(v.name == handle.name for v in validators),
            "peers": sum(1 for up in peers.values() if up),
            "mempool": len(handle.driver.mempool),
            "snapshot": handle.snapshot(),
            # "members" (signed requests only) or "open" (development: anyone reads everything)
            "access": request.app[ACCESS].mode,
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
    # {"txs": [...]}: one colon and a comma between txs; a few more values are tolerated.
    payload = await read_json(request, MAX_TXS_PER_REQUEST + 8)
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


def committed_tx(chain: ChainStore, tx_id: bytes) -> bytes | None:
    """The §9 answer for a committed tx, or None if `tx_id` is not committed."""
    location = chain.tx_location(tx_id)
    if location is None:
        return None
    height, index = location
    block = chain.block(height)
    receipt = chain.receipt(height, index)
    if block is None or receipt is None:
        raise HttpError(500, "INTERNAL", "the store lost a committed tx")
    tx = SignedTx.decode(block.txs[index])
    return encode_json(
        {"id": tx_id, "status": "committed", "tx": tx_json(tx), "receipt": receipt_json(receipt)}
    )


async def get_tx(request: web.Request) -> web.Response:
    tx_id = tx_id_param(request)
    wait_ms = _wait_ms(request)
    driver = node(request).driver
    chain = store(request)
    answer = await offload(request, committed_tx, chain, tx_id)
    if answer is None and wait_ms is not None and driver.mempool.contains(tx_id):
        await driver.outcomes.wait_for([tx_id], wait_ms / 1000)
        answer = await offload(request, committed_tx, chain, tx_id)
    if answer is None:
        pending = driver.mempool.get(tx_id)
        if pending is not None:
            return json_response(
                {"id": tx_id, "status": "pending", "tx": tx_json(pending), "receipt": None}
            )
        if chain.tx_location(tx_id) is not None:  # committed while we looked at the mempool
            answer = await offload(request, committed_tx, chain, tx_id)
    if answer is not None:
        return json_body_response(answer)
    return unknown_tx(tx_id)


def proof_of(chain: ChainStore, tx_id: bytes) -> bytes:
    """The inclusion proof of a committed tx: it hashes every tx and receipt of its block."""
    location = chain.tx_location(tx_id)
    if location is None:
        raise not_found("committed tx")
    height, index = location
    block = chain.block(height)
    header_bytes = chain.header_bytes(height)
    receipts = [receipt.encode() for receipt in chain.receipts(height)]
    if block is None or header_bytes is None:
        raise HttpError(500, "INTERNAL", "the store lost a committed block")
    return encode_json(
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


async def get_proof(request: web.Request) -> web.Response:
    tx_id = tx_id_param(request)
    return json_body_response(await offload(request, proof_of, store(request), tx_id))


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(request.app[SPEC])


ROUTES: list[web.RouteDef] = [
    web.get("/v1/status", get_status),
    web.post("/v1/txs", post_txs),
    web.get("/v1/txs/{id}", get_tx),
    web.get("/v1/txs/{id}/proof", get_proof),
    web.get("/healthz", healthz),
    web.get("/metrics", get_metrics),
    web.get("/openapi.json", get_openapi),
]
