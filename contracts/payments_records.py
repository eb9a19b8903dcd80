"""A settled payment and its legs, as typed records stored under pay/rec/<id>.

Each maps to the same canonical map `payments.send`/`send_fx` always stored (field for field,
byte for byte once encoded), which the ISO 20022 export and the API read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.records import fields_of
from ledger import codec


@dataclass(frozen=True, slots=True)
class Leg:
    """One movement of cash a payment made: `amount` of `currency` from `payer` to `payee`."""

    currency: str
    payer: str
    payee: str
    amount: int

    FIELDS = frozenset({"currency", "from", "to", "amount"})

    def to_value(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "from": self.payer,
            "to": self.payee,
            "amount": self.amount,
        }

    @staticmethod
    def from_value(value: Any) -> Leg:
        leg = fields_of(value, Leg.FIELDS, "payment leg")
        return Leg(leg["currency"], leg["from"], leg["to"], leg["amount"])


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment as settled: parties, what left the payer and reached the payee, ISO fields.

    `kind` is "send" (one currency; rate, quote and dealer are None) or "fx" (PvP through the
    dealer of `quote` at `rate`).
    """

    id: str
    tx: str
    height: int
    time_ms: int
    date: str
    kind: str
    payer: str
    payee: str
    currency: str
    amount: int
    credit_currency: str
    credit_amount: int
    rate: int | None
    quote: str | None
    dealer: str | None
    legs: tuple[Leg, ...]
    end_to_end_id: str
    purpose: str
    remittance: str
    originator: Mapping[str, str]
    beneficiary: Mapping[str, str]

    FIELDS = frozenset(
        {
            "id", "tx", "height", "time_ms", "date", "kind", "payer", "payee", "currency",
            "amount", "credit_currency", "credit_amount", "rate", "quote", "dealer", "legs",
            "end_to_end_id", "purpose", "remittance", "originator", "beneficiary",
        }
    )  # fmt: skip

    def to_value(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tx": self.tx,
            "height": self.height,
            "time_ms": self.time_ms,
            "date": self.date,
            "kind": self.kind,
            "payer": self.payer,
            "payee": self.payee,
            "currency": self.currency,
            "amount": self.amount,
            "credit_currency": self.credit_currency,
            "credit_amount": self.credit_amount,
            "rate": self.rate,
            "quote": self.quote,
            "dealer": self.dealer,
            "legs": [leg.to_value() for leg in self.legs],
            "end_to_end_id": self.end_to_end_id,
            "purpose": self.purpose,
            "remittance": self.remittance,
            "originator": dict(self.originator),
            "beneficiary": dict(self.beneficiary),
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Payment:
        record = fields_of(value, Payment.FIELDS, "payment")
        record["legs"] = tuple(Leg.from_value(leg) for leg in record["legs"])
        return Payment(**record)

    @staticmethod
    def decode(data: bytes) -> Payment:
        return Payment.from_value(codec.decode(data))
