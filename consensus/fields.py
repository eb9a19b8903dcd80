"""Checked reading of decoded network values: each helper refuses what a message may not hold
with `DecodeError("BAD_MESSAGE", ...)` (these values come from peers)."""

from __future__ import annotations

from typing import Any

from ledger.errors import DecodeError
from ledger.types import Block, Header, Height, View

HASH_SIZE = 32
ED25519_SIG_SIZE = 64
BLS_SIG_SIZE = 96


def require(condition: bool, message: str) -> None:
    if not condition:
        raise DecodeError("BAD_MESSAGE", message)


def fields_of(value: Any, names: tuple[str, ...], what: str) -> dict[str, Any]:
    require(isinstance(value, dict), f"{what} must be a map")
    require(set(value) == set(names), f"{what} must have exactly the fields {sorted(names)}")
    return value  # type: ignore[no-any-return]


def view_of(value: Any) -> View:
    return View(uint(value, "view"))


def height_of(value: Any) -> Height:
    return Height(uint(value, "height"))


def uint(value: Any, what: str) -> int:
    require(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
        f"{what} must be a non-negative integer",
    )
    return int(value)


def exact_bytes(value: Any, what: str, size: int | None = None) -> bytes:
    require(isinstance(value, bytes), f"{what} must be bytes")
    require(size is None or len(value) == size, f"{what} must be {size} bytes")
    return bytes(value)


def list_of(value: Any, what: str) -> list[Any]:
    require(isinstance(value, list), f"{what} must be a list")
    return list(value)


def block_to_value(block: Block) -> dict[str, Any]:
    return {"header": block.header.to_value(), "txs": list(block.txs)}


def block_from_value(value: Any) -> Block:
    fields = fields_of(value, ("header", "txs"), "block")
    txs = tuple(exact_bytes(tx, "block tx") for tx in list_of(fields["txs"], "block txs"))
    return Block(Header.from_value(fields["header"]), txs)
