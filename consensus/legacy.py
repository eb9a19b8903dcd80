"""Records of the previous release, read once after an upgrade.

That release's prepared proof carried its whole block (`{"view", "block", "prepares"}`), and so
its VIEW-CHANGE carried every prepared block above the stable checkpoint: tens of megabytes
under load, over the frame limit, and re-sent after every restart, which halted the chain for
good (issue 11, finding 1). On restart these records are converted, losing nothing:

- a prepared proof becomes the proof by hash and a block record; the PREPARE envelopes inside
  are the very signed messages the new proof holds;
- our own stored VIEW-CHANGE becomes the same report by hash (same view, checkpoint proof and
  prepared proofs), re-signed by the replica: a second VIEW-CHANGE for one view with the same
  content promises nothing new, so it cannot make us sign two blocks at one (view, height).

A stored NEW-VIEW of that release cannot be converted (it holds other validators' signatures
over the old form) and is dropped in records.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consensus.messages import (
    CheckpointProof,
    Prepare,
    PreparedProof,
    SignedMessage,
    ViewChange,
)
from ledger import codec
from ledger.errors import DecodeError
from ledger.types import Block, Header, Height, View


def _need(condition: bool, what: str) -> None:
    if not condition:
        raise DecodeError("BAD_RECORD", f"neither a record of this release nor the last: {what}")


def _legacy_proof_from_value(value: Any) -> tuple[PreparedProof, Block]:
    _need(isinstance(value, dict) and set(value) == {"view", "block", "prepares"}, "proof")
    raw_block = value["block"]
    _need(isinstance(raw_block, dict) and set(raw_block) == {"header", "txs"}, "block")
    txs = raw_block["txs"]
    _need(isinstance(txs, list) and all(isinstance(tx, bytes) for tx in txs), "block txs")
    block = Block(Header.from_value(raw_block["header"]), tuple(txs))
    view = value["view"]
    _need(isinstance(view, int) and not isinstance(view, bool) and view >= 0, "view")
    prepares = value["prepares"]
    _need(isinstance(prepares, list), "prepares")
    envelopes = tuple(SignedMessage.from_value(p, (Prepare.TYPE,)) for p in prepares)
    proof = PreparedProof(View(view), Height(block.header.height), block.header.hash(), envelopes)
    return proof, block


def decode_legacy_proof(data: bytes) -> tuple[PreparedProof, Block]:
    """A prepared-proof record of the previous release, as the proof by hash and its block."""
    return _legacy_proof_from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class LegacyViewChange:
    """Our VIEW-CHANGE of the previous release, with its blocks set apart."""

    change: ViewChange
    blocks: tuple[Block, ...]


def decode_legacy_view_change(data: bytes) -> LegacyViewChange:
    """Our stored VIEW-CHANGE envelope of the previous release (its signature is not needed:
    we re-sign the converted message)."""
    envelope = codec.decode(data)
    _need(isinstance(envelope, dict) and set(envelope) == {"from", "msg", "sig"}, "envelope")
    payload = envelope["msg"]
    _need(isinstance(payload, bytes), "envelope msg")
    value = codec.decode(payload)
    fields = ("type", "view", "checkpoint", "prepared")
    _need(isinstance(value, dict) and set(value) == set(fields), "view change")
    _need(value["type"] == ViewChange.TYPE and isinstance(value["prepared"], list), "type")
    view = value["view"]
    _need(isinstance(view, int) and not isinstance(view, bool) and view >= 0, "view")
    converted = [_legacy_proof_from_value(p) for p in value["prepared"]]
    change = ViewChange(
        View(view),
        CheckpointProof.from_value(value["checkpoint"]),
        tuple(proof for proof, _ in converted),
    )
    return LegacyViewChange(change, tuple(block for _, block in converted))
