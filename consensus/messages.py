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

from ledger import codec
from ledger.errors import DecodeError
from ledger.hashing import CONSENSUS_TAG, sha256, tagged_hash
from ledger.types import Block, Header

HASH_SIZE = 32
ED25519_SIG_SIZE = 64
BLS_SIG_SIZE = 96


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise DecodeError("BAD_MESSAGE", message)


def _fields(value: Any, names: tuple[str, ...], what: str) -> dict[str, Any]:
    _require(isinstance(value, dict), f"{what} must be a map")
    _require(set(value) == set(names), f"{what} must have exactly the fields {sorted(names)}")
    return value  # type: ignore[no-any-return]


def _uint(value: Any, what: str) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
        f"{what} must be a non-negative integer",
    )
    return int(value)


def _bytes(value: Any, what: str, size: int | None = None) -> bytes:
    _require(isinstance(value, bytes), f"{what} must be bytes")
    _require(size is None or len(value) == size, f"{what} must be {size} bytes")
    return bytes(value)


def _list(value: Any, what: str) -> list[Any]:
    _require(isinstance(value, list), f"{what} must be a list")
    return list(value)


def block_to_value(block: Block) -> dict[str, Any]:
    return {"header": block.header.to_value(), "txs": list(block.txs)}


def block_from_value(value: Any) -> Block:
    fields = _fields(value, ("header", "txs"), "block")
    txs = tuple(_bytes(tx, "block tx") for tx in _list(fields["txs"], "block txs"))
    return Block(Header.from_value(fields["header"]), txs)


# ---- the messages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrePrepare:
    """The primary of `view` proposes `block` at `height` (= block.header.height)."""

    view: int
    height: int
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
        fields = _fields(value, ("type", "view", "height", "block"), "pre-prepare")
        block = block_from_value(fields["block"])
        height = _uint(fields["height"], "height")
        _require(block.header.height == height, "pre-prepare height differs from its block's")
        return PrePrepare(_uint(fields["view"], "view"), height, block)


@dataclass(frozen=True, slots=True)
class Prepare:
    view: int
    height: int
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
        fields = _fields(value, ("type", "view", "height", "hash"), "prepare")
        return Prepare(
            _uint(fields["view"], "view"),
            _uint(fields["height"], "height"),
            _bytes(fields["hash"], "hash", HASH_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Commit:
    """A vote to commit, with the sender's BLS signature of the block's commit digest."""

    view: int
    height: int
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
        fields = _fields(value, ("type", "view", "height", "hash", "bls_sig"), "commit")
        return Commit(
            _uint(fields["view"], "view"),
            _uint(fields["height"], "height"),
            _bytes(fields["hash"], "hash", HASH_SIZE),
            _bytes(fields["bls_sig"], "bls_sig", BLS_SIG_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The sender committed `block_hash` at `height` (a multiple of the checkpoint interval)."""

    height: int
    block_hash: bytes

    TYPE: ClassVar[str] = "checkpoint"

    def to_value(self) -> dict[str, Any]:
        return {"type": self.TYPE, "height": self.height, "hash": self.block_hash}

    @staticmethod
    def from_value(value: dict[str, Any]) -> Checkpoint:
        fields = _fields(value, ("type", "height", "hash"), "checkpoint")
        return Checkpoint(_uint(fields["height"], "height"), _bytes(fields["hash"], "hash", 32))


@dataclass(frozen=True, slots=True)
class CheckpointProof:
    """A stable checkpoint: 2f+1 signed `Checkpoint` envelopes (none for height 0, genesis)."""

    height: int
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
        fields = _fields(value, ("height", "hash", "votes"), "checkpoint proof")
        votes = tuple(
            SignedMessage.from_value(v, (Checkpoint.TYPE,)) for v in _list(fields["votes"], "votes")
        )
        return CheckpointProof(
            _uint(fields["height"], "height"), _bytes(fields["hash"], "hash", 32), votes
        )

    @staticmethod
    def decode(data: bytes) -> CheckpointProof:
        return CheckpointProof.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class PreparedProof:
    """`block` was prepared in `view`: 2f+1 signed `Prepare(view, height, hash)` envelopes."""

    view: int
    block: Block
    prepares: tuple[SignedMessage, ...]

    @property
    def height(self) -> int:
        return self.block.header.height

    def to_value(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "block": block_to_value(self.block),
            "prepares": [prepare.to_value() for prepare in self.prepares],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> PreparedProof:
        fields = _fields(value, ("view", "block", "prepares"), "prepared proof")
        prepares = tuple(
            SignedMessage.from_value(v, (Prepare.TYPE,))
            for v in _list(fields["prepares"], "prepares")
        )
        return PreparedProof(
            _uint(fields["view"], "view"), block_from_value(fields["block"]), prepares
        )

    @staticmethod
    def decode(data: bytes) -> PreparedProof:
        return PreparedProof.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class ViewChange:
    """The sender moves to `view`, reporting its stable checkpoint and prepared blocks."""

    view: int
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
        fields = _fields(value, ("type", "view", "checkpoint", "prepared"), "view change")
        return ViewChange(
            _uint(fields["view"], "view"),
            CheckpointProof.from_value(fields["checkpoint"]),
            tuple(PreparedProof.from_value(p) for p in _list(fields["prepared"], "prepared")),
        )


@dataclass(frozen=True, slots=True)
class NewView:
    """The primary of `view` starts it with 2f+1 signed view changes; the blocks it re-proposes
    follow from them (every replica recomputes the choice, see viewchange.select_new_view)."""

    view: int
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
        fields = _fields(value, ("type", "view", "view_changes"), "new view")
        changes = tuple(
            SignedMessage.from_value(v, (ViewChange.TYPE,))
            for v in _list(fields["view_changes"], "view_changes")
        )
        return NewView(_uint(fields["view"], "view"), changes)


@dataclass(frozen=True, slots=True)
class Status:
    """Where the sender is; peers answer with what it lacks (votes, new view, stable proof)."""

    view: int
    installed: bool  # False while changing view or not knowing the view's NEW-VIEW
    height: int  # committed height
    stable: int  # stable checkpoint height

    TYPE: ClassVar[str] = "status"

    def to_value(self) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "view": self.view,
            "installed": self.installed,
            "height": self.height,
            "stable": self.stable,
        }

    @staticmethod
    def from_value(value: dict[str, Any]) -> Status:
        fields = _fields(value, ("type", "view", "installed", "height", "stable"), "status")
        _require(isinstance(fields["installed"], bool), "installed must be a bool")
        return Status(
            _uint(fields["view"], "view"),
            fields["installed"],
            _uint(fields["height"], "height"),
            _uint(fields["stable"], "stable"),
        )


@dataclass(frozen=True, slots=True)
class StableCheckpoint:
    """A stable checkpoint proof sent to a peer that is behind it (it will fetch blocks)."""

    proof: CheckpointProof

    TYPE: ClassVar[str] = "stable_checkpoint"

    def to_value(self) -> dict[str, Any]:
        return {"type": self.TYPE, "proof": self.proof.to_value()}

    @staticmethod
    def from_value(value: dict[str, Any]) -> StableCheckpoint:
        fields = _fields(value, ("type", "proof"), "stable checkpoint")
        return StableCheckpoint(CheckpointProof.from_value(fields["proof"]))


Message = (
    PrePrepare | Prepare | Commit | Checkpoint | ViewChange | NewView | Status | StableCheckpoint
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
}


def encode_message(message: Message) -> bytes:
    return codec.encode(message.to_value())


def decode_message(data: bytes, expect: tuple[str, ...] | None = None) -> Message:
    """Decode a message; `expect` limits its type (nested envelopes may only hold votes, which
    bounds how deep a crafted message can nest)."""
    value = codec.decode(data)
    _require(isinstance(value, dict), "message must be a map")
    kind = value.get("type")
    _require(isinstance(kind, str) and kind in _DECODERS, "unknown message type")
    _require(expect is None or kind in expect, f"a {kind} message is not allowed here")
    return _DECODERS[kind](value)


def signing_digest(chain: str, sender: int, payload: bytes) -> bytes:
    """What the sender's Ed25519 key signs for an envelope carrying `payload`."""
    bound = codec.encode({"chain": chain, "from": sender, "msg": sha256(payload)})
    return tagged_hash(CONSENSUS_TAG, bound)


@dataclass(frozen=True, slots=True)
class SignedMessage:
    """The envelope `{"from", "msg", "sig"}`; `message` is `msg` decoded."""

    sender: int
    payload: bytes
    sig: bytes
    message: Message = field(compare=False, repr=False)

    @staticmethod
    def create(
        chain: str, sender: int, message: Message, sign: Callable[[bytes], bytes]
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
        fields = _fields(value, ("from", "msg", "sig"), "envelope")
        sender = _uint(fields["from"], "from")
        _require(sender < 2**16, "from is not a validator index")
        payload = _bytes(fields["msg"], "msg")
        sig = _bytes(fields["sig"], "sig", ED25519_SIG_SIZE)
        return SignedMessage(sender, payload, sig, decode_message(payload, expect))

    @staticmethod
    def decode(data: bytes) -> SignedMessage:
        return SignedMessage.from_value(codec.decode(data))
