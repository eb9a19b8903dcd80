"""SHA-256 with domain tags: every signed or hashed message says what kind it is."""

from __future__ import annotations

import hashlib

TX_TAG = b"tally/tx/v1"
COMMIT_TAG = b"tally/commit/v1"
CONSENSUS_TAG = b"tally/consensus/v1"
HANDSHAKE_TAG = b"tally/handshake/v1"
GENESIS_TAG = b"tally/genesis/v1"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tagged_hash(tag: bytes, payload: bytes) -> bytes:
    """sha256(tag || payload), the digest every signature is made over (DESIGN.md §3)."""
    return hashlib.sha256(tag + payload).digest()


def to_hex(data: bytes) -> str:
    return data.hex()


def from_hex(text: str, length: int | None = None) -> bytes:
    """Parse lowercase-or-uppercase hex without `0x`; raise ValueError naming what was wrong."""
    if not isinstance(text, str):
        raise ValueError("expected a hex string")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError("not a hex string") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"expected {length} bytes of hex, got {len(raw)}")
    return raw
