"""Transaction ids of a block's encoded signed txs, read without a full decode.

A signed tx is the canonical map {"body": bin, "sig": bin(64)} and its id is sha256 of the body
bytes. Canonical msgpack puts "body" first, so the body's bytes are found at a fixed place; any
other shape falls back to the full decoder (and a tx that does not decode has no id).
"""

from __future__ import annotations

import hashlib

from ledger.errors import DecodeError
from ledger.types import SignedTx

_PREFIX = b"\x82\xa4body"


def tx_id(raw: bytes) -> bytes | None:
    """The id of one encoded signed tx, or None if it is not one."""
    if raw.startswith(_PREFIX) and len(raw) > 8:
        marker = raw[6]
        if marker == 0xC4:
            start, size = 8, raw[7]
        elif marker == 0xC5:
            start, size = 9, int.from_bytes(raw[7:9], "big")
        elif marker == 0xC6:
            start, size = 11, int.from_bytes(raw[7:11], "big")
        else:
            start, size = 0, -1
        if (
            size >= 0
            and start + size + 70 == len(raw)
            and raw[start + size : start + size + 6] == (b"\xa3sig\xc4\x40")
        ):
            return hashlib.sha256(raw[start : start + size]).digest()
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
