"""The Python SDK: a synchronous client of a node's HTTP API (DESIGN.md §9).

`Client.call(key, contract, method, args)` builds, signs, submits and waits for the receipt;
errors from the node arrive as `ApiError` with the node's stable code.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.types import SignedTx
from wallet.txbuilder import DEFAULT_VALIDITY, build_tx


class ApiError(TallyError):
    """A node answered with an error (or could not be reached: code NODE_UNREACHABLE)."""

    def __init__(self, code: str, message: str, status: int = 0) -> None:
        super().__init__(code, message)
        self.status = status


class TxFailed(TallyError):
    """The transaction was committed but its contract call failed; `receipt` says why."""

    def __init__(self, tx_id: str, receipt: dict[str, Any]) -> None:
        error = receipt.get("error") or {}
        super().__init__(error.get("code", "FAILED"), error.get("message", "transaction failed"))
        self.tx_id = tx_id
        self.receipt = receipt


@dataclass(frozen=True, slots=True)
class Submitted:
    id: str
    accepted: bool
    error: dict[str, Any] | None


class Client:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._chain: str | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail = json.loads(raw)["error"]
                raise ApiError(detail["code"], detail["message"], error.code) from None
            except (ValueError, KeyError, TypeError):
                raise ApiError("HTTP_ERROR", f"HTTP {error.code} from {path}", error.code) from None
        except urllib.error.URLError as error:
            raise ApiError("NODE_UNREACHABLE", f"cannot reach {self.url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise ApiError("NODE_UNREACHABLE", f"cannot reach {self.url}: {error}") from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    # -- reads ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/v1/status")
        return result

    def chain(self) -> str:
        if self._chain is None:
            self._chain = str(self.status()["chain"])
        return self._chain

    def height(self) -> int:
        return int(self.status()["height"])

    def tx(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/txs/{quote(tx_id, safe='')}")
        return result

    def get_proof(self, tx_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/txs/{quote(tx_id, safe='')}/proof")
        return result

    def org(self, org_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/orgs/{quote(org_id, safe='')}")
        return result

    def currencies(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.get("/v1/currencies")["currencies"]
        return result

    def block(self, height: int) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/v1/blocks/{int(height)}")
        return result

    def blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        answer = self.get(f"/v1/blocks?from={int(from_height)}&limit={int(limit)}")
        result: list[dict[str, Any]] = answer["blocks"] if isinstance(answer, dict) else answer
        return result

    # -- writes ---------------------------------------------------------------------------------

    def submit(self, txs: list[SignedTx], wait: bool = False) -> list[dict[str, Any]]:
        """Submit signed txs; with `wait`, the node answers once each is committed."""
        return self.submit_hex([tx.encode().hex() for tx in txs], wait)

    def submit_hex(self, txs: list[str], wait: bool = False) -> list[dict[str, Any]]:
        """Submit already-encoded signed txs (hex), e.g. pre-signed in bulk."""
        path = "/v1/txs?wait=commit" if wait else "/v1/txs"
        answer = self.request("POST", path, {"txs": txs})
        results: list[dict[str, Any]] = answer["results"]
        return results

    def wait_for_receipt(self, tx_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the tx is committed and return its receipt.

        The node long-polls `?wait=commit`; a node that answers at once with `pending` is asked
        again after a short, growing pause, until `timeout`.
        """
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            left = deadline - time.monotonic()
            answer = self.get(f"/v1/txs/{tx_id}?wait=commit&timeout_ms={max(int(left * 1000), 0)}")
            if answer.get("status") == "committed" and answer.get("receipt") is not None:
                receipt: dict[str, Any] = answer["receipt"]
                return receipt
            if time.monotonic() + pause >= deadline:
                raise ApiError("NOT_COMMITTED", f"tx {tx_id} not committed within {timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def call(
        self,
        key: Ed25519Key,
        contract: str,
        method: str,
        args: dict[str, Any],
        validity: int = DEFAULT_VALIDITY,
    ) -> dict[str, Any]:
        """Build, sign, submit and wait; return the receipt or raise TxFailed / ApiError."""
        tx = build_tx(key, self.chain(), contract, method, args, self.height() + validity)
        (result,) = self.submit([tx], wait=True)
        if not result["accepted"]:
            error = result.get("error") or {}
            raise ApiError(error.get("code", "REJECTED"), error.get("message", "rejected"), 400)
        receipt: dict[str, Any] = result.get("receipt") or self.wait_for_receipt(result["id"])
        if receipt["status"] != "ok":
            raise TxFailed(result["id"], receipt)
        return receipt
