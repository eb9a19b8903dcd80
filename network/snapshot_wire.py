"""The snapshot-sync bodies of the validator envelope (pure), beside `network.envelope`'s:

    b"S" + msgpack {"id"}                                         what can you offer? (a tip)
    b"O" + msgpack {"id", "height", "block", "cert", "event_seq"} the offer: a certified block
    b"Q" + msgpack {"id", "height", "after": bin(32) or nil}      a chunk of the state at height
    b"R" + msgpack {"id", "height", "leaves": [[key, value]...],  the chunk, in path order, with
                    "more", "siblings": [bin(32)...], "error"}    the proof of its last leaf

An offer carries one block with its certificate, which fits a frame by construction (genesis
validation, ledger.message_bounds); a chunk is cut by its server at `max_piece_bytes`, below the
frame budget. `error` (a code such as STATE_HEIGHT_PRUNED) says the height cannot be served.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.codec import pack
from ledger.errors import DecodeError
from ledger.smt import PATH_BITS
from ledger.snapshot import SnapshotChunk
from network.envelope import uint, unpack


@dataclass(frozen=True, slots=True)
class SnapshotOffer:
    """A peer's tip as a snapshot target: the encoded block and certificate (None: nothing)."""

    request_id: int
    height: int
    block: bytes | None
    certificate: bytes | None
    event_seq: int


@dataclass(frozen=True, slots=True)
class ChunkAsk:
    request_id: int
    height: int
    after: int | None  # the last path the asker holds, None for the first chunk


@dataclass(frozen=True, slots=True)
class ChunkAnswer:
    request_id: int
    chunk: SnapshotChunk
    error: str | None = None


def encode_snapshot_ask(request_id: int) -> bytes:
    return b"S" + pack({"id": request_id})


def decode_snapshot_ask(body: bytes | memoryview) -> int:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id"}:
        raise DecodeError("BAD_FIELD", "a snapshot ask is {id}")
    return uint(value["id"], "id")


def encode_offer(offer: SnapshotOffer) -> bytes:
    body = {
        "id": offer.request_id,
        "height": offer.height,
        "block": offer.block,
        "cert": offer.certificate,
        "event_seq": offer.event_seq,
    }
    return b"O" + pack(body)


def decode_offer(body: bytes | memoryview) -> SnapshotOffer:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "height", "block", "cert", "event_seq"}:
        raise DecodeError("BAD_FIELD", "an offer is {id, height, block, cert, event_seq}")
    block, cert = value["block"], value["cert"]
    if not all(item is None or isinstance(item, bytes) for item in (block, cert)):
        raise DecodeError("BAD_FIELD", "an offer's block and cert are bytes or nil")
    return SnapshotOffer(
        uint(value["id"], "id"),
        uint(value["height"], "height"),
        block,
        cert,
        uint(value["event_seq"], "event_seq"),
    )


def encode_chunk_ask(ask: ChunkAsk) -> bytes:
    after = None if ask.after is None else ask.after.to_bytes(32, "big")
    return b"Q" + pack({"id": ask.request_id, "height": ask.height, "after": after})


def decode_chunk_ask(body: bytes | memoryview) -> ChunkAsk:
    value = unpack(body)
    if not isinstance(value, dict) or set(value) != {"id", "height", "after"}:
        raise DecodeError("BAD_FIELD", "a chunk ask is {id, height, after}")
    after = value["after"]
    if after is not None and (not isinstance(after, bytes) or len(after) != 32):
        raise DecodeError("BAD_FIELD", "a chunk ask's after is 32 bytes or nil")
    return ChunkAsk(
        uint(value["id"], "id"),
        uint(value["height"], "height"),
        None if after is None else int.from_bytes(after, "big"),
    )


def encode_chunk(answer: ChunkAnswer) -> bytes:
    chunk = answer.chunk
    body = {
        "id": answer.request_id,
        "height": chunk.height,
        "leaves": [[key, value] for key, value in chunk.leaves],
        "more": chunk.more,
        "siblings": list(chunk.siblings),
        "error": answer.error,
    }
    return b"R" + pack(body)


def decode_chunk(body: bytes | memoryview) -> ChunkAnswer:
    value = unpack(body)
    fields = {"id", "height", "leaves", "more", "siblings", "error"}
    if not isinstance(value, dict) or set(value) != fields:
        raise DecodeError("BAD_FIELD", "a chunk is {id, height, leaves, more, siblings, error}")
    leaves, siblings, error = value["leaves"], value["siblings"], value["error"]
    if not isinstance(leaves, list) or not all(_is_pair(leaf) for leaf in leaves):
        raise DecodeError("BAD_FIELD", "a chunk's leaves are [key bytes, value bytes] pairs")
    if not isinstance(value["more"], bool) or (error is not None and not isinstance(error, str)):
        raise DecodeError("BAD_FIELD", "a chunk's more is a bool and its error text or nil")
    if (
        not isinstance(siblings, list)
        or len(siblings) > PATH_BITS
        or not all(isinstance(s, bytes) and len(s) == 32 for s in siblings)
    ):
        raise DecodeError("BAD_FIELD", "a chunk's siblings are at most 256 hashes")
    chunk = SnapshotChunk(
        uint(value["height"], "height"),
        tuple((key, leaf_value) for key, leaf_value in leaves),
        value["more"],
        tuple(siblings),
    )
    return ChunkAnswer(uint(value["id"], "id"), chunk, error)


def _is_pair(leaf: object) -> bool:
    return (
        isinstance(leaf, list)
        and len(leaf) == 2
        and isinstance(leaf[0], bytes)
        and isinstance(leaf[1], bytes)
    )
