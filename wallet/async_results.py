"""Typed results of the `AsyncClient`'s main calls (issue 17), as the synchronous client has
them: the frozen dataclasses of wallet/results.py, each keeping the node's JSON as `.raw`."""

from __future__ import annotations

from typing import Any, Protocol

from ledger.types import SignedTx
from wallet import results


class _Calls(Protocol):
    """The dict-returning calls the typed ones are built on (`AsyncClient` has them)."""

    async def tx(self, tx_id: str) -> dict[str, Any]: ...
    async def org(self, org_id: str) -> dict[str, Any]: ...
    async def block(self, height: int) -> dict[str, Any]: ...
    async def submit(self, txs: list[SignedTx], wait: bool = False) -> list[dict[str, Any]]: ...
    async def commit(self, tx: SignedTx) -> dict[str, Any]: ...


class AsyncTypedResults:
    """The typed calls of `AsyncClient` (a mixin: `AsyncClient` supplies the calls of `_Calls`)."""

    async def tx_status(self: _Calls, tx_id: str) -> results.TxStatus:
        return results.TxStatus.of(await self.tx(tx_id))

    async def org_info(self: _Calls, org_id: str) -> results.Org:
        return results.Org.of(await self.org(org_id))

    async def block_summary(self: _Calls, height: int) -> results.Block:
        return results.Block.of(await self.block(height))

    async def submitted(
        self: _Calls, txs: list[SignedTx], wait: bool = False
    ) -> list[results.Submitted]:
        return [results.Submitted.of(answer) for answer in await self.submit(txs, wait)]

    async def receipt_of(self: _Calls, tx: SignedTx) -> results.Receipt:
        """`commit(tx)` as a typed `Receipt` (TxFailed if its call failed)."""
        return results.Receipt.of(await self.commit(tx))
