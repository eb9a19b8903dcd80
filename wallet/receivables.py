"""Receivables when things go wrong, as SDK calls: the contract's methods (DESIGN.md §10) with
their arguments named and typed, so a script need not spell argument maps.

Each call builds, signs and submits one transaction with `Client.call` and returns its receipt
(`tx`, `height`, `status`, `result`, `events`); a refusal raises `TxFailed` carrying the code.
Amounts are minor units, as on the ledger (`wallet.amounts` converts from people's writing).

    calls = ReceivableCalls(client, key)
    calls.repay(root_id, amount=40_000_000)["result"]   # {"paid": {...}, "outstanding": ...}
    calls.declare_default(root_id)
    calls.recourse(piece_id)["result"]                  # {"debtor": seller, "amount": ...}
    calls.dispute(root_id, "short delivery"); calls.settle_dispute(root_id, 1_000)
"""

from __future__ import annotations

from typing import Any

from ledger.crypto import Ed25519Key
from wallet.client import Client


class ReceivableCalls:
    """The receivables methods one organization's key signs."""

    def __init__(self, client: Client, key: Ed25519Key) -> None:
        self.client = client
        self.key = key

    def _call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.client.call(self.key, "receivables", method, args)

    def offer_financing(
        self, piece_id: str, rate_bps: int, expires_ms: int, with_recourse: bool = False
    ) -> dict[str, Any]:
        """A bank's offer to buy a piece; `with_recourse`: it may turn it on the seller after
        default. Result `{id}` of the offer."""
        args = {"id": piece_id, "rate_bps": rate_bps, "expires_ms": expires_ms}
        if with_recourse:
            args["with_recourse"] = True
        return self._call("offer_financing", args)

    def repay(self, piece_id: str, amount: int | None = None) -> dict[str, Any]:
        """Repay an invoice (its root id) or a piece turned on the caller: all that is due, or
        `amount` of it shared pro rata. Result `{paid: {org: amount}, outstanding[, held]}`."""
        args: dict[str, Any] = {"id": piece_id}
        if amount is not None:
            args["amount"] = amount
        return self._call("repay", args)

    def mark_overdue(self, piece_id: str) -> dict[str, Any]:
        return self._call("mark_overdue", {"id": piece_id})

    def declare_default(self, piece_id: str) -> dict[str, Any]:
        """A holder declares the debt of `piece_id` defaulted, after its grace period."""
        return self._call("declare_default", {"id": piece_id})

    def recourse(self, piece_id: str) -> dict[str, Any]:
        """A bank turns a defaulted piece it bought with recourse on its seller.
        Result `{debtor, amount}`."""
        return self._call("recourse", {"id": piece_id})

    def dispute(self, piece_id: str, reason: str) -> dict[str, Any]:
        """The debtor disputes the invoice: its whole family is frozen."""
        return self._call("dispute", {"id": piece_id, "reason": reason})

    def settle_dispute(self, piece_id: str, reduction: int) -> dict[str, Any]:
        """Creditor or debtor agrees to `reduction` off the face; result `{applied}`: true when
        this call matched the other party's and the reduction took effect."""
        return self._call("settle_dispute", {"id": piece_id, "reduction": reduction})
