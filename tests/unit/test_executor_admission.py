"""One admissibility rule for the mempool and the executor (node/runtime/admission.py): what a
mempool admits at tip t is exactly what a block at t + 1 may order, and a proposed block is held
to the same limits a client is."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from contracts import queries
from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.merkle import merkle_root
from ledger.store import LevelDBStore
from ledger.types import Block, Certificate, SignedTx
from node.ops.devnet import make_devnet
from node.runtime.admission import Signers
from node.runtime.executor import Executor, InvalidBlock
from node.runtime.mempool import Mempool
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"executor-admission-tests")
GENESIS = genesis_from_value({**DEVNET.genesis, "params": {"max_tx_validity": 20}})
NOW = GENESIS.time_ms + 1000
PROPOSER = DEVNET.validators[0].ed25519.public


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[Executor]:
    kv = LevelDBStore(tmp_path / "chain")
    yield Executor(ChainStore(kv), GENESIS)
    kv.close()


def _issue(valid_until: int, amount: int = 1, memo: str = "") -> SignedTx:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount, **({"m": memo} if memo else {})}
    return build_tx(DEVNET.key("bank-a"), GENESIS.chain, "cash", "issue", args, valid_until)


def _advance(executor: Executor, blocks: int) -> None:
    for _ in range(blocks):
        tip = executor.tip
        block, _ = executor.build(0, tip.height + 1, tip.block_hash, [], PROPOSER, NOW)
        executor.commit(block, Certificate(block.header.height, 0, block.hash, b"\x01", bytes(96)))


def test_mempool_and_executor_agree_on_every_validity_boundary(executor: Executor) -> None:
    _advance(executor, 3)
    store = executor.store
    pool = Mempool(
        GENESIS,
        lambda tx_id: store.tx_location(tx_id) is not None,
        lambda: executor.tip.height,
        signers=Signers(store.state_trusted, lambda: queries.active_org_count(store)),
    )
    tip = executor.tip
    txs = [_issue(valid_until) for valid_until in range(tip.height - 1, tip.height + 24)]
    admitted = asyncio.run(pool.submit([tx.encode() for tx in txs]))
    mempool_verdict = {a.id: None if a.error is None else a.error.code for a in admitted}
    block, rejected = executor.build(0, tip.height + 1, tip.block_hash, txs, PROPOSER, NOW)
    executor_verdict = dict.fromkeys((tx.id for tx in txs), None)
    executor_verdict.update({tx.id: why.code for tx, why in rejected})
    assert executor_verdict == mempool_verdict
    assert set(mempool_verdict.values()) == {None, "EXPIRED", "VALIDITY_TOO_LONG"}
    assert len(block.txs) == list(mempool_verdict.values()).count(None)


def test_a_proposed_tx_larger_than_a_client_may_send_makes_the_block_invalid(
    executor: Executor,
) -> None:
    tip = executor.tip
    block, _ = executor.build(0, 1, tip.block_hash, [_issue(10)], PROPOSER, NOW)
    executor.forget(block.hash)
    oversized = _issue(10, memo="x" * GENESIS.params["max_tx_bytes"]).encode()
    forged = Block(replace(block.header, txs_root=merkle_root([oversized])), (oversized,))
    with pytest.raises(InvalidBlock, match="tx 0 cannot be ordered: TX_TOO_LARGE"):
        executor.execute(forged, NOW, 0)


def test_a_tx_twice_in_one_proposed_block_makes_it_invalid(executor: Executor) -> None:
    tip = executor.tip
    tx = _issue(10)
    block, _ = executor.build(0, 1, tip.block_hash, [tx], PROPOSER, NOW)
    executor.forget(block.hash)
    twice = (tx.encode(), tx.encode())
    forged = Block(replace(block.header, txs_root=merkle_root(list(twice))), twice)
    with pytest.raises(InvalidBlock, match="cannot be ordered: DUPLICATE_TX"):
        executor.execute(forged, NOW, 0)
