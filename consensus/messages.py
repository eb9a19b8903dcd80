"""PBFT wire messages and the signed envelope they travel in.

Every message is a frozen dataclass with one canonical encoding (ledger.codec): a map with a
`type` field. It travels inside a `SignedMessage` envelope `{"from": index, "msg": bin, "sig":
bin(64)}` whose signature is the sender's Ed25519 signature of

    sha256(b"tally/consensus/v1" || encode({"chain": chain, "from": index, "msg": sha256(msg)}))

so an envelope is bound to one chain and one sender, and can be forwarded: view-change and
new-view messages carry other validators' envelopes as transferable proofs. Decoding rejects
anything malformed with `ledger.errors.DecodeError`; these bytes come from the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from consensus.fields import (
    BLS_SIG_SIZE,
    ED25519_SIG_SIZE,
    HASH_SIZE,
    block_from_value,
    block_to_value,
    exact_bytes,
    fields_of,
    height_of,
    list_of,
    require,
    uint,
    view_of,
)
from consensus.liveness_messages import Status as Status
from consensus.liveness_messages import Suspect as Suspect
from ledger import codec
from ledger.hashing import CONSENSUS_TAG, sha256, tagged_hash
from ledger.types import Block, Height, ValidatorIndex, View

# ---- the messages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrePrepare:
    """The primary of `view` proposes `block` at `height` (= block.header.height)."""

    view: View
    height: Height
    block: Block

    TYPE: ClassVar[str] = "pre_prepare"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "height": self.height,
            "block": block_to_value(self.block),
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> PrePrepare:
        fields = fields_of(value, ("type", "view", "height", "block"), "pre-prepare")
        block = block_from_value(fields["block"])
        height = height_of(fields["height"])
        require(block.header.height == height, "pre-prepare height differs from its block's")
        return PrePrepare(view_of(fields["view"]), height, block)


@dataclass(frozen=True, slots=True)
class Prepare:
    view: View
    height: Height
    block_hash: bytes

    TYPE: ClassVar[str] = "prepare"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "height": self.height,
            "hash": self.block_hash,
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> Prepare:
        fields = fields_of(value, ("type", "view", "height", "hash"), "prepare")
        return Prepare(
            view_of(fields["view"]),
            height_of(fields["height"]),
            exact_bytes(fields["hash"], "hash", HASH_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Commit:
    """A vote to commit, with the sender's BLS signature of the block's commit digest."""

    view: View
    height: Height
    block_hash: bytes
    bls_sig: bytes

    TYPE: ClassVar[str] = "commit"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "height": self.height,
            "hash": self.block_hash,
            "bls_sig": self.bls_sig,
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> Commit:
        fields = fields_of(value, ("type", "view", "height", "hash", "bls_sig"), "commit")
        return Commit(
            view_of(fields["view"]),
            height_of(fields["height"]),
            exact_bytes(fields["hash"], "hash", HASH_SIZE),
            exact_bytes(fields["bls_sig"], "bls_sig", BLS_SIG_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The sender committed `block_hash` at `height` (a multiple of the checkpoint interval)."""

    height: Height
    block_hash: bytes

    TYPE: ClassVar[str] = "checkpoint"

    def to_value(self) -> dict[str, Any]:
        return {"type": self.TYPE, "height": self.height, "hash": self.block_hash}

    @staticmethod
    def from_value(value: dict[str, Any]) -> Checkpoint:
        fields = fields_of(value, ("type", "height", "hash"), "checkpoint")
        return Checkpoint(
            height_of(fields["height"]), exact_bytes(fields["hash"], "hash", HASH_SIZE)
        )


@dataclass(frozen=True, slots=True)
class CheckpointProof:
    """A stable checkpoint: 2f+1 signed `Checkpoint` envelopes (none for height 0, genesis)."""

    height: Height
    block_hash: bytes
    votes: tuple[SignedMessage, ...]

    def to_value(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "hash": self.block_hash,
            "votes": [vote.to_value() for vote in self.votes],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> CheckpointProof:
        fields = fields_of(value, ("height", "hash", "votes"), "checkpoint proof")
        votes = tuple(
            SignedMessage.from_value(v, (Checkpoint.TYPE,))
            for v in list_of(fields["votes"], "votes")
        )
        return CheckpointProof(
            height_of(fields["height"]), exact_bytes(fields["hash"], "hash", HASH_SIZE), votes
        )

    @staticmethod
    def decode(data: bytes) -> CheckpointProof:
        return CheckpointProof.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class PreparedProof:
    """The block `block_hash` was prepared at `height` in `view`: 2f+1 signed
    `Prepare(view, height, block_hash)` envelopes. It names the block by hash, as in the PBFT
    paper, so a VIEW-CHANGE stays small whatever the blocks weigh; a replica that needs the
    block fetches it by hash (consensus/blocks.py)."""

    view: View
    height: Height
    block_hash: bytes
    prepares: tuple[SignedMessage, ...]

    def to_value(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "height": self.height,
            "hash": self.block_hash,
            "prepares": [prepare.to_value() for prepare in self.prepares],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> PreparedProof:
        fields = fields_of(value, ("view", "height", "hash", "prepares"), "prepared proof")
        prepares = tuple(
            SignedMessage.from_value(v, (Prepare.TYPE,))
            for v in list_of(fields["prepares"], "prepares")
        )
        return PreparedProof(
            View(uint(fields["view"], "view")),
            Height(uint(fields["height"], "height")),
            exact_bytes(fields["hash"], "hash", HASH_SIZE),
            prepares,
        )

    @staticmethod
    def decode(data: bytes) -> PreparedProof:
        return PreparedProof.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class ViewChange:
    """The sender moves to `view`, reporting its stable checkpoint and, for each height above
    it, its highest-view prepared proof (by hash: a bounded message whatever the load)."""

    view: View
    checkpoint: CheckpointProof
    prepared: tuple[PreparedProof, ...]

    TYPE: ClassVar[str] = "view_change"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "checkpoint": self.checkpoint.to_value(),
            "prepared": [proof.to_value() for proof in self.prepared],
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> ViewChange:
        fields = fields_of(value, ("type", "view", "checkpoint", "prepared"), "view change")
        return ViewChange(
            view_of(fields["view"]),
            CheckpointProof.from_value(fields["checkpoint"]),
            tuple(PreparedProof.from_value(p) for p in list_of(fields["prepared"], "prepared")),
        )


@dataclass(frozen=True, slots=True)
class NewView:
    """The primary of `view` starts it with 2f+1 signed view changes; the blocks it re-proposes
    follow from them (every replica recomputes the choice, see viewchange.select_new_view)."""

    view: View
    view_changes: tuple[SignedMessage, ...]

    TYPE: ClassVar[str] = "new_view"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "view_changes": [vc.to_value() for vc in self.view_changes],
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> NewView:
        fields = fields_of(value, ("type", "view", "view_changes"), "new view")
        changes = tuple(
            SignedMessage.from_value(v, (ViewChange.TYPE,))
            for v in list_of(fields["view_changes"], "view_changes")
        )
        return NewView(view_of(fields["view"]), changes)


@dataclass(frozen=True, slots=True)
class StableCheckpoint:
    """A stable checkpoint proof sent to a peer that is behind it (it will fetch blocks)."""

    proof: CheckpointProof

    TYPE: ClassVar[str] = "stable_checkpoint"

    def to_value(self) -> dict[str, Any]:
        return {"type": self.TYPE, "proof": self.proof.to_value()}

    @staticmethod
    def from_value(value: dict[str, Any]) -> StableCheckpoint:
        fields = fields_of(value, ("type", "proof"), "stable checkpoint")
        return StableCheckpoint(CheckpointProof.from_value(fields["proof"]))


Message = (
    PrePrepare
    | Prepare
    | Commit
    | Checkpoint
    | ViewChange
    | NewView
    | Status
    | StableCheckpoint
    | Suspect
)

_DECODERS: dict[str, Callable[[dict[str, Any]], Message]] = {
    PrePrepare.TYPE: PrePrepare.from_value,
    Prepare.TYPE: Prepare.from_value,
    Commit.TYPE: Commit.from_value,
    Checkpoint.TYPE: Checkpoint.from_value,
    ViewChange.TYPE: ViewChange.from_value,
    NewView.TYPE: NewView.from_value,
    Status.TYPE: Status.from_value,
    StableCheckpoint.TYPE: StableCheckpoint.from_value,
    Suspect.TYPE: Suspect.from_value,
}


def encode_message(message: Message) -> bytes:
    return codec.encode(message.to_value())


def decode_message(data: bytes, expect: tuple[str, ...] | None = None) -> Message:
    """Decode a message; `expect` limits its type (nested envelopes may only hold votes, which
    bounds how deep a crafted message can nest)."""
    value = codec.decode(data)
    require(isinstance(value, dict), "message must be a map")
    kind = value.get("type")
    require(isinstance(kind, str) and kind in _DECODERS, "unknown message type")
    require(expect is None or kind in expect, f"a {kind} message is not allowed here")
    return _DECODERS[kind](value)


def signing_digest(chain: str, sender: ValidatorIndex, payload: bytes) -> bytes:
    """What the sender's Ed25519 key signs for an envelope carrying `payload`."""
    bound = codec.encode({"chain": chain, "from": sender, "msg": sha256(payload)})
    return tagged_hash(CONSENSUS_TAG, bound)


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """The envelope `{"from", "msg", "sig"}`; `message` is `msg` decoded."""

    sender: ValidatorIndex
    payload: bytes
    sig: bytes
    message: Message = field(compare=False, repr=False)

    @staticmethod
    def create(
        chain: str, sender: ValidatorIndex, message: Message, sign: Callable[[bytes], bytes]
    ) -> SignedMessage:
        payload = encode_message(message)
        return SignedMessage(sender, payload, sign(signing_digest(chain, sender, payload)), message)

    def digest(self, chain: str) -> bytes:
        return signing_digest(chain, self.sender, self.payload)

    def to_value(self) -> dict[str, Any]:
        return {"from": self.sender, "msg": self.payload, "sig": self.sig}

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any, expect: tuple[str, ...] | None = None) -> SignedMessage:
        fields = fields_of(value, ("from", "msg", "sig"), "envelope")
        sender = ValidatorIndex(uint(fields["from"], "from"))
        require(sender < 2**16, "from is not a validator index")
        payload = exact_bytes(fields["msg"], "msg")
        sig = exact_bytes(fields["sig"], "sig", ED25519_SIG_SIZE)
        return SignedMessage(sender, payload, sig, decode_message(payload, expect))

    @staticmethod
    def decode(data: bytes) -> SignedMessage:
        return SignedMessage.from_value(codec.decode(data))
