"""The validator-to-validator envelope (pure): one kind byte, then the body.

Every payload `network.Network` carries is one kind byte followed by the body, so the common
case (a consensus message) is handed to the replica as the very bytes the peer signed, never
re-encoded or decoded twice:

    b"C" + SignedMessage bytes                                   consensus (the replica checks it)
    b"T" + msgpack [bin(signed tx), ...]                         tx gossip
    b"F" + msgpack {"id", "from", "to"}                          state transfer: a request
    b"B" + msgpack {"id", "blocks": [{"block", "cert"}], "end"}  state transfer: one piece
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from ledger.errors import DecodeError

CONSENSUS = b"C"[0]
TXS = b"T"[0]
FETCH = b"F"[0]
BLOCKS = b"B"[0]
KINDS = {CONSENSUS: "consensus", TXS: "txs", FETCH: "fetch", BLOCKS: "blocks"}


# -- bodies -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchRequest:
    request_id: int
    from_height: int
    to_height: int


@dataclass(frozen=True, slots=True)
class BlocksPiece:
    request_id: int
    blocks: tuple[tuple[bytes, bytes], ...]  # (encoded block, encoded certificate)
    end: bool


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(body: bytes | memoryview) -> Any:
    try:
        return msgpack.unpackb(body, raw=False, strict_map_key=True, use_list=True)
    except Exception as error:  # msgpack raises several unrelated types on garbage
        raise DecodeError("BAD_ENCODING", f"not msgpack: {type(error).__name__}") from None


def _uint(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise DecodeError("BAD_FIELD", f"{what} must be a non-negative integer")
    return value


def encode_consensus(signed_message: bytes) -> bytes:
    return b"C" + signed_message


def encode_txs(raw_txs: list[bytes]) -> bytes:
    return b"T" + _pack(raw_txs)


def encode_fetch(request: FetchRequest) -> bytes:
    body = {"from": request.from_height, "id": request.request_id, "to": request.to_height}
    return b"F" + _pack(body)


def encode_blocks(piece: BlocksPiece) -> bytes:
    blocks = [{"block": block, "cert": cert} for block, cert in piece.blocks]
    body = {"blocks": blocks, "end": piece.end, "id": piece.request_id}
    return b"B" + _pack(body)


def decode_txs(body: bytes | memoryview) -> list[bytes]:
    value = _unpack(body)
    if not isinstance(value, list) or not all(isinstance(tx, bytes) for tx in value):
        raise DecodeError("BAD_FIELD", "tx gossip must be a list of bytes")
    return value


def decode_fetch(body: bytes | memoryview) -> FetchRequest:
    value = _unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "from", "to"}:
        raise DecodeError("BAD_FIELD", "a fetch request is {id, from, to}")
    request = FetchRequest(
        _uint(value["id"], "id"), _uint(value["from"], "from"), _uint(value["to"], "to")
    )
    if request.from_height < 1 or request.to_height < request.from_height:
        raise DecodeError("BAD_FIELD", "a fetch asks for heights 1 <= from <= to")
    return request


def decode_blocks(body: bytes | memoryview) -> BlocksPiece:
    value = _unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "blocks", "end"}:
        raise DecodeError("BAD_FIELD", "a blocks piece is {id, blocks, end}")
    if not isinstance(value["blocks"], list) or not isinstance(value["end"], bool):
        raise DecodeError("BAD_FIELD", "blocks must be a list and end a bool")
    blocks = []
    for item in value["blocks"]:
        if (
            not isinstance(item, dict)
            or set(item) != {"block", "cert"}
            or not isinstance(item["block"], bytes)
            or not isinstance(item["cert"], bytes)
        ):
            raise DecodeError("BAD_FIELD", "each block is {block: bytes, cert: bytes}")
        blocks.append((item["block"], item["cert"]))
    return BlocksPiece(_uint(value["id"], "id"), tuple(blocks), value["end"])
