"""What a replica persists (through `Persist` actions) and how it reads it back after a restart.

Keys and values:

- `pbft/view`                 -> {"view": int}: the highest view entered; written before the
                                 VIEW-CHANGE (or the first vote) of that view is sent.
- `pbft/vc`                   -> our signed VIEW-CHANGE envelope for that view.
- `pbft/nv`                   -> the NEW-VIEW envelope of the view we installed; written before
                                 any vote in that view (and, as its primary, before sending it).
- `pbft/vote/<height:020>`    -> {"view", "hash"}: our last PREPARE (or, as primary, proposal)
                                 at that height; written before it is sent.
- `pbft/prepared/<height:020>` -> the highest-view prepared proof (block + 2f+1 prepares);
                                 written before our COMMIT for it is sent.
- `pbft/checkpoint`           -> the stable checkpoint proof.

An empty value means the record is obsolete (garbage-collected below a stable checkpoint): the
driver may delete the key. Keys sort by height, so a store can iterate them in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from consensus.messages import CheckpointProof, NewView, PreparedProof, SignedMessage, ViewChange
from ledger import codec
from ledger.errors import DecodeError

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
    """The replica's persisted state, parsed."""

    view: int = 0
    view_change: SignedMessage | None = None
    new_view: SignedMessage | None = None
    checkpoint: CheckpointProof | None = None
    votes: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    proofs: dict[int, PreparedProof] = field(default_factory=dict)


def _height(key: str, prefix: str) -> int:
    digits = key[len(prefix) :]
    if not digits.isdigit():
        raise DecodeError("BAD_RECORD", f"bad record key {key!r}")
    return int(digits)


def parse_records(records: Mapping[str, bytes]) -> Restored:
    """Read persisted records; empty values are deleted records. Raises DecodeError if corrupt."""
    restored = Restored()
    for key, value in records.items():
        if not value:
            continue
        if key == VIEW_KEY:
            decoded = codec.decode(value)
            if not isinstance(decoded, dict) or not isinstance(decoded.get("view"), int):
                raise DecodeError("BAD_RECORD", "bad view record")
            restored.view = decoded["view"]
        elif key == VIEW_CHANGE_KEY:
            envelope = SignedMessage.decode(value)
            if not isinstance(envelope.message, ViewChange):
                raise DecodeError("BAD_RECORD", "bad view-change record")
            restored.view_change = envelope
        elif key == NEW_VIEW_KEY:
            envelope = SignedMessage.decode(value)
            if not isinstance(envelope.message, NewView):
                raise DecodeError("BAD_RECORD", "bad new-view record")
            restored.new_view = envelope
        elif key == CHECKPOINT_KEY:
            restored.checkpoint = CheckpointProof.decode(value)
        elif key.startswith(VOTE_PREFIX):
            decoded = codec.decode(value)
            if (
                not isinstance(decoded, dict)
                or not isinstance(decoded.get("view"), int)
                or not isinstance(decoded.get("hash"), bytes)
            ):
                raise DecodeError("BAD_RECORD", "bad vote record")
            restored.votes[_height(key, VOTE_PREFIX)] = (decoded["view"], decoded["hash"])
        elif key.startswith(PREPARED_PREFIX):
            restored.proofs[_height(key, PREPARED_PREFIX)] = PreparedProof.decode(value)
    return restored
