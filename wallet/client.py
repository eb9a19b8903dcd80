"""The Python SDK: a synchronous client of a node's HTTP API (DESIGN.md §9).

`Client.call(key, contract, method, args)` builds, signs, submits and waits for the receipt;
errors from the node arrive as `ApiError` with the node's stable code. The paths of the reads
are in `wallet.routes`, shared with the asyncio client.

Timeouts (wallet/timeouts.py): `timeout` bounds one HTTP request (connect and answer);
`wait_for_receipt(tx, timeout)` bounds the whole wait, made of long polls each shorter than both
the node's cap (`MAX_POLL_S`, 120 s, its largest `timeout_ms`) and the request timeout, so any
overall wait works, 120 s or more. Reads and tx submission are retried on 503 and on no
answer (`retry_policy`, wallet/retry.py; `NO_RETRY` turns that off). `subscribe(after)` follows
every committed event from a checkpoint (wallet/subscription.py).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.genesis import Genesis
from ledger.state_keys import balance_key, piece_key
from ledger.types import SignedTx
from wallet import results, routes
from wallet.checkpoint import Checkpoint
from wallet.errors import NODE_UNREACHABLE, ApiError, TxFailed, error_of_answer
from wallet.request_signing import RequestSigner, signed_headers
from wallet.retry import RetryPolicy, retry_after_seconds, retrying
from wallet.signer import Signer
from wallet.sse import STREAM_IDLE_S, LiveStream
from wallet.subscription import Notice, Subscription
from wallet.timeouts import commit_wait_ms, poll_ms, poll_seconds
from wallet.txbuilder import DEFAULT_VALIDITY, build_tx
from wallet.verified_state import (
    VerifiedState,
    trusted_genesis,
    verify_balance_answer,
    verify_piece_answer,
    verify_state_answer,
)

__all__ = ["ApiError", "Client", "Submitted", "TxFailed"]

DUPLICATE_TX = "DUPLICATE_TX"  # the node holds this very tx already, pending or committed


@dataclass(frozen=True, slots=True)
class Submitted:
    id: str
    accepted: bool
    error: dict[str, Any] | None


class Client:
    retry_policy: RetryPolicy = RetryPolicy()  # per client: `client.retry_policy = NO_RETRY`

    def __init__(
        self,
        url: str,
        timeout: float = 30.0,
        *,
        genesis: Genesis | None = None,
        request_signer: RequestSigner | None = None,
    ) -> None:
        """`genesis`: the consortium's (a trusted copy), for the verified reads;
        `request_signer`: the organization this client reads and writes as (DESIGN.md §9)."""
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.genesis = genesis
        self.request_signer = request_signer
        self._chain: str | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def _exchange(
        self, method: str, path: str, body: Any = None, accept: str = "application/json"
    ) -> bytes:
        """One request; the raw body of a success, ApiError with the node's code otherwise."""
        data = None if body is None else json.dumps(body).encode()
        signing = signed_headers(self.request_signer, method, self.url + path, data or b"")
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": accept, **signing},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            refusal = error_of_answer(error.read(), error.code, path)
            refusal.retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            raise refusal from None
        except urllib.error.URLError as error:
            raise ApiError(NODE_UNREACHABLE, f"cannot reach {self.url}: {error.reason}") from None
        except (TimeoutError, ConnectionError) as error:
            raise ApiError(NODE_UNREACHABLE, f"cannot reach {self.url}: {error}") from None

    def _retried(
        self, method: str, path: str, body: Any = None, accept: str = "application/json"
    ) -> bytes:
        """`_exchange`, tried again as `retry_policy` says for reads and tx submission (both
        safe to repeat, wallet/retry.py); any other request once."""
        if method != "GET" and path.split("?")[0] != "/v1/txs":
            return self._exchange(method, path, body, accept)
        return retrying(self.retry_policy, lambda: self._exchange(method, path, body, accept))

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request; node errors become ApiError with the node's code."""
        return json.loads(self._retried(method, path, body) or b"null")

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def get_record(self, path: str) -> dict[str, Any]:
        """A read that answers one JSON object (ApiError BAD_RESPONSE otherwise)."""
        return routes.record(self.get(path), path)

    def get_list(self, path: str, key: str) -> list[dict[str, Any]]:
        """A listing: the list under `key` of the answer (ApiError BAD_RESPONSE otherwise)."""
        return routes.listed(self.get(path), key, path)

    def get_bytes(self, path: str) -> bytes:
        """A document that is not JSON (ISO 20022 XML); errors as for `request`."""
        return self._retried("GET", path, accept="*/*")

    def open_stream(self, idle_timeout: float = STREAM_IDLE_S) -> LiveStream:
        """The node's live stream (GET /v1/stream), open; `Subscription` reads it."""
        signing = signed_headers(self.request_signer, "GET", self.url + routes.STREAM)
        return LiveStream.open(self.url, routes.STREAM, idle_timeout, signing)

    def subscribe(
        self, after: Checkpoint | None = None, *, on_switch: Notice | None = None
    ) -> Subscription:
        """Every committed event after the checkpoint `after` (default: all), exactly once and in
        order across reconnects (and, from a `FailoverClient`, across its nodes); each `Event`
        carries the `checkpoint` to store and resume from (wallet/subscription.py)."""
        return Subscription(self, after, on_switch=on_switch or (lambda _: None))

    # -- reads ----------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self.get_record(routes.STATUS)

    def chain(self) -> str:
        if self._chain is None:
            self._chain = str(self.status()["chain"])
        return self._chain

    def height(self) -> int:
        return int(self.status()["height"])

    def clock_ms(self) -> int:
        """Now on the chain's block clock: this machine's clock plus the node's clock offset
        (non-zero only on a development chain that moved its clock, `tally localnet time`),
        so an expiry computed from it stays ahead of block time."""
        return int(time.time() * 1000) + int(self.status().get("clock_offset_ms", 0))

    def tx(self, tx_id: str) -> dict[str, Any]:
        return self.get_record(routes.tx(tx_id))

    def get_proof(self, tx_id: str) -> dict[str, Any]:
        return self.get_record(routes.tx_proof(tx_id))

    def raw_genesis(self) -> Any:
        """The genesis file as the node holds it (to be checked against a trusted copy)."""
        return self.get(routes.RAW_GENESIS)

    def block(self, height: int) -> dict[str, Any]:
        return self.get_record(routes.block(height))

    def block_by_hash(self, block_hash: str) -> dict[str, Any]:
        return self.get_record(routes.block_by_hash(block_hash))

    def blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        return self.get_list(routes.blocks(from_height, limit), "blocks")

    def raw_block(self, height: int) -> dict[str, Any]:
        """A block with its tx and receipt encodings, for recomputing its roots."""
        return self.get_record(routes.raw_block(height))

    def raw_blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        return self.get_list(routes.raw_blocks(from_height, limit), "blocks")

    def orgs(self) -> list[dict[str, Any]]:
        return self.get_list(routes.ORGS, "orgs")

    def org(self, org_id: str) -> dict[str, Any]:
        return self.get_record(routes.org(org_id))

    def currencies(self) -> list[dict[str, Any]]:
        return self.get_list(routes.CURRENCIES, "currencies")

    def receivable(self, piece_id: str) -> dict[str, Any]:
        return self.get_record(routes.receivable(piece_id))

    def receivable_trace(self, piece_id: str) -> dict[str, Any]:
        return self.get_record(routes.receivable_trace(piece_id))

    def receivables(self, **query: str) -> list[dict[str, Any]]:
        return self.get_list(routes.receivables(**query), "items")

    def payment(self, payment_id: str) -> dict[str, Any]:
        return self.get_record(routes.payment(payment_id))

    def payments(self, org_id: str) -> list[dict[str, Any]]:
        return self.get_list(routes.payments(org_id), "payments")

    def payment_iso20022(self, payment_id: str) -> bytes:
        return self.get_bytes(routes.payment_iso20022(payment_id))

    def escrow(self, escrow_id: str) -> dict[str, Any]:
        """An escrow as the node shows it (bytes as hex), with can_release/can_cancel."""
        return self.get_record(routes.escrow(escrow_id))

    def escrows(self, org_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The first page of an organization's escrows, newest first."""
        return self.get_list(routes.escrows(org_id, status), "escrows")

    def payment_pacs009(self, payment_id: str) -> bytes:
        return self.get_bytes(routes.payment_pacs009(payment_id))

    def payment_by_uetr(self, uetr: str) -> dict[str, Any] | None:
        """The payment with this UETR, or None."""
        found = self.get_list(routes.payment_by_uetr(uetr), "payments")
        return found[0] if found else None

    def statement(self, bank: str, code: str, day: str, after: int | None = None) -> dict[str, Any]:
        """A statement page as JSON: accounts, balances, entries, and `next` (or None)."""
        return self.get_record(routes.statement(bank, code, day, after=after, form="json"))

    def statement_xml(
        self, bank: str, code: str, day: str, after: int | None = None, *, notes: bool = False
    ) -> bytes:
        """The same page as camt.053 XML (`notes`: camt.054)."""
        return self.get_bytes(routes.statement(bank, code, day, after=after, notifications=notes))

    # -- typed results (wallet/results.py; `.raw` is the node's JSON) ----------------------------

    def tx_status(self, tx_id: str) -> results.TxStatus:
        return results.TxStatus.of(self.tx(tx_id))

    def org_info(self, org_id: str) -> results.Org:
        return results.Org.of(self.org(org_id))

    def block_summary(self, height: int) -> results.Block:
        return results.Block.of(self.block(height))

    def submitted(self, txs: list[SignedTx], wait: bool = False) -> list[results.Submitted]:
        return [results.Submitted.of(answer) for answer in self.submit(txs, wait)]

    def receipt_of(self, tx: SignedTx) -> results.Receipt:
        """`commit(tx)` as a typed `Receipt` (TxFailed if its call failed)."""
        return results.Receipt.of(self.commit(tx))

    # -- verified state (DESIGN.md §6) ----------------------------------------------------------

    def get_state_proof(self, key: str, height: int | None = None) -> dict[str, Any]:
        """The node's answer of GET /v1/state/proof, unchecked (see `verified_state`)."""
        return self.get_record(routes.state_proof(key, height))

    def _trusted(self, genesis: Genesis | None) -> Genesis:
        return trusted_genesis(genesis or self.genesis)

    def verified_state(
        self, key: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """What `key` holds after block `height` (default: the tip), proved against the
        genesis (this client's, or `genesis`); StateNotVerified if the node's proof fails."""
        trusted = self._trusted(genesis)
        answer = self.get_state_proof(key, height)
        return verify_state_answer(answer, trusted, key, height)

    def verified_balance(
        self, org: str, currency: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """`org`'s balance in `currency` (minor units; 0 when it holds none), proved."""
        trusted = self._trusted(genesis)
        answer = self.get_state_proof(balance_key(currency, org), height)
        return verify_balance_answer(answer, trusted, org, currency, height)

    def verified_piece(
        self, piece_id: str, height: int | None = None, *, genesis: Genesis | None = None
    ) -> VerifiedState:
        """The receivable piece `piece_id` as stored (None when there is none), proved."""
        trusted = self._trusted(genesis)
        answer = self.get_state_proof(piece_key(piece_id), height)
        return verify_piece_answer(answer, trusted, piece_id, height)

    # -- writes ---------------------------------------------------------------------------------

    def submit(self, txs: list[SignedTx], wait: bool = False) -> list[dict[str, Any]]:
        """Submit signed txs; with `wait`, the node answers once each is committed."""
        return self.submit_hex([tx.encode().hex() for tx in txs], wait)

    def submit_hex(self, txs: list[str], wait: bool = False) -> list[dict[str, Any]]:
        """Submit already-encoded signed txs (hex), e.g. pre-signed in bulk."""
        path = (
            f"/v1/txs?wait=commit&timeout_ms={commit_wait_ms(self.timeout)}" if wait else "/v1/txs"
        )
        answer = self.request("POST", path, {"txs": txs})
        results: list[dict[str, Any]] = answer["results"]
        return results

    def wait_for_receipt(self, tx_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Block until the tx is committed and return its receipt; NOT_COMMITTED after
        `timeout` seconds in all (any length: it is made of several long polls).

        Each long poll (`?wait=commit`) asks for at most the node's cap and less than this
        client's request timeout; a node that answers at once with `pending` is asked again
        after a short, growing pause.
        """
        deadline = time.monotonic() + timeout
        pause = 0.05
        while True:
            left = deadline - time.monotonic()
            poll = poll_seconds(left, self.timeout)
            answer = self.get(f"{routes.tx(tx_id)}?wait=commit&timeout_ms={poll_ms(poll)}")
            if answer.get("status") == "committed" and answer.get("receipt") is not None:
                receipt: dict[str, Any] = answer["receipt"]
                return receipt
            if time.monotonic() + pause >= deadline:
                raise ApiError("NOT_COMMITTED", f"tx {tx_id} not committed within {timeout} s")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def call(
        self,
        key: Signer | Ed25519Key,
        contract: str,
        method: str,
        args: dict[str, Any],
        validity: int = DEFAULT_VALIDITY,
    ) -> dict[str, Any]:
        """Build, sign (by `key`, a key or any `Signer`: an HSM, a KMS), submit and wait; return
        the receipt or raise TxFailed / ApiError."""
        tx = build_tx(key, self.chain(), contract, method, args, self.height() + validity)
        return self.commit(tx)

    def commit(self, tx: SignedTx) -> dict[str, Any]:
        """Submit one signed tx and wait for its receipt (TxFailed if its call failed).

        A node that already holds this very tx (DUPLICATE_TX: the same signed bytes were sent
        before, e.g. to a node that then went down) is not a refusal: the receipt is awaited.
        """
        tx_id = tx.id.hex()
        try:
            (result,) = self.submit([tx], wait=True)
        except ApiError as refusal:  # a node answers 400 when it accepted none of the txs
            if refusal.code != DUPLICATE_TX:
                raise
            result = {"id": tx_id, "accepted": False, "error": {"code": DUPLICATE_TX}}
        error = result.get("error") or {}
        if not result["accepted"] and error.get("code") != DUPLICATE_TX:
            raise ApiError(error.get("code", "REJECTED"), error.get("message", "rejected"), 400)
        receipt: dict[str, Any] = result.get("receipt") or self.wait_for_receipt(tx_id)
        if receipt["status"] != "ok":
            raise TxFailed(tx_id, receipt)
        return receipt
