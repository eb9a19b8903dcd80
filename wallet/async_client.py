"""The Python SDK for asyncio: the same calls as `wallet.client.Client`, over aiohttp.

One `aiohttp.ClientSession` (and its connection pool) is shared by every call, so many
concurrent submissions reuse a few keep-alive connections. Use it as an async context manager,
or call `close()`. Besides the calls of the synchronous client it follows the node's live
stream (`stream()`), which the explorer's dashboard listens to.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import aiohttp

from ledger.crypto import Ed25519Key
from ledger.genesis import Genesis
from ledger.state_keys import balance_key, piece_key
from ledger.types import SignedTx
from wallet import routes
from wallet.errors import (
    BAD_RESPONSE,
    NODE_UNREACHABLE,
    ApiError,
    TxFailed,
    error_of_answer,
)
from wallet.signer import Signer
from wallet.txbuilder import DEFAULT_VALIDITY, build_tx
from wallet.verified_state import (
    VerifiedState,
    trusted_genesis,
    verify_balance_answer,
    verify_piece_answer,
    verify_state_answer,
)

NO_STREAM = "NO_STREAM"  # the node answered GET /v1/stream, but not with an event stream
STREAM_READ_TIMEOUT_S = 60.0  # the node sends a heartbeat well within this


class AsyncClient:
    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        *,
        connections: int = 16,
        session: aiohttp.ClientSession | None = None,
        genesis: Genesis | None = None,
    ) -> None:
        """`genesis`: the consortium's (a trusted copy), for the verified reads."""
        self.url = url.rstrip("/")
        self.genesis = genesis
        self.timeout = timeout
        self.connections = connections
        self._session = session
        self._owns_session = session is None
        self._chain: str | None = None

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"Accept": "application/json"},
            )
        return self._session

    # -- plumbing -------------------------------------------------------------------------------

    async def _exchange(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> bytes:
        """One request; the raw body of a success, ApiError with the node's code otherwise."""
        session = self._client_session()
        limit = aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.request(
                method, self.url + path, json=body, timeout=limit
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise error_of_answer(raw, response.status, path)
                return raw
        except TimeoutError:
            raise ApiError(NODE_UNREACHABLE, f"{self.url}{path} timed out") from None
        except (aiohttp.ClientError, OSError) as error:
            raise ApiError(NODE_UNREACHABLE, f"cannot reach {self.url}: {error}") from None

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        """One JSON request; node errors become ApiError with the node's code."""
        raw = await self._exchange(method, path, body, timeout)
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ApiError(BAD_RESPONSE, f"{path} did not answer JSON") from None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    async def get_record(self, path: str) -> dict[str, Any]:
        """A read that answers one JSON object (ApiError BAD_RESPONSE otherwise)."""
        return routes.record(await self.get(path), path)

    async def get_list(self, path: str, key: str) -> list[dict[str, Any]]:
        """A listing: the list under `key` of the answer (ApiError BAD_RESPONSE otherwise)."""
        return routes.listed(await self.get(path), key, path)

    async def get_bytes(self, path: str) -> bytes:
        """A document that is not JSON (ISO 20022 XML); errors as for `request`."""
        return await self._exchange("GET", path)

    async def stream(self) -> AsyncIterator[str]:
        """The lines of the node's Server-Sent Events (GET /v1/stream), as they arrive.

        Ends when the node closes the stream; ApiError NO_STREAM when the node serves none,
        NODE_UNREACHABLE when it cannot be reached or goes silent past the heartbeat.
        """
        limit = aiohttp.ClientTimeout(total=None, sock_read=STREAM_READ_TIMEOUT_S)
        try:
            async with self._client_session().get(
                self.url + routes.STREAM,
                timeout=limit,
                headers={"Accept": "text/event-stream"},
            ) as response:
                if response.status != 200 or "event-stream" not in response.content_type:
                    raise ApiError(NO_STREAM, "the node serves no SSE stream", response.status)
                async for line in response.content:
                    yield line.decode("utf-8", "replace").rstrip("\r\n")
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise ApiError(NODE_UNREACHABLE, f"stream lost: {error}") from None

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
        """Submit already-encoded signed txs (hex), e.g. pre-signed in bulk."""
        path = "/v1/txs?wait=commit" if wait else "/v1/txs"
        answer = await self.request("POST", path, {"txs": txs})
        results: list[dict[str, Any]] = answer["results"]
        return results

    async def wait_for_receipt(self, tx_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until the tx is committed and return its receipt (long-poll, then back off)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        pause = 0.05
        path = f"{routes.tx(tx_id)}?wait=commit"
        while True:
            left = deadline - loop.time()
            answer = await self.request(
                "GET", f"{path}&timeout_ms={max(int(left * 1000), 0)}", timeout=left + 5
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
        """Build, sign, submit and wait; return the receipt or raise TxFailed / ApiError."""
        tx = build_tx(
            key, await self.chain(), contract, method, args, await self.height() + validity
        )
        (result,) = await self.submit([tx], wait=True)
        if not result["accepted"]:
            error = result.get("error") or {}
            raise ApiError(error.get("code", "REJECTED"), error.get("message", "rejected"), 400)
        receipt: dict[str, Any] = result.get("receipt") or await self.wait_for_receipt(result["id"])
        if receipt["status"] != "ok":
            raise TxFailed(result["id"], receipt)
        return receipt
