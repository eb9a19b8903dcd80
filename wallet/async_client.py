"""The Python SDK for asyncio: the same calls as `wallet.client.Client`, over aiohttp.

One `aiohttp.ClientSession` (and its connection pool) is shared by every call, so many
concurrent submissions reuse a few keep-alive connections. Use it as an async context manager,
or call `close()`. Besides the calls of the synchronous client it follows the node's live
stream (`stream()`), and `subscribe(after, nodes=)` gives every committed event after a
checkpoint, exactly once (wallet/subscription.py). Retries on 503 and on no answer as the sync
client's (`retry_policy`, wallet/retry.py); timeouts as wallet/timeouts.py says: `timeout`
bounds one request, and `wait_for_receipt(tx_id, timeout)` takes any timeout, 120 s or more.
Typed results of the main calls: wallet/async_results.py; the plumbing (session, signing,
errors) wallet/async_transport.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.genesis import Genesis
from ledger.state_keys import balance_key, piece_key
from ledger.types import SignedTx
from wallet import routes
from wallet.async_results import AsyncTypedResults
from wallet.async_subscription import AsyncSubscription, Notice
from wallet.async_transport import STREAM_READ_TIMEOUT_S, AsyncTransport
from wallet.checkpoint import Checkpoint
from wallet.client import DUPLICATE_TX
from wallet.errors import ApiError, TxFailed, refusal_of
from wallet.signer import Signer
from wallet.sse import NO_STREAM
from wallet.timeouts import MAX_POLL_S, POLL_MARGIN_S, commit_wait_ms, poll_ms, poll_seconds
from wallet.txbuilder import DEFAULT_VALIDITY, build_tx
from wallet.verified_state import (
    VerifiedState,
    trusted_genesis,
    verify_balance_answer,
    verify_piece_answer,
    verify_state_answer,
)

__all__ = ["NO_STREAM", "STREAM_READ_TIMEOUT_S", "AsyncClient"]


class AsyncClient(AsyncTransport, AsyncTypedResults):
    """The SDK's asyncio client; `request_signer` signs every request and the stream as one
    organization (DESIGN.md §9, wallet/request_signing.py)."""

    max_poll_s: float = MAX_POLL_S  # the longest long poll asked of the node (its cap)

    def subscribe(
        self,
        after: Checkpoint | None = None,
        *,
        nodes: Sequence[str] | None = None,
        on_switch: Notice | None = None,
    ) -> AsyncSubscription:
        """Every committed event after `after` (default: all), once, in order, across reconnects
        and `nodes` (default: this client's); each carries its checkpoint (wallet/subscription)."""
        return AsyncSubscription(self, after, nodes=nodes, on_switch=on_switch or (lambda _: None))

    # -- reads ----------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        return await self.get_record(routes.STATUS)

    async def chain(self) -> str:
        if self._chain is None:
            self._chain = str((await self.status())["chain"])
        return self._chain

    async def height(self) -> int:
        return int((await self.status())["height"])

    async def tx(self, tx_id: str) -> dict[str, Any]:
        return await self.get_record(routes.tx(tx_id))

    async def get_proof(self, tx_id: str) -> dict[str, Any]:
        return await self.get_record(routes.tx_proof(tx_id))

    async def raw_genesis(self) -> Any:
        """The genesis file as the node holds it (to be checked against a trusted copy)."""
        return await self.get(routes.RAW_GENESIS)

    async def block(self, height: int) -> dict[str, Any]:
        return await self.get_record(routes.block(height))

    async def block_by_hash(self, block_hash: str) -> dict[str, Any]:
        return await self.get_record(routes.block_by_hash(block_hash))

    async def blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        return await self.get_list(routes.blocks(from_height, limit), "blocks")

    async def raw_block(self, height: int) -> dict[str, Any]:
        """A block with its tx and receipt encodings, for recomputing its roots."""
        return await self.get_record(routes.raw_block(height))

    async def raw_blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        return await self.get_list(routes.raw_blocks(from_height, limit), "blocks")

    async def orgs(self) -> list[dict[str, Any]]:
        return await self.get_list(routes.ORGS, "orgs")

    async def org(self, org_id: str) -> dict[str, Any]:
        return await self.get_record(routes.org(org_id))

    async def currencies(self) -> list[dict[str, Any]]:
        return await self.get_list(routes.CURRENCIES, "currencies")

    async def receivable(self, piece_id: str) -> dict[str, Any]:
        return await self.get_record(routes.receivable(piece_id))

    async def receivable_trace(self, piece_id: str) -> dict[str, Any]:
        return await self.get_record(routes.receivable_trace(piece_id))

    async def receivables(self, **query: str) -> list[dict[str, Any]]:
        return await self.get_list(routes.receivables(**query), "items")

    async def payment(self, payment_id: str) -> dict[str, Any]:
        return await self.get_record(routes.payment(payment_id))

    async def payments(self, org_id: str) -> list[dict[str, Any]]:
        return await self.get_list(routes.payments(org_id), "payments")

    async def payment_iso20022(self, payment_id: str) -> bytes:
        return await self.get_bytes(routes.payment_iso20022(payment_id))

    async def escrow(self, escrow_id: str) -> dict[str, Any]:
        return await self.get_record(routes.escrow(escrow_id))

    async def escrows(self, org_id: str, status: str | None = None) -> list[dict[str, Any]]:
        return await self.get_list(routes.escrows(org_id, status), "escrows")

    async def payment_pacs009(self, payment_id: str) -> bytes:
        return await self.get_bytes(routes.payment_pacs009(payment_id))

    async def payment_by_uetr(self, uetr: str) -> dict[str, Any] | None:
        """The payment with this UETR, or None."""
        found = await self.get_list(routes.payment_by_uetr(uetr), "payments")
        return found[0] if found else None

    async def statement_xml(
        self, bank: str, code: str, day: str, after: int | None = None, *, notes: bool = False
    ) -> bytes:
        """A bank's camt.053 page for a currency and UTC day (`notes`: camt.054)."""
        return await self.get_bytes(
            routes.statement(bank, code, day, after=after, notifications=notes)
        )

    # -- verified state (DESIGN.md §6) ----------------------------------------------------------

    async def get_state_proof(self, key: str, height: int | None = None) -> dict[str, Any]:
        """The node's answer of GET /v1/state/proof, unchecked (see `verified_state`)."""
        return await self.get_record(routes.state_proof(key, height))

    def _trusted(self, genesis: Genesis | None) -> Genesis:
        return trusted_genesis(genesis or self.genesis)

    async def verified_state(
        self, key: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """What `key` holds after block `height` (default: the tip), proved against the
        genesis (this client's, or `genesis`); StateNotVerified if the node's proof fails."""
        trusted = self._trusted(genesis)
        answer = await self.get_state_proof(key, height)
        return verify_state_answer(answer, trusted, key, height)

    async def verified_balance(
        self, org: str, currency: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """`org`'s balance in `currency` (minor units; 0 when it holds none), proved."""
        trusted = self._trusted(genesis)
        answer = await self.get_state_proof(balance_key(currency, org), height)
        return verify_balance_answer(answer, trusted, org, currency, height)

    async def verified_piece(
        self, piece_id: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """The receivable piece `piece_id` as stored (None when there is none), proved."""
        trusted = self._trusted(genesis)
        answer = await self.get_state_proof(piece_key(piece_id), height)
        return verify_piece_answer(answer, trusted, piece_id, height)

    # -- writes ---------------------------------------------------------------------------------

    async def submit(self, txs: list[SignedTx], wait: bool = False) -> list[dict[str, Any]]:
        """Submit signed txs; with `wait`, the node answers once each is committed."""
        return await self.submit_hex([tx.encode().hex() for tx in txs], wait)

    async def submit_hex(self, txs: list[str], wait: bool = False) -> list[dict[str, Any]]:
        """Submit already-encoded signed txs (hex), e.g. pre-signed in bulk; with `wait`, the
        node answers once each is committed, or at `commit_wait_ms` (a result without receipt)."""
        waiting = commit_wait_ms(self.timeout)
        path = f"/v1/txs?wait=commit&timeout_ms={waiting}" if wait else "/v1/txs"
        answer = await self.request("POST", path, {"txs": txs}, timeout=self.timeout)
        results: list[dict[str, Any]] = answer["results"]
        return results

    async def wait_for_receipt(self, tx_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the tx is committed and return its receipt; ApiError NOT_COMMITTED after
        `timeout` seconds in all, any length (120 s or a day).

        Long polls (`?wait=commit`) within the node's cap (`max_poll_s`, 120 s: it refuses
        more), each with its own request timeout; a `pending` answer: again after a pause.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = 0.05
        path = f"{routes.tx(tx_id)}?wait=commit"
        while True:
            poll = min(poll_seconds(deadline - loop.time()), self.max_poll_s)
            answer = await self.request(
                "GET", f"{path}&timeout_ms={poll_ms(poll)}", timeout=poll + POLL_MARGIN_S
            )
            if answer.get("status") == "committed" and answer.get("receipt") is not None:
                receipt: dict[str, Any] = answer["receipt"]
                return receipt
            if loop.time() + pause >= deadline:
                raise ApiError("NOT_COMMITTED", f"tx {tx_id} not committed within {timeout} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def call(
        self,
        key: Signer | Ed25519Key,
        contract: str,
        method: str,
        args: dict[str, Any],
        validity: int = DEFAULT_VALIDITY,
    ) -> dict[str, Any]:
        """Build, sign (by `key`, a key or any `Signer`), submit and wait; return the receipt or
        raise TxFailed / ApiError."""
        tx = build_tx(
            key, await self.chain(), contract, method, args, await self.height() + validity
        )
        return await self.commit(tx)

    async def commit(self, tx: SignedTx) -> dict[str, Any]:
        """Submit one signed tx and wait for its receipt (TxFailed if its call failed); a node's
        DUPLICATE_TX (it holds this very tx, e.g. sent by a retry) means: await the receipt."""
        tx_id = tx.id.hex()
        try:
            (result,) = await self.submit([tx], wait=True)
        except ApiError as refusal:  # a node answers 400 when it accepted none of the txs
            if refusal.code != DUPLICATE_TX:
                raise
            result = {"id": tx_id, "accepted": False, "error": {"code": DUPLICATE_TX}}
        refused = refusal_of(result, DUPLICATE_TX)
        if refused is not None:
            raise refused
        receipt: dict[str, Any] = result.get("receipt") or await self.wait_for_receipt(tx_id)
        if receipt["status"] != "ok":
            raise TxFailed(tx_id, receipt)
        return receipt
