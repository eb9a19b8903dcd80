"""Escrow as SDK calls (DESIGN.md §10): create, release, cancel, with arguments named and typed,
and the secret and hash lock of an atomic swap.

    secret = new_secret(); lock = condition_of(secret)
    calls = EscrowCalls(client, alice_key)
    created = calls.create("CNY", "rhein-parts", 100_000, cancel_ms, condition=lock)
    escrow_id = created["result"]["id"]
    EscrowCalls(client, bob_key).release(escrow_id, preimage=secret)
    revealed_preimage(other_client.escrow(their_id))   # the secret, once they released

Each call builds, signs and submits one transaction with `Client.call` and returns its receipt;
a refusal raises `TxFailed` with the contract's code. Amounts are minor units.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from wallet.client import Client

SECRET_BYTES = 32


def new_secret() -> bytes:
    """A fresh 32-byte preimage, drawn here from `secrets` (never passed in as a default)."""
    return secrets.token_bytes(SECRET_BYTES)


def condition_of(preimage: bytes) -> bytes:
    """The hash lock a preimage opens: its SHA-256, as `escrow.create` takes it."""
    return hashlib.sha256(preimage).digest()


def hex_bytes(text: str, what: str, length: int | None = None) -> bytes:
    """Hex from a person or a script as bytes, or BAD_HEX naming `what`."""
    cleaned = text.strip().lower().removeprefix("0x")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        raise TallyError("BAD_HEX", f"{what} must be hex digits") from None
    if length is not None and len(value) != length:
        raise TallyError("BAD_HEX", f"{what} must be {length} bytes ({2 * length} hex digits)")
    if not value:
        raise TallyError("BAD_HEX", f"{what} must not be empty")
    return value


def revealed_preimage(escrow: dict[str, Any]) -> bytes | None:
    """The preimage a released escrow (as the API shows it) revealed, checked against its
    condition; None while it is not released with one."""
    shown = escrow.get("preimage")
    if escrow.get("status") != "released" or not shown:
        return None
    preimage = bytes.fromhex(str(shown))
    if condition_of(preimage).hex() != escrow.get("condition"):
        raise TallyError("BAD_RESPONSE", f"escrow {escrow.get('id')}: preimage does not match")
    return preimage


class EscrowCalls:
    """The escrow methods one organization's key signs."""

    def __init__(self, client: Client, key: Ed25519Key) -> None:
        self.client = client
        self.key = key

    def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.client.call(self.key, "escrow", method, args)

    def create(
        self,
        currency: str,
        to: str,
        amount: int,
        cancel_ms: int,
        *,
        condition: bytes | None = None,
        release_ms: int | None = None,
    ) -> dict[str, Any]:
        """Lock `amount` for `to`; released by the preimage of `condition` and/or from
        `release_ms`, cancellable by the caller from `cancel_ms`. Result `{id}`."""
        args: dict[str, Any] = {
            "currency": currency,
            "to": to,
            "amount": amount,
            "cancel_ms": cancel_ms,
        }
        if condition is not None:
            args["condition"] = condition
        if release_ms is not None:
            args["release_ms"] = release_ms
        return self._call("create", args)

    def release(self, escrow_id: str, preimage: bytes | None = None) -> dict[str, Any]:
        """The payee takes the funds (with the preimage when the escrow has a condition)."""
        args: dict[str, Any] = {"id": escrow_id}
        if preimage is not None:
            args["preimage"] = preimage
        return self._call("release", args)

    def cancel(self, escrow_id: str) -> dict[str, Any]:
        """The payer takes its funds back, from the cancel time on."""
        return self._call("cancel", {"id": escrow_id})
