"""An escrow (a conditional payment), as the typed record stored under esc/rec/<id>.

`status` is "open" until the escrow is closed once, by a release to the payee or a cancel back
to the payer; the closing tx, height and block time are kept, and a release's preimage with
them, so anyone who watches this chain learns the secret (what an atomic swap relies on).
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.records import FlatRecord

OPEN = "open"
RELEASED = "released"
CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Escrow(FlatRecord):
    """`amount` of `currency` locked by `payer` for `payee`.

    `condition` is sha256 of a preimage the payee must show (None: no hash lock); `release_ms`
    the earliest block time of a release (None: none); `cancel_ms` the block time from which
    the payer may take the funds back, and from which no release is possible.
    """

    id: str
    tx: str
    height: int
    time_ms: int
    currency: str
    payer: str
    payee: str
    amount: int
    condition: bytes | None
    release_ms: int | None
    cancel_ms: int
    status: str
    closed_tx: str | None
    closed_height: int | None
    closed_ms: int | None
    preimage: bytes | None

    KIND = "escrow"
