"""The Python SDK for asyncio: the same calls as `wallet.client.Client`, over aiohttp.

One `aiohttp.ClientSession` (and its connection pool) is shared by every call, so many
concurrent submissions reuse a few keep-alive connections. Use it as an async context manager,
or call `close()`.
"""

from __future__ import annotations

import asyncio
import json
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from ledger.crypto import Ed25519Key
from ledger.types import SignedTx
from wallet.client import ApiError, TxFailed
from wallet.txbuilder import DEFAULT_VALIDITY, build_tx


class AsyncClient:
    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        *,
        connections: int = 16,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.url = url.rstrip("/")
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

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        """One JSON request; node errors become ApiError with the node's code."""
        session = self._client_session()
        limit = aiohttp.ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            async with session.request(
                method, self.url + path, json=body, timeout=limit
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise _api_error(raw, response.status, path)
                return json.loads(raw or b"null")
        except aiohttp.ClientError as error:
            raise ApiError("NODE_UNREACHABLE", f"cannot reach {self.url}: {error}") from None
        except TimeoutError:
            raise ApiError("NODE_UNREACHABLE", f"{self.url}{path} timed out") from None
        except ValueError:
            raise ApiError("BAD_RESPONSE", f"{path} did not answer JSON") from None

    async def get(self, path: str) -> Any:
        return await self.request("GET", path)

    # -- reads ----------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.get("/v1/status")
        return result

    async def chain(self) -> str:
        if self._chain is None:
            self._chain = str((await self.status())["chain"])
        return self._chain

    async def height(self) -> int:
        return int((await self.status())["height"])

    async def tx(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/v1/txs/{quote(tx_id, safe='')}")
        return result

    async def get_proof(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/v1/txs/{quote(tx_id, safe='')}/proof")
        return result

    async def org(self, org_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/v1/orgs/{quote(org_id, safe='')}")
        return result

    async def currencies(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = (await self.get("/v1/currencies"))["currencies"]
        return result

    async def block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/v1/blocks/{int(height)}")
        return result

    async def blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        answer = await self.get(f"/v1/blocks?from={int(from_height)}&limit={int(limit)}")
        result: list[dict[str, Any]] = answer["blocks"] if isinstance(answer, dict) else answer
        return result

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
        path = f"/v1/txs/{quote(tx_id, safe='')}?wait=commit"
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
        key: Ed25519Key,
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


def _api_error(raw: bytes, status: int, path: str) -> ApiError:
    try:
        detail = json.loads(raw)["error"]
        return ApiError(str(detail["code"]), str(detail["message"]), status)
    except (ValueError, KeyError, TypeError):
        return ApiError("HTTP_ERROR", f"HTTP {status} from {path}", status)
