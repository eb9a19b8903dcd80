"""A dealer bank's FX quote, as the typed record stored under fx/quote/<id>.

It maps to the same canonical map `fx.quote` always stored (field for field, byte for byte once
encoded), which the API lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.records import fields_of
from ledger import codec

OPEN = "open"
EXHAUSTED = "exhausted"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True, slots=True)
class Quote:
    """The dealer buys up to `max_base` of `base`, paying `quote` currency at `rate` (× 10^8)."""

    id: str
    dealer: str
    base: str
    quote: str
    rate: int
    max_base: int
    remaining: int
    expires_ms: int
    status: str
    created_height: int
    created_ms: int
    tx: str

    FIELDS = frozenset(
        {
            "id", "dealer", "base", "quote", "rate", "max_base", "remaining", "expires_ms",
            "status", "created_height", "created_ms", "tx",
        }
    )  # fmt: skip

    def to_value(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dealer": self.dealer,
            "base": self.base,
            "quote": self.quote,
            "rate": self.rate,
            "max_base": self.max_base,
            "remaining": self.remaining,
            "expires_ms": self.expires_ms,
            "status": self.status,
            "created_height": self.created_height,
            "created_ms": self.created_ms,
            "tx": self.tx,
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Quote:
        return Quote(**fields_of(value, Quote.FIELDS, "FX quote"))

    @staticmethod
    def decode(data: bytes) -> Quote:
        return Quote.from_value(codec.decode(data))
