"""Typed results of the SDK's main calls (issue 17): frozen dataclasses read from the node's
JSON, each keeping that JSON as `.raw` so nothing the node said is lost.

The dict-returning methods of `Client` stay as they were (the CLI and the explorer use them);
the typed ones (`Client.receipt_of`, `tx_status`, `org_info`, `block_summary`, `submitted`) are
built from the same answers by the `of` constructors here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a committed tx did: `status` "ok" or "failed", at (`height`, `index`)."""

    tx: str
    height: int
    index: int
    status: str
    result: Any
    events: tuple[dict[str, Any], ...]
    error: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Receipt:
        return cls(
            tx=str(raw["tx"]),
            height=int(raw["height"]),
            index=int(raw.get("index", 0)),
            status=str(raw["status"]),
            result=raw.get("result"),
            events=tuple(raw.get("events") or ()),
            error=raw.get("error"),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class TxStatus:
    """A tx as a node knows it: "committed" (with its receipt), "pending" or "unknown"."""

    id: str
    status: str
    receipt: Receipt | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> TxStatus:
        receipt = raw.get("receipt")
        return cls(
            str(raw["id"]), str(raw["status"]), Receipt.of(receipt) if receipt else None, raw
        )


@dataclass(frozen=True, slots=True)
class Submitted:
    """One tx's answer to `POST /v1/txs`: accepted, or the node's error (code, message)."""

    id: str
    accepted: bool
    error: dict[str, Any] | None
    receipt: Receipt | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Submitted:
        receipt = raw.get("receipt")
        return cls(
            str(raw["id"]),
            bool(raw["accepted"]),
            raw.get("error"),
            Receipt.of(receipt) if receipt else None,
            raw,
        )


@dataclass(frozen=True, slots=True)
class Org:
    """An organization and its balances, minor units by currency code."""

    id: str
    balances: dict[str, int]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Org:
        balances = {str(code): int(amount) for code, amount in (raw.get("balances") or {}).items()}
        return cls(str(raw["id"]), balances, raw)


@dataclass(frozen=True, slots=True)
class Block:
    """A committed block's summary: height, hash, block time and its tx ids."""

    height: int
    hash: str
    time_ms: int
    txs: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Block:
        return cls(
            int(raw["height"]),
            str(raw["hash"]),
            int(raw.get("time_ms", 0)),
            tuple(str(tx) for tx in raw.get("txs") or ()),
            raw,
        )
