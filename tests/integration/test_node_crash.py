"""`kill -9` in the middle of a stream of transactions loses nothing that had a receipt."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.chain import ChainStore
from ledger.genesis import load_genesis
from ledger.store import LevelDBStore, MemoryStore
from node.ops import localnet as localnet_module
from node.runtime.executor import Executor
from tests.support.localnet_tools import signed_client
from wallet.client import ApiError
from wallet.localnet_keys import localnet_key as _key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

ORGS = ["acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts"]


def _wait_until(condition: Any, seconds: float = 60.0) -> None:
    """Poll a condition; the deadline is only a safety net."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_kill_9_mid_stream_keeps_every_receipt_and_replays_to_the_same_state(
    localnet: Any,
) -> None:
    net = localnet(nodes=1)
    directory = Path(net["dir"])
    name = net["nodes"][0]["name"]
    client = signed_client(net["nodes"][0]["api"], timeout=10)
    chain = client.chain()
    bank = _key(net, "bank-a")
    for org in ORGS:
        client.call(bank, "cash", "issue", {"currency": "CNY", "to": org, "amount": 10**9})

    receipts: dict[str, dict[str, Any]] = {}
    stop = threading.Event()
    start_height = client.height()

    def stream(worker: int) -> None:
        sequence = 0
        while not stop.is_set():
            txs = []
            for i in range(20):
                payer, payee = ORGS[(worker + i) % 5], ORGS[(worker + i + 1) % 5]
                args = {"currency": "CNY", "to": payee, "amount": 1 + sequence % 7}
                txs.append(
                    build_tx(_key(net, payer), chain, "cash", "transfer", args, start_height + 400)
                )
                sequence += 1
            try:
                for result in client.submit(txs, wait=True):
                    if result.get("receipt"):
                        receipts[result["id"]] = result["receipt"]
            except ApiError:
                return  # the node died under us: what had a receipt is what counts

    workers = [threading.Thread(target=stream, args=(w,)) for w in range(2)]
    for worker in workers:
        worker.start()
    _wait_until(lambda: len(receipts) >= 200)
    localnet_module.kill_node(directory, name)
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    assert len(receipts) >= 200

    localnet_module.start_node(directory, name)
    for tx_id, receipt in receipts.items():
        shown = client.tx(tx_id)
        assert shown["status"] == "committed", tx_id
        assert shown["receipt"] == receipt

    # The node goes on committing after the restart.
    after = client.call(bank, "cash", "issue", {"currency": "CNY", "to": "fuel-co", "amount": 5})
    assert after["status"] == "ok"
    final_height = client.height()

    # Offline: the chain links, and replaying it from genesis gives the same state root.
    localnet_module.stop_node(directory, name)
    genesis = load_genesis(net["genesis"])
    stored = ChainStore(LevelDBStore(directory / name / "data"))
    try:
        replay = Executor(ChainStore(MemoryStore()), genesis)
        previous = genesis.hash()
        tip = stored.tip()
        assert tip.height == final_height
        for height in range(1, tip.height + 1):
            block = stored.block(height)
            certificate = stored.certificate(height)
            assert block is not None and certificate is not None
            assert block.header.prev == previous
            assert certificate.block_hash == block.hash
            replay.execute(block, block.header.time_ms, 0)
            replay.commit(block, certificate)
            previous = block.hash
        assert replay.tip.state_root == tip.state_root
        assert replay.tip.block_hash == tip.block_hash
    finally:
        stored.kv.close()
