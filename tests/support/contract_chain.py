"""A one-validator chain in a temporary LevelDB, for testing contracts without a node.

Each `submit` builds, executes and commits one block through the real `Executor`, so tests see
exactly what a node would commit: receipts, state, and failures that change nothing. Block time
is in the test's hands (`advance_time`), never the wall clock's.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from ledger.chain import ChainStore
from ledger.genesis import Genesis, genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import Certificate, Receipt, SignedTx
from node.ops.devnet import DevNet, make_devnet
from node.runtime.executor import Executor
from wallet.txbuilder import build_tx

DAY_MS = 86_400_000
ISSUERS = {"CNY": "bank-a", "EUR": "bank-b", "USD": "bank-c", "JPY": "bank-d", "KWD": "bank-d"}


class TxFailed(AssertionError):
    """`call` expected success; carries the receipt's error code."""

    def __init__(self, receipt: Receipt) -> None:
        error = receipt.error
        self.code = error.code if error else ""
        super().__init__(f"{self.code}: {error.message if error else ''}")


@lru_cache(maxsize=4)
def _devnet(seed: bytes, params: tuple[tuple[str, int], ...] = ()) -> DevNet:
    """Deriving keys is cheap but not free; property tests build many chains from one cast."""
    return make_devnet(1, seed=seed, params=dict(params) or None)


class ContractChain:
    """The dev consortium on a fresh chain; `submit` commits one tx per block."""

    def __init__(
        self,
        path: str | Path,
        *,
        seed: bytes = b"test",
        development: bool = True,
        membership: bool = False,
        validators: int = 1,
        params: dict[str, int] | None = None,
    ) -> None:
        if validators == 1:
            self.devnet = _devnet(seed, tuple(sorted((params or {}).items())))
        else:
            self.devnet = make_devnet(validators, seed=seed, params=params or None)
        document = dict(self.devnet.genesis)
        if not development:  # a chain genesis does not mark as one that may move its clock
            del document["development"]
        if membership:  # governance may change the validator set (contracts/membership.py)
            document["membership"] = True
        if params:
            document["params"] = {**document.get("params", {}), **params}
        self.genesis: Genesis = genesis_from_value(document)
        self.kv = LevelDBStore(path)
        self.store = ChainStore(self.kv)
        self.executor = Executor(self.store, self.genesis)
        self.now_ms = self.genesis.time_ms

    # -- time ------------------------------------------------------------------------------------

    def advance_time(self, *, days: int = 0, ms: int = 0) -> int:
        """Move the next blocks' time forward; returns the new block time in ms."""
        self.now_ms += days * DAY_MS + ms
        return self.now_ms

    def set_time(self, time_ms: int) -> None:
        if time_ms < self.now_ms:
            raise ValueError("block time cannot go backwards")
        self.now_ms = time_ms

    # -- transactions ----------------------------------------------------------------------------

    def tx(
        self, org: str, contract: str, method: str, args: dict[str, Any], role: str = "operator"
    ) -> SignedTx:
        valid_until = self.executor.tip.height + 10
        key = self.devnet.key(org, role)
        return build_tx(key, self.genesis.chain, contract, method, args, valid_until)

    def commit(self, txs: list[SignedTx]) -> tuple[Receipt, ...]:
        """Order `txs` in one block at the current block time and commit it."""
        tip = self.executor.tip
        block, rejected = self.executor.build(
            0,
            tip.height + 1,
            tip.block_hash,
            txs,
            self.devnet.validators[0].ed25519.public,
            self.now_ms,
        )
        if rejected:
            raise AssertionError(f"txs left out of the block: {[r for _, r in rejected]}")
        certificate = Certificate(block.header.height, 0, block.header.hash(), b"\x01", bytes(96))
        return self.executor.commit(block, certificate)

    def submit(
        self, org: str, contract: str, method: str, args: dict[str, Any], role: str = "operator"
    ) -> Receipt:
        """One call signed by `org`'s `role` key, in its own block; its receipt."""
        return self.commit([self.tx(org, contract, method, args, role)])[0]

    def call(
        self, org: str, contract: str, method: str, args: dict[str, Any], role: str = "operator"
    ) -> Any:
        """Like `submit`, but raise `TxFailed` unless it succeeded; the method's result."""
        receipt = self.submit(org, contract, method, args, role)
        if receipt.status != "ok":
            raise TxFailed(receipt)
        return receipt.result

    def fund(self, org: str, currency: str, amount: int) -> None:
        """The currency's issuing bank mints `amount` minor units to `org`."""
        self.call(
            ISSUERS[currency], "cash", "issue", {"currency": currency, "to": org, "amount": amount}
        )

    # -- reading ---------------------------------------------------------------------------------

    def state(self, key: str) -> Any:
        return self.executor.state(key)

    def state_items(self, prefix: str = "") -> dict[str, Any]:
        return dict(self.store.state_items(prefix))

    def balance(self, currency: str, org: str) -> int:
        return int(self.state(f"cash/bal/{currency}/{org}") or 0)

    def close(self) -> None:
        self.kv.close()
