"""Upper bounds on the size of every consensus message, as functions of the genesis params.

A node must never build a message its peers cannot receive: a frame over `max_frame_bytes`
closes the connection (DESIGN.md §8), and a VIEW-CHANGE that no longer fits halts the chain for
good. So every message has a bound that follows from the params by construction (no message
grows with the load or with the blocks in flight), `genesis_from_value` refuses params under
which one exceeds the frame, and a test builds the largest message of each kind and checks it
against these numbers. The formulas are written out in consensus/README.md.

Each bound is computed field by field over the canonical msgpack encoding (ledger.codec):
integers are counted at their widest (9 bytes), byte strings with their length header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# A VIEW-CHANGE reports prepared proofs only for heights in (checkpoint, checkpoint + reach],
# reach = PROOF_REACH_SPANS x (checkpoint_interval + window); a replica never prepares beyond it.
PROOF_REACH_SPANS = 2
# Bytes the peer-to-peer layers may add around a consensus message or a block: the envelope's
# kind byte and request id, the session envelope and the MAC (tests/unit checks the real ones).
P2P_RESERVE = 256

UINT = 9  # the widest canonical integer (0xcf + 8 bytes)
SENDER = 3  # a validator index, below 2**16 (0xcd + 2 bytes)
BOOL = 1
ED25519_SIG = 64
BLS_SIG = 96
HASH = 32


def _length_header(size: int, small: int) -> int:
    """Bytes msgpack puts before a str/bin/array of `size`; `small` is the fix-format limit."""
    if size < small:
        return 1
    if size < 256 and small == 32:  # str8 exists; bin8 is the first bin format
        return 2
    return 3 if size < 65536 else 5


def text(value: str) -> int:
    size = len(value.encode())
    return _length_header(size, 32) + size


def binary(size: int) -> int:
    return (2 if size < 256 else 3 if size < 65536 else 5) + size


def array(count: int, each: int) -> int:
    return _length_header(count, 16) + count * each


def record(fields: Mapping[str, int]) -> int:
    """A map with these keys whose values take at most the given sizes (at most 15 keys)."""
    return 1 + sum(text(key) + size for key, size in fields.items())


def envelope(payload: int) -> int:
    """A SignedMessage `{"from", "msg", "sig"}` around a payload of `payload` bytes."""
    return record({"from": SENDER, "msg": binary(payload), "sig": binary(ED25519_SIG)})


def header(chain: str) -> int:
    return record(
        {
            "chain": text(chain),
            "height": UINT,
            "prev": binary(HASH),
            "time_ms": UINT,
            "proposer": binary(HASH),
            "view": UINT,
            "txs_root": binary(HASH),
            "receipts_root": binary(HASH),
            "state_root": binary(HASH),
            "validators_hash": binary(HASH),
        }
    )


def block(chain: str, max_txs: int, max_bytes: int) -> int:
    """An encoded block: a header and at most `max_txs` txs of `max_bytes` in all."""
    txs = _length_header(max_txs, 16) + max_bytes + max_txs * (binary(max_bytes) - max_bytes)
    return record({"header": header(chain), "txs": txs})


def certificate(validators: int) -> int:
    return record(
        {
            "height": UINT,
            "view": UINT,
            "block_hash": binary(HASH),
            "signers": binary((validators + 7) // 8),
            "agg_sig": binary(BLS_SIG),
        }
    )


@dataclass(frozen=True, slots=True)
class MessageBounds:
    """The largest encoded envelope of each consensus message kind, and of a block."""

    prepare: int
    commit: int
    checkpoint: int
    suspect: int
    status: int
    pre_prepare: int
    view_change: int
    new_view: int
    stable_checkpoint: int
    block: int
    certified_block: int  # a block and its certificate, as state transfer sends them

    def largest(self) -> tuple[str, int]:
        sizes = {name: getattr(self, name) for name in MessageBounds.__slots__}
        name = max(sizes, key=lambda key: sizes[key])
        return name, sizes[name]


def proof_reach(params: Mapping[str, int]) -> int:
    """How many heights above its checkpoint a VIEW-CHANGE may report prepared proofs for."""
    return PROOF_REACH_SPANS * (params["checkpoint_interval"] + params["window"])


# The fixed-size messages: their payloads at the widest.
PREPARE = record({"type": text("prepare"), "view": UINT, "height": UINT, "hash": binary(HASH)})
COMMIT = record(
    {
        "type": text("commit"),
        "view": UINT,
        "height": UINT,
        "hash": binary(HASH),
        "bls_sig": binary(BLS_SIG),
    }
)
CHECKPOINT = record({"type": text("checkpoint"), "height": UINT, "hash": binary(HASH)})
SUSPECT = record({"type": text("suspect"), "view": UINT})
STATUS = record(
    {"type": text("status"), "view": UINT, "installed": BOOL, "height": UINT, "stable": UINT}
)


def _view_change(quorum: int, reach: int) -> tuple[int, int]:
    """Payload bounds of a VIEW-CHANGE and of the checkpoint proof inside it."""
    checkpoint_proof = record(
        {"height": UINT, "hash": binary(HASH), "votes": array(quorum, envelope(CHECKPOINT))}
    )
    prepared_proof = record(
        {
            "view": UINT,
            "height": UINT,
            "hash": binary(HASH),
            "prepares": array(quorum, envelope(PREPARE)),
        }
    )
    view_change = record(
        {
            "type": text("view_change"),
            "view": UINT,
            "checkpoint": checkpoint_proof,
            "prepared": array(reach, prepared_proof),
        }
    )
    return view_change, checkpoint_proof


def message_bounds(params: Mapping[str, int], validators: int, chain: str) -> MessageBounds:
    """Bounds for `validators` = n validators (quorum n − f, 2f+1 when n = 3f+1) on chain
    `chain` under `params`."""
    quorum = validators - (validators - 1) // 3
    view_change, checkpoint_proof = _view_change(quorum, proof_reach(params))
    new_view = record(
        {
            "type": text("new_view"),
            "view": UINT,
            "view_changes": array(quorum, envelope(view_change)),
        }
    )
    encoded_block = block(chain, params["block_max_txs"], params["block_max_bytes"])
    pre_prepare = record(
        {"type": text("pre_prepare"), "view": UINT, "height": UINT, "block": encoded_block}
    )
    stable = record({"type": text("stable_checkpoint"), "proof": checkpoint_proof})
    return MessageBounds(
        prepare=envelope(PREPARE),
        commit=envelope(COMMIT),
        checkpoint=envelope(CHECKPOINT),
        suspect=envelope(SUSPECT),
        status=envelope(STATUS),
        pre_prepare=envelope(pre_prepare),
        view_change=envelope(view_change),
        new_view=envelope(new_view),
        stable_checkpoint=envelope(stable),
        block=encoded_block,
        certified_block=binary(encoded_block) + binary(certificate(validators)),
    )


def frame_budget(params: Mapping[str, int]) -> int:
    """What a consensus message or a block may take of a frame."""
    return params["max_frame_bytes"] - P2P_RESERVE


def oversized(params: Mapping[str, int], validators: int, chain: str) -> str | None:
    """Why these params let a message outgrow the frame, or None if every message fits."""
    bounds = message_bounds(params, validators, chain)
    name, size = bounds.largest()
    budget = frame_budget(params)
    if size <= budget:
        return None
    return (
        f"with {validators} validators these params allow a {name.replace('_', ' ')} of "
        f"{size} bytes, over max_frame_bytes ({params['max_frame_bytes']}) less "
        f"{P2P_RESERVE} for the transport: raise max_frame_bytes or lower block_max_bytes, "
        "block_max_txs, window or checkpoint_interval"
    )
