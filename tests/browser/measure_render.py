"""Measure the explorer's render time on a long chain (not a test: durations are never asserted).

Builds a chain of N blocks (default 20,000; one cash tx every 10th block) in a temporary LevelDB
through the real executor, with real BLS certificates from a one-validator devnet, serves it
through the node's own JSON code (node.api.block_json and node/api/raw.py's routes), and
times the explorer's block page and blocks list over HTTP. Prints medians.

    .venv/bin/python -m tests.browser.measure_render [--blocks 20000] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from explorer.app import make_app
from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import Certificate, commit_digest
from node.api import raw as api_explorer
from node.api.context import STORE
from node.api.forms import block_json
from node.api.params import query_int
from node.api.responses import json_response
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor
from wallet.txbuilder import build_tx


def build_chain(path: str, blocks: int) -> tuple[Any, ChainStore]:
    devnet = make_devnet(1, seed=b"measure")
    genesis = genesis_from_value(devnet.genesis)
    store = ChainStore(LevelDBStore(path))
    executor = Executor(store, genesis)
    validator = devnet.validators[0]
    bank = devnet.key("bank-a", "operator")
    for height in range(1, blocks + 1):
        tip = executor.tip
        txs = []
        if height % 10 == 0:
            args = {"currency": "CNY", "to": "acme-steel", "amount": height}
            txs = [build_tx(bank, genesis.chain, "cash", "issue", args, height + 5)]
        block, _ = executor.build(
            0, height, tip.block_hash, txs, validator.ed25519.public, genesis.time_ms + height
        )
        block_hash = block.header.hash()
        signature = validator.bls.sign(commit_digest(genesis.chain, height, block_hash))
        executor.commit(block, Certificate(height, 0, block_hash, b"\x01", signature))
    return genesis, store


def fake_node(store: ChainStore, chain: str) -> web.Application:
    async def status(request: web.Request) -> web.Response:
        tip = store.tip()
        return json_response({"chain": chain, "height": tip.height, "view": 0})

    async def blocks(request: web.Request) -> web.Response:
        start = query_int(request, "from", 1, 1, 2**63)
        limit = query_int(request, "limit", 20, 1, 100)
        found = []
        for height in range(start, min(store.tip().height, start + limit - 1) + 1):
            block = store.block(height)
            if block is not None:
                found.append(block_json(block, store.certificate(height)))
        return json_response({"blocks": found})

    async def one(request: web.Request) -> web.Response:
        height = int(request.match_info["ref"])
        block = store.block(height)
        if block is None:
            return json_response({"error": {"code": "NOT_FOUND", "message": "no"}}, 404)
        return json_response(block_json(block, store.certificate(height)))

    app = web.Application()
    app[STORE] = store
    app.add_routes(
        [
            web.get("/v1/status", status),
            web.get("/v1/blocks", blocks),
            web.get("/v1/blocks/{ref}", one),
        ]
    )
    app.add_routes(api_explorer.ROUTES)
    return app


async def measure(store: ChainStore, genesis: Any, samples: int) -> dict[str, float]:
    node = TestServer(fake_node(store, genesis.chain))
    await node.start_server()
    explorer = make_app(str(node.make_url("")), genesis, genesis_verified=True, follow=False)
    tip = store.tip().height
    results: dict[str, list[float]] = {"block (cold)": [], "block (cached)": [], "blocks list": []}
    async with TestClient(TestServer(explorer)) as client:
        heights = random.Random(1).sample(range(1, tip + 1), samples)
        for name, paths in (
            ("block (cold)", [f"/block/{h}" for h in heights]),
            ("block (cached)", [f"/block/{h}" for h in heights]),
            ("blocks list", [f"/blocks?before={h}" for h in heights]),
        ):
            for path in paths:
                started = time.perf_counter()
                response = await client.get(path)
                await response.read()
                results[name].append((time.perf_counter() - started) * 1000)
                assert response.status == 200, path
    await node.close()
    return {name: statistics.median(times) for name, times in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        genesis, store = build_chain(directory, args.blocks)
        print(f"built {args.blocks} blocks in {time.perf_counter() - started:.1f} s")
        for name, median in asyncio.run(measure(store, genesis, args.samples)).items():
            print(f"{name:<16} median {median:.1f} ms over {args.samples} requests")


if __name__ == "__main__":
    main()
