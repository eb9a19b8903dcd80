"""Mempool entry checks, FIFO order, bounds and the recent-commit window."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ledger.genesis import genesis_from_value
from ledger.types import SignedTx
from node.ops.devnet import make_devnet
from node.runtime.mempool import Mempool, RecentCommits
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"mempool-tests")


def _pool(tip: int = 0, committed: set[bytes] | None = None, **params: int) -> Mempool:
    raw: dict[str, Any] = {**DEVNET.genesis, "params": params}
    genesis = genesis_from_value(raw)
    stored = committed or set()
    return Mempool(genesis, lambda tx_id: tx_id in stored, lambda: tip)


def _tx(valid_until: int = 50, amount: int = 1, chain: str = "tally-dev") -> SignedTx:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount}
    return build_tx(DEVNET.key("bank-a"), chain, "cash", "issue", args, valid_until)


def _codes(pool: Mempool, raws: list[bytes]) -> list[str | None]:
    return [None if a.error is None else a.error.code for a in asyncio.run(pool.submit(raws))]


def test_valid_txs_are_admitted_in_fifo_order() -> None:
    pool = _pool()
    txs = [_tx(amount=i + 1) for i in range(5)]
    assert _codes(pool, [tx.encode() for tx in txs]) == [None] * 5
    assert [tx.id for tx in pool.candidates()] == [tx.id for tx in txs]
    assert all(pool.contains(tx.id) for tx in txs)


def test_each_entry_check_has_its_code() -> None:
    pool = _pool(tip=10, max_tx_validity=100, max_tx_bytes=2000)
    good = _tx(valid_until=20)
    forged = SignedTx(good.body_bytes, bytes(64), good.body, good.id)
    raws = [
        b"\xc1",
        good.encode() + b"\x00",
        forged.encode(),
        _tx(chain="elsewhere").encode(),
        _tx(valid_until=10).encode(),
        _tx(valid_until=111).encode(),
        build_tx(DEVNET.key("bank-a"), "tally-dev", "cash", "x", {"m": "y" * 3000}, 20).encode(),
    ]
    assert _codes(pool, raws) == [
        "BAD_ENCODING",
        "BAD_ENCODING",
        "BAD_SIGNATURE",
        "WRONG_CHAIN",
        "EXPIRED",
        "VALIDITY_TOO_LONG",
        "TX_TOO_LARGE",
    ]
    assert _codes(pool, [_tx(valid_until=110).encode()]) == [None]
    assert len(pool) == 1
    assert pool.rejections["BAD_SIGNATURE"] == 1


def test_duplicates_in_one_batch_pending_or_committed_are_refused() -> None:
    committed = _tx(amount=99)
    pool = _pool(committed={committed.id})
    tx = _tx()
    assert _codes(pool, [tx.encode(), tx.encode()]) == [None, "DUPLICATE_TX"]
    assert _codes(pool, [tx.encode(), committed.encode()]) == ["DUPLICATE_TX", "DUPLICATE_TX"]


def test_full_pool_refuses_with_mempool_full() -> None:
    pool = _pool(mempool_max_txs=2)
    assert _codes(pool, [_tx(amount=i + 1).encode() for i in range(3)]) == [
        None,
        None,
        "MEMPOOL_FULL",
    ]
    pool.committed(1, [next(pool.candidates()).id])
    assert _codes(pool, [_tx(amount=7).encode()]) == [None]


def test_large_batches_verify_in_threads_with_the_same_verdicts() -> None:
    with ThreadPoolExecutor(2) as threads:
        genesis = genesis_from_value(DEVNET.genesis)
        pool = Mempool(genesis, lambda _: False, lambda: 0, verify_pool=threads)
        txs = [_tx(amount=i + 1) for i in range(100)]
        raws = [tx.encode() for tx in txs]
        raws[37] = SignedTx(txs[37].body_bytes, bytes(64), txs[37].body, txs[37].id).encode()
        codes = _codes(pool, raws)
    assert codes[37] == "BAD_SIGNATURE"
    assert codes.count(None) == 99


def test_committed_ids_are_refused_then_forgotten_after_the_validity_window() -> None:
    asked: list[bytes] = []

    def in_store(tx_id: bytes) -> bool:
        asked.append(tx_id)
        return False

    recent = RecentCommits(start_height=5, window=10, in_store=in_store)
    recent.add(6, [b"a"])
    assert recent.contains(b"a", 100)
    assert not recent.contains(b"b", 100) and asked == []  # beyond anything stored before start
    assert not recent.contains(b"b", 15) and asked == [b"b"]  # could predate the restart
    recent.add(17, [b"c"])
    assert not recent.contains(b"a", 100)  # committed at 6, its validity ended by 16
    assert recent.contains(b"c", 100)
