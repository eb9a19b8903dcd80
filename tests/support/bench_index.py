"""Indexing speed (blocks/s into SQLite and PostgreSQL) and filtered queries deep in a long chain.

    .venv/bin/python -m tests.support.bench_index [--blocks 20000] [--dir DIR]

Builds (or, with an existing --dir, reuses and extends) a one-validator localnet whose blocks
hold one transaction each (`block_max_txs = 1`): cash transfers back and forth between four
enterprises in CNY and EUR, submitted in waves that keep the mempool full. Then indexes the
whole chain with `explorer.index.Follower` in this process into a fresh SQLite file and a fresh
database on a throwaway PostgreSQL server (tests/support/postgres.py), with and without the
state-proof reconciliation, and times three queries at the far end of the chain. Prints one
JSON object (docs/benchmarks.md). A measurement, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from explorer.index import queries
from explorer.index.db import connect
from explorer.index.follower import Follower
from explorer.index.writer import IndexWriter
from ledger.genesis import load_genesis
from node.ops import localnet
from node.ops.localnet_access import localnet_reader
from tests.support.localnet_tools import remember
from tests.support.postgres import postgres_server
from wallet.async_client import AsyncClient
from wallet.localnet_keys import localnet_keys
from wallet.txbuilder import build_tx

ORGS = ("acme-steel", "bigauto", "ore-mining", "fuel-co")
WAVE = 400  # txs submitted at once; the mempool stays ahead of the one-tx blocks


async def _fund(client: AsyncClient, keys: dict[str, Any]) -> None:
    for org in ORGS:
        await client.call(keys["bank-a"], "cash", "issue",
                          {"currency": "CNY", "to": org, "amount": 10**12})  # fmt: skip
        await client.call(keys["bank-b"], "cash", "issue",
                          {"currency": "EUR", "to": org, "amount": 10**12})  # fmt: skip


async def build_chain(net: dict[str, Any], blocks: int) -> int:
    """Extend the chain to at least `blocks` blocks; the tip."""
    keys = localnet_keys(net)
    signer = localnet_reader(net)
    async with AsyncClient(net["nodes"][0]["api"], timeout=120, request_signer=signer) as client:
        chain = await client.chain()
        if await client.height() < 10:
            await _fund(client, keys)
        sent = 0
        while (height := await client.height()) < blocks:
            wave = min(WAVE, blocks - height)
            txs = []
            for i in range(wave):
                payer, payee = ORGS[(sent + i) % 4], ORGS[(sent + i + 1) % 4]
                currency = "CNY" if (sent + i) % 3 else "EUR"
                args = {"currency": currency, "to": payee, "amount": 1 + (sent + i) % 997}
                txs.append(build_tx(keys[payer], chain, "cash", "transfer", args, height + 900))
            await client.submit(txs)
            sent += wave
            while await client.height() < height + wave * 3 // 4:
                await asyncio.sleep(0.2)
            print(f"  chain at {await client.height()} of {blocks}", flush=True)
        return await client.height()


async def index_into(net: dict[str, Any], url: str, reconcile: bool) -> dict[str, Any]:
    genesis = load_genesis(net["genesis"])
    db = connect(url)
    try:
        signer = localnet_reader(net)
        async with AsyncClient(
            net["nodes"][0]["api"], timeout=120, genesis=genesis, request_signer=signer
        ) as client:
            follower = Follower(client, genesis, IndexWriter(db, genesis), reconcile=reconcile)
            follower.open()
            started = time.perf_counter()
            height = await follower.catch_up()
            elapsed = time.perf_counter() - started
        return {
            "blocks": height,
            "seconds": round(elapsed, 1),
            "blocks_per_s": round(height / elapsed, 1),
            "reconciled": follower.reconciled,
        }
    finally:
        db.close()


def _timed(run: Any) -> float:
    started = time.perf_counter()
    run()
    return round((time.perf_counter() - started) * 1000, 2)


def deep_queries(url: str, tip: int) -> dict[str, float]:
    """Milliseconds of three reads at the far end of the chain."""
    db = connect(url)
    try:
        near_end = queries.TxFilter(org="acme-steel", currency="CNY", from_height=tip - 2000)
        by_method = queries.TxFilter(org="fuel-co", contract="cash", method="transfer",
                                     status="ok", after=(tip - 500, 0))  # fmt: skip
        return {
            "movements_acme_cny_last_2000_blocks_page_ms": _timed(
                lambda: list(queries.movements(db, near_end, 50))),
            "txs_fuel_co_transfers_after_tip_minus_500_page_ms": _timed(
                lambda: list(queries.txs(db, by_method, 50))),
            "statement_bigauto_eur_whole_chain_ms": _timed(
                lambda: queries.statement(db, "bigauto", "EUR")),
        }  # fmt: skip
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep (or reuse) the localnet here")
    args = parser.parse_args()
    directory = args.dir or Path(tempfile.mkdtemp(prefix="tally-bench-index-"))
    params = {"block_max_txs": 1, "batch_ms": 1, "max_tx_validity": 1000}
    net = remember(localnet.up(directory, 1, params=params))
    report: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        tip = asyncio.run(build_chain(net, args.blocks))
        report["chain"] = {"blocks": tip, "build_seconds": round(time.perf_counter() - started)}
        with tempfile.TemporaryDirectory() as scratch, postgres_server() as server:
            for reconcile in (True, False):
                sqlite_url = f"sqlite:///{scratch}/index-{reconcile}.db"
                pg_url = server.create_database(f"bench_{str(reconcile).lower()}")
                suffix = "" if reconcile else "_no_reconcile"
                report["sqlite" + suffix] = asyncio.run(index_into(net, sqlite_url, reconcile))
                report["postgresql" + suffix] = asyncio.run(index_into(net, pg_url, reconcile))
                if reconcile:
                    report["sqlite_queries"] = deep_queries(sqlite_url, tip)
                    report["postgresql_queries"] = deep_queries(pg_url, tip)
                print(json.dumps(report), flush=True)
    finally:
        localnet.down(directory)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
