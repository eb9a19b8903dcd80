"""The validator-to-validator envelope (pure): one kind byte, then the body.

Every payload `network.Network` carries is one kind byte followed by the body, so the common
case (a consensus message) is handed to the replica as the very bytes the peer signed, never
re-encoded or decoded twice:

    b"C" + SignedMessage bytes                                   consensus (the replica checks it)
    b"T" + msgpack [bin(signed tx), ...]                         tx gossip
    b"F" + msgpack {"id", "from", "to"}                          state transfer: a request
    b"B" + msgpack {"id", "blocks": [{"block", "cert"}], "end"}  state transfer: one piece
    b"G" + msgpack {"id", "height", "hash"}                      a block by hash: a request
    b"K" + msgpack {"id", "block": bin or nil}                   a block by hash: the answer
    b"S", b"O", b"Q", b"R"                                       snapshot sync: snapshot_wire.py

Every one of them fits in a frame by construction: a consensus message or a block is at most
`ledger.message_bounds.frame_budget(params)`, and the kind byte and these few fields stay within
the `P2P_RESERVE` that budget leaves (checked by tests/unit/test_consensus_bounds.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from ledger.codec import pack
from ledger.errors import DecodeError

CONSENSUS = b"C"[0]
TXS = b"T"[0]
FETCH = b"F"[0]
BLOCKS = b"B"[0]
GET_BLOCK = b"G"[0]
BLOCK = b"K"[0]
SNAPSHOT_ASK = b"S"[0]
SNAPSHOT_OFFER = b"O"[0]
CHUNK_ASK = b"Q"[0]
CHUNK = b"R"[0]
KINDS = {
    CONSENSUS: "consensus",
    TXS: "txs",
    FETCH: "fetch",
    BLOCKS: "blocks",
    GET_BLOCK: "get_block",
    BLOCK: "block",
    SNAPSHOT_ASK: "snapshot_ask",
    SNAPSHOT_OFFER: "snapshot_offer",
    CHUNK_ASK: "chunk_ask",
    CHUNK: "chunk",
}


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


@dataclass(frozen=True, slots=True)
class BlockRequest:
    """Asks a peer for the (uncommitted) block named `block_hash` at `height`."""

    request_id: int
    height: int
    block_hash: bytes


@dataclass(frozen=True, slots=True)
class BlockAnswer:
    """The encoded block asked for, or None: the peer does not hold it."""

    request_id: int
    block: bytes | None


def unpack(body: bytes | memoryview) -> Any:
    try:
        return msgpack.unpackb(body, raw=False, strict_map_key=True, use_list=True)
    except Exception as error:  # msgpack raises several unrelated types on garbage
        raise DecodeError("BAD_ENCODING", f"not msgpack: {type(error).__name__}") from None


def uint(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise DecodeError("BAD_FIELD", f"{what} must be a non-negative integer")
    return value


def encode_consensus(signed_message: bytes) -> bytes:
    return b"C" + signed_message


def encode_txs(raw_txs: list[bytes]) -> bytes:
    return b"T" + pack(raw_txs)


def encode_fetch(request: FetchRequest) -> bytes:
    body = {"from": request.from_height, "id": request.request_id, "to": request.to_height}
    return b"F" + pack(body)


def encode_blocks(piece: BlocksPiece) -> bytes:
    blocks = [{"block": block, "cert": cert} for block, cert in piece.blocks]
    body = {"blocks": blocks, "end": piece.end, "id": piece.request_id}
    return b"B" + pack(body)


def encode_block_request(request: BlockRequest) -> bytes:
    body = {"hash": request.block_hash, "height": request.height, "id": request.request_id}
    return b"G" + pack(body)


def encode_block_answer(answer: BlockAnswer) -> bytes:
    return b"K" + pack({"block": answer.block, "id": answer.request_id})


def decode_block_request(body: bytes | memoryview) -> BlockRequest:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "height", "hash"}:
        raise DecodeError("BAD_FIELD", "a block request is {id, height, hash}")
    block_hash = value["hash"]
    if not isinstance(block_hash, bytes) or len(block_hash) != 32:
        raise DecodeError("BAD_FIELD", "a block request names a 32-byte hash")
    return BlockRequest(uint(value["id"], "id"), uint(value["height"], "height"), block_hash)


def decode_block_answer(body: bytes | memoryview) -> BlockAnswer:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "block"}:
        raise DecodeError("BAD_FIELD", "a block answer is {id, block}")
    block = value["block"]
    if block is not None and not isinstance(block, bytes):
        raise DecodeError("BAD_FIELD", "a block answer holds bytes or nil")
    return BlockAnswer(uint(value["id"], "id"), block)


def decode_txs(body: bytes | memoryview) -> list[bytes]:
    value = unpack(body)
    if not isinstance(value, list) or not all(isinstance(tx, bytes) for tx in value):
        raise DecodeError("BAD_FIELD", "tx gossip must be a list of bytes")
    return value


def decode_fetch(body: bytes | memoryview) -> FetchRequest:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "from", "to"}:
        raise DecodeError("BAD_FIELD", "a fetch request is {id, from, to}")
    request = FetchRequest(
        uint(value["id"], "id"), uint(value["from"], "from"), uint(value["to"], "to")
    )
    if request.from_height < 1 or request.to_height < request.from_height:
        raise DecodeError("BAD_FIELD", "a fetch asks for heights 1 <= from <= to")
    return request


def decode_blocks(body: bytes | memoryview) -> BlocksPiece:
    value = unpack(body)
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
    return BlocksPiece(uint(value["id"], "id"), tuple(blocks), value["end"])
