"""A netting window, its obligations and its settlement, as typed records.

Each maps to the same canonical map `contracts/netting.py` always stored (field for field, byte
for byte once encoded): a window's settlement fields (`net`, `settled_*`) appear only once it
is settled, as they always did; the ISO 20022 export and the API read these maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.errors import ensure
from contracts.records import fields_of
from ledger import codec

OPEN = "open"
SETTLED = "settled"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class NetTransfer:
    """One transfer a settlement made: a net debtor paid a net creditor `amount`."""

    payer: str
    payee: str
    amount: int

    FIELDS = frozenset({"from", "to", "amount"})

    def to_value(self) -> dict[str, Any]:
        return {"from": self.payer, "to": self.payee, "amount": self.amount}

    @staticmethod
    def from_value(value: Any) -> NetTransfer:
        record = fields_of(value, NetTransfer.FIELDS, "net transfer")
        return NetTransfer(record["from"], record["to"], record["amount"])


@dataclass(frozen=True, slots=True)
class Obligation:
    """What one `netting.submit` recorded: `payer` owes `payee` `amount`, settled net."""

    payer: str
    payee: str
    amount: int
    ref: str
    tx: str
    height: int

    FIELDS = frozenset({"from", "to", "amount", "ref", "tx", "height"})

    def to_value(self) -> dict[str, Any]:
        return {
            "from": self.payer,
            "to": self.payee,
            "amount": self.amount,
            "ref": self.ref,
            "tx": self.tx,
            "height": self.height,
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Obligation:
        record = fields_of(value, Obligation.FIELDS, "netting obligation")
        return Obligation(
            record["from"], record["to"], record["amount"], record["ref"], record["tx"],
            record["height"],
        )  # fmt: skip

    @staticmethod
    def decode(data: bytes) -> Obligation:
        return Obligation.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class Settlement:
    """When and by which tx a window settled, and the net total that moved."""

    net: int
    tx: str
    height: int
    time_ms: int
    date: str

    FIELDS = frozenset({"net", "settled_tx", "settled_height", "settled_ms", "settled_date"})

    def to_value(self) -> dict[str, Any]:
        """The fields it adds to the window's map (flat, as stored)."""
        return {
            "net": self.net,
            "settled_tx": self.tx,
            "settled_height": self.height,
            "settled_ms": self.time_ms,
            "settled_date": self.date,
        }

    @staticmethod
    def from_window(record: Mapping[str, Any]) -> Settlement | None:
        """The settlement fields of a stored window, or None while it is not settled."""
        present = Settlement.FIELDS & set(record)
        if not present:
            return None
        ensure(
            present == Settlement.FIELDS,
            "BAD_RECORD",
            f"a stored netting window has only part of a settlement: {sorted(present)}",
        )
        return Settlement(
            record["net"], record["settled_tx"], record["settled_height"], record["settled_ms"],
            record["settled_date"],
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Window:
    """A netting window in one currency among banks: running positions, then the settlement."""

    id: str
    currency: str
    participants: tuple[str, ...]
    close_ms: int
    opener: str
    status: str
    count: int
    gross: int
    positions: Mapping[str, int]
    transfers: tuple[NetTransfer, ...]
    opened_tx: str
    opened_height: int
    settlement: Settlement | None = None

    FIELDS = frozenset(
        {
            "id", "currency", "participants", "close_ms", "opener", "status", "count", "gross",
            "positions", "transfers", "opened_tx", "opened_height",
        }
    )  # fmt: skip

    def to_value(self) -> dict[str, Any]:
        value = {
            "id": self.id,
            "currency": self.currency,
            "participants": list(self.participants),
            "close_ms": self.close_ms,
            "opener": self.opener,
            "status": self.status,
            "count": self.count,
            "gross": self.gross,
            "positions": dict(self.positions),
            "transfers": [transfer.to_value() for transfer in self.transfers],
            "opened_tx": self.opened_tx,
            "opened_height": self.opened_height,
        }
        if self.settlement is not None:
            value.update(self.settlement.to_value())
        return value

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Window:
        record = fields_of(value, Window.FIELDS, "netting window", Settlement.FIELDS)
        return Window(
            id=record["id"],
            currency=record["currency"],
            participants=tuple(record["participants"]),
            close_ms=record["close_ms"],
            opener=record["opener"],
            status=record["status"],
            count=record["count"],
            gross=record["gross"],
            positions=dict(record["positions"]),
            transfers=tuple(NetTransfer.from_value(t) for t in record["transfers"]),
            opened_tx=record["opened_tx"],
            opened_height=record["opened_height"],
            settlement=Settlement.from_window(record),
        )

    @staticmethod
    def decode(data: bytes) -> Window:
        return Window.from_value(codec.decode(data))
