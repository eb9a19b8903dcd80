"""Transaction ids of a block's encoded signed txs, read without a full decode.

A signed tx is the canonical map {"body": bin, "sig": bin(64)} and its id is sha256 of the body
bytes, found at a fixed place (`ledger.tx_layout`); any other shape falls back to the full
decoder (and a tx that does not decode has no id).
"""

from __future__ import annotations

from ledger.errors import DecodeError
from ledger.types import SignedTx, canonical_tx_id


def tx_id(raw: bytes) -> bytes | None:
    """The id of one encoded signed tx, or None if it is not one."""
    found = canonical_tx_id(raw)
    if found is not None:
        return found
    try:
        return SignedTx.decode(raw).id
    except DecodeError:
        return None


def block_tx_ids(txs: tuple[bytes, ...]) -> tuple[bytes, ...]:
    ids = []
    for raw in txs:
        found = tx_id(raw)
        if found is not None:
            ids.append(found)
    return tuple(ids)
