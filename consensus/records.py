"""What a replica persists (through `Persist` actions) and how it reads it back after a restart.

Keys and values:

- `pbft/view`                 -> {"view": int}: the highest view entered; written before the
                                 VIEW-CHANGE (or the first vote) of that view is sent.
- `pbft/vc`                   -> our signed VIEW-CHANGE envelope for that view.
- `pbft/nv`                   -> the NEW-VIEW envelope of the view we installed; written before
                                 any vote in that view (and, as its primary, before sending it).
- `pbft/vote/<height:020>`    -> {"view", "hash"}: our last PREPARE (or, as primary, proposal)
                                 at that height; written before it is sent.
- `pbft/block/<height:020>/<hash hex>` -> the encoded block of a vote; written before the vote
                                 is sent (consensus/blocks.py says which are kept).
- `pbft/prepared/<height:020>` -> the highest-view prepared proof (view, height, hash, 2f+1
                                 prepares); written before our COMMIT for it is sent.
- `pbft/checkpoint`           -> the stable checkpoint proof.

An empty value means the record is obsolete (garbage-collected below a stable checkpoint): the
driver may delete the key. Keys sort by height, so a store can iterate them in order. Records
of the previous release (prepared proofs and a VIEW-CHANGE holding whole blocks) are read by
consensus/legacy.py and rewritten in this form on restart.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from consensus.blocks import BLOCK_PREFIX, block_key, matches
from consensus.legacy import LegacyViewChange, decode_legacy_proof, decode_legacy_view_change
from consensus.messages import CheckpointProof, NewView, PreparedProof, SignedMessage, ViewChange
from ledger import codec
from ledger.errors import DecodeError
from ledger.types import Block, Height, View

log = logging.getLogger(__name__)

VIEW_KEY = "pbft/view"
VIEW_CHANGE_KEY = "pbft/vc"
NEW_VIEW_KEY = "pbft/nv"
CHECKPOINT_KEY = "pbft/checkpoint"
VOTE_PREFIX = "pbft/vote/"
PREPARED_PREFIX = "pbft/prepared/"


def vote_key(height: int) -> str:
    return f"{VOTE_PREFIX}{height:020d}"


def prepared_key(height: int) -> str:
    return f"{PREPARED_PREFIX}{height:020d}"


def encode_view(view: int) -> bytes:
    return codec.encode({"view": view})


def encode_vote(view: int, block_hash: bytes) -> bytes:
    return codec.encode({"view": view, "hash": block_hash})


@dataclass(slots=True)
class Restored:
    """The replica's persisted state, parsed. `rewrite` holds records to write back in this
    release's form (converted from the previous one), `legacy_view_change` our stored
    VIEW-CHANGE of the previous release (the replica re-signs it by hash)."""

    view: View = field(default=View(0))
    view_change: SignedMessage | None = None
    new_view: SignedMessage | None = None
    checkpoint: CheckpointProof | None = None
    votes: dict[Height, tuple[View, bytes]] = field(default_factory=dict)
    proofs: dict[Height, PreparedProof] = field(default_factory=dict)
    blocks: dict[Height, dict[bytes, Block]] = field(default_factory=dict)
    legacy_view_change: LegacyViewChange | None = None
    rewrite: dict[str, bytes] = field(default_factory=dict)


def _height(key: str, prefix: str) -> Height:
    digits = key[len(prefix) :]
    if not digits.isdigit():
        raise DecodeError("BAD_RECORD", f"bad record key {key!r}")
    return Height(int(digits))


def _small_record(value: bytes, names: tuple[str, ...], what: str) -> dict[str, object]:
    decoded = codec.decode(value)
    if not isinstance(decoded, dict) or set(decoded) != set(names):
        raise DecodeError("BAD_RECORD", f"bad {what} record")
    return decoded


def parse_records(records: Mapping[str, bytes]) -> Restored:
    """Read persisted records; empty values are deleted records. Raises DecodeError if corrupt."""
    restored = Restored()
    for key, value in records.items():
        if not value:
            continue
        if key == VIEW_KEY:
            view = _small_record(value, ("view",), "view")["view"]
            if not isinstance(view, int):
                raise DecodeError("BAD_RECORD", "bad view record")
            restored.view = View(view)
        elif key == VIEW_CHANGE_KEY:
            _read_view_change(restored, value)
        elif key == NEW_VIEW_KEY:
            _read_new_view(restored, value)
        elif key == CHECKPOINT_KEY:
            restored.checkpoint = CheckpointProof.decode(value)
        elif key.startswith(VOTE_PREFIX):
            vote = _small_record(value, ("view", "hash"), "vote")
            if not isinstance(vote["view"], int) or not isinstance(vote["hash"], bytes):
                raise DecodeError("BAD_RECORD", "bad vote record")
            restored.votes[_height(key, VOTE_PREFIX)] = (View(vote["view"]), vote["hash"])
        elif key.startswith(PREPARED_PREFIX):
            _read_proof(restored, _height(key, PREPARED_PREFIX), value)
        elif key.startswith(BLOCK_PREFIX):
            _read_block(restored, key, value)
    return restored


def _read_view_change(restored: Restored, value: bytes) -> None:
    try:
        envelope = SignedMessage.decode(value)
    except DecodeError:
        legacy = decode_legacy_view_change(value)
        for proof, block in zip(legacy.change.prepared, legacy.blocks, strict=True):
            restored.blocks.setdefault(proof.height, {})[proof.block_hash] = block
            restored.rewrite[block_key(proof.height, proof.block_hash)] = block.encode()
        restored.legacy_view_change = legacy
        log.warning("converting our stored VIEW-CHANGE of the previous release (blocks by hash)")
        return
    if not isinstance(envelope.message, ViewChange):
        raise DecodeError("BAD_RECORD", "bad view-change record")
    restored.view_change = envelope


def _read_new_view(restored: Restored, value: bytes) -> None:
    try:
        envelope = SignedMessage.decode(value)
    except DecodeError:
        # The previous release's NEW-VIEW holds other validators' VIEW-CHANGEs with whole
        # blocks, which only they could re-sign. Dropping it is safe: our votes stay binding,
        # and without it we vote in that view only once a peer resends its NEW-VIEW.
        log.warning("dropping our stored NEW-VIEW of the previous release (its format is gone)")
        restored.rewrite[NEW_VIEW_KEY] = b""
        return
    if not isinstance(envelope.message, NewView):
        raise DecodeError("BAD_RECORD", "bad new-view record")
    restored.new_view = envelope


def _read_proof(restored: Restored, height: Height, value: bytes) -> None:
    try:
        proof = PreparedProof.decode(value)
    except DecodeError:
        proof, block = decode_legacy_proof(value)
        restored.blocks.setdefault(height, {})[proof.block_hash] = block
        restored.rewrite[prepared_key(height)] = proof.encode()
        restored.rewrite[block_key(height, proof.block_hash)] = block.encode()
        log.info("converted the prepared proof at height %d of the previous release", height)
    if proof.height != height:
        raise DecodeError("BAD_RECORD", f"prepared proof for {proof.height} stored at {height}")
    restored.proofs[height] = proof


def _read_block(restored: Restored, key: str, value: bytes) -> None:
    height_digits, _, hash_hex = key[len(BLOCK_PREFIX) :].partition("/")
    height = _height(BLOCK_PREFIX + height_digits, BLOCK_PREFIX)
    try:
        block_hash = bytes.fromhex(hash_hex)
    except ValueError:
        raise DecodeError("BAD_RECORD", f"bad record key {key!r}") from None
    block = Block.decode(value)
    if not matches(block, height, block_hash):
        log.warning("dropping the block record %s: it is not the block it names", key)
        restored.rewrite[key] = b""
        return
    restored.blocks.setdefault(height, {})[block_hash] = block
