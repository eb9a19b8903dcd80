"""The index's writer on blocks a real executor committed (tests/support/contract_chain.py):
the balances its movements leave equal the chain's state for every organization and currency,
through escrows released and cancelled, a redemption and a failed transfer; a batch committed
in pieces ends with the same tables as one batch."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from explorer.index.db import connect
from explorer.index.decode import BlockRecord, TxRecord
from explorer.index.queries import statement
from explorer.index.writer import IndexWriter
from ledger.types import Receipt, SignedTx
from tests.support.contract_chain import ContractChain

DAY_MS = 86_400_000
ORGS = ("acme-steel", "bigauto", "fuel-co", "bank-a")


def _history(chain: ContractChain) -> None:
    chain.fund("acme-steel", "CNY", 1_000_000)
    chain.fund("bigauto", "EUR", 50_000)
    secret = b"open sesame"
    cancel_ms = chain.now_ms + DAY_MS
    lock = hashlib.sha256(secret).digest()
    released = chain.call("acme-steel", "escrow", "create",
                          {"currency": "CNY", "to": "bigauto", "amount": 300_000,
                           "condition": lock, "cancel_ms": cancel_ms})  # fmt: skip
    chain.call("bigauto", "escrow", "release", {"id": released["id"], "preimage": secret})
    refunded = chain.call("acme-steel", "escrow", "create",
                          {"currency": "CNY", "to": "fuel-co", "amount": 200_000,
                           "condition": lock, "cancel_ms": cancel_ms})  # fmt: skip
    chain.advance_time(days=2)
    chain.call("acme-steel", "escrow", "cancel", {"id": refunded["id"]})
    chain.call("bigauto", "cash", "transfer", {"currency": "CNY", "to": "fuel-co", "amount": 1})
    failed = chain.submit("fuel-co", "cash", "transfer",
                          {"currency": "EUR", "to": "bigauto", "amount": 10**9})  # fmt: skip
    assert failed.status == "failed"
    chain.call("acme-steel", "cash", "redeem", {"currency": "CNY", "amount": 5})


def _blocks(chain: ContractChain) -> list[BlockRecord]:
    blocks = []
    for height in range(1, chain.executor.tip.height + 1):
        block = chain.store.block(height)
        assert block is not None
        receipts = chain.store.receipts(height)
        txs = tuple(
            TxRecord(SignedTx.decode(raw), receipt)
            for raw, receipt in zip(block.txs, receipts, strict=True)
        )
        encoded = tuple(Receipt.encode(r) for r in receipts)
        blocks.append(BlockRecord(block.header, block.header.hash().hex(), (0,), txs, encoded))
    return blocks


def _dump(url: str) -> dict[str, list[Any]]:
    db = connect(url)
    tables = ("blocks", "txs", "events", "movements", "balances", "index_meta")
    try:
        return {t: sorted(db.all(f"SELECT * FROM {t}"), key=repr) for t in tables}
    finally:
        db.close()


def _index(chain: ContractChain, url: str, batch: int) -> None:
    db = connect(url)
    writer = IndexWriter(db, chain.genesis)
    writer.open()
    blocks = _blocks(chain)
    for start in range(0, len(blocks), batch):
        writer.commit(writer.prepare(blocks[start : start + batch]))
    db.close()


def test_movements_leave_the_chains_balances_through_escrows(tmp_path: Path) -> None:
    chain = ContractChain(tmp_path / "chain")
    try:
        _history(chain)
        whole, pieces = f"sqlite:///{tmp_path}/whole.db", f"sqlite:///{tmp_path}/pieces.db"
        _index(chain, whole, 1000)
        _index(chain, pieces, 2)
        db = connect(whole)
        try:
            for org in ORGS:
                for currency in ("CNY", "EUR"):
                    indexed = statement(db, org, currency).closing
                    assert indexed == chain.balance(currency, org), (org, currency)
            kinds = {row[0] for row in db.all("SELECT DISTINCT kind FROM movements")}
            assert {"escrow_created", "escrow_released", "escrow_cancelled"} <= kinds
            assert db.one("SELECT COUNT(*) FROM txs WHERE status = 'failed'") == (1,)
        finally:
            db.close()
        assert _dump(whole) == _dump(pieces)
    finally:
        chain.close()
