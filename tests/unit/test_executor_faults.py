"""The executor's second line (DESIGN.md §7, liveness): whatever one tx raises or writes, the
block is built from the rest, the tx fails alone with a receipt, and every replica agrees.

Each test builds a block on one executor and executes it on another, each over its own LevelDB,
then commits both: a block that only its proposer could build would halt the chain as surely as
one nobody can build.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from contracts.runtime import METHODS, Context
from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import Certificate, Receipt, SignedTx
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"executor-fault-tests")
GENESIS = genesis_from_value(DEVNET.genesis)
NOW = GENESIS.time_ms + 1000
BIGGEST = 2**63 - 1


class Pair:
    """A proposer and a replica, each an Executor over its own LevelDB."""

    def __init__(self, root: Path) -> None:
        self.stores = [LevelDBStore(root / name) for name in ("proposer", "replica")]
        self.proposer, self.replica = (Executor(ChainStore(kv), GENESIS) for kv in self.stores)

    def commit(self, txs: list[SignedTx]) -> tuple[Receipt, ...]:
        """Build a block of `txs`, check it on the replica, commit it on both."""
        tip = self.proposer.tip
        block, rejected = self.proposer.build(
            0, tip.height + 1, tip.block_hash, txs, DEVNET.validators[0].ed25519.public, NOW
        )
        assert rejected == []
        self.replica.execute(block, NOW, 0)
        certificate = Certificate(block.header.height, 0, block.hash, b"\x01", bytes(96))
        receipts = self.proposer.commit(block, certificate)
        assert self.replica.commit(block, certificate) == receipts
        assert self.replica.tip == self.proposer.tip
        return receipts

    def close(self) -> None:
        for kv in self.stores:
            kv.close()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    executors = Pair(tmp_path)
    yield executors
    executors.close()


def _call(org: str, contract: str, method: str, args: dict[str, Any]) -> SignedTx:
    return build_tx(DEVNET.key(org, "operator"), GENESIS.chain, contract, method, args, 50)


def _issue(amount: int, to: str = "bigauto") -> SignedTx:
    return _call("bank-a", "cash", "issue", {"currency": "CNY", "to": to, "amount": amount})


def _replace_handler(
    monkeypatch: pytest.MonkeyPatch, contract: str, name: str, handler: Callable[..., Any]
) -> None:
    spec = METHODS[(contract, name)]
    monkeypatch.setitem(METHODS, (contract, name), replace(spec, handler=handler))


def _codes(receipts: tuple[Receipt, ...]) -> list[str | None]:
    return [None if r.error is None else r.error.code for r in receipts]


def test_a_contract_that_raises_fails_its_tx_alone(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Context, **args: Any) -> None:
        raise KeyError("a bug")

    _replace_handler(monkeypatch, "cash", "transfer", broken)
    txs = [
        _issue(5),
        _call("bigauto", "cash", "transfer", {"currency": "CNY", "to": "acme-steel", "amount": 1}),
        _issue(7),
    ]
    receipts = pair.commit(txs)
    assert _codes(receipts) == [None, "CONTRACT_FAULT", None]
    assert pair.proposer.state("cash/bal/CNY/bigauto") == 12


def test_writes_the_codec_cannot_encode_fail_the_tx_and_are_dropped(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def overflowing(ctx: Context, currency: str, to: str, amount: int) -> None:
        ctx.put("cash/bal/CNY/acme-steel", 1)  # dropped with the rest of this tx's writes
        if amount > 100:
            ctx.put(f"cash/bal/{currency}/{to}", 2**64 + amount)
        else:
            ctx.put(f"cash/bal/{currency}/{to}", amount)

    _replace_handler(monkeypatch, "cash", "issue", overflowing)
    receipts = pair.commit([_issue(5), _issue(500), _issue(600, to="acme-steel")])
    assert _codes(receipts) == [None, "CONTRACT_FAULT", "CONTRACT_FAULT"]
    assert receipts[1].error is not None and "writes cannot be encoded" in receipts[1].error.message
    assert pair.proposer.state("cash/bal/CNY/bigauto") == 5
    assert pair.proposer.state("cash/bal/CNY/acme-steel") == 1  # from the first tx only


def test_a_result_or_event_the_codec_cannot_encode_fails_the_tx(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def huge_result(ctx: Context, **args: Any) -> dict[str, int]:
        ctx.put("cash/bal/CNY/bigauto", 3)
        return {"total": -(2**64)}

    def float_event(ctx: Context, **args: Any) -> None:
        ctx.emit("odd", ratio=0.5)

    _replace_handler(monkeypatch, "cash", "issue", huge_result)
    _replace_handler(monkeypatch, "cash", "transfer", float_event)
    transfer = {"currency": "CNY", "to": "acme-steel", "amount": 1}
    receipts = pair.commit([_issue(1), _call("bigauto", "cash", "transfer", transfer)])
    assert _codes(receipts) == ["CONTRACT_FAULT", "CONTRACT_FAULT"]
    assert all("result cannot be encoded" in (r.error.message if r.error else "") for r in receipts)
    assert pair.proposer.state("cash/bal/CNY/bigauto") is None


def test_a_state_key_that_is_not_valid_text_fails_the_tx(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def bad_key(ctx: Context, **args: Any) -> None:
        ctx.put("cash/bal/CNY/\udc80", 1)

    _replace_handler(monkeypatch, "cash", "issue", bad_key)
    assert _codes(pair.commit([_issue(1)])) == ["CONTRACT_FAULT"]
    monkeypatch.undo()
    assert _codes(pair.commit([_issue(2)])) == [None]


def test_running_sums_past_the_64_bit_range_never_stop_a_block(pair: Pair) -> None:
    """The attack of issue 11 (finding 2): the issuer mints the largest amount again and again,
    and a bank pushes a netting position past the range. Whether the contract refuses it
    (AMOUNT_OVERFLOW) or the executor catches the unencodable write, the block is built."""
    receipts = pair.commit([_issue(BIGGEST) for _ in range(3)])
    assert receipts[0].status == "ok" and receipts[-1].status == "failed"
    window_args = {"currency": "CNY", "participants": ["bank-a", "bank-b"], "close_ms": NOW + 10**6}
    opened = pair.commit([_call("bank-a", "netting", "open", window_args)])
    window = opened[0].result["id"]
    owe = {"window": window, "to": "bank-b", "amount": BIGGEST}
    receipts = pair.commit([_call("bank-a", "netting", "submit", owe) for _ in range(3)])
    assert receipts[0].status == "ok" and receipts[-1].status == "failed"
    moved = {"currency": "CNY", "to": "acme-steel", "amount": 1}
    assert _codes(pair.commit([_call("bigauto", "cash", "transfer", moved)])) == [None]
