"""Ledger objects of DESIGN.md §5–6 as frozen dataclasses with their one canonical encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NewType

import msgpack

from ledger import codec
from ledger.crypto import Ed25519Key, ed25519_verify
from ledger.errors import DecodeError
from ledger.hashing import COMMIT_TAG, TX_TAG, sha256, tagged_hash
from ledger.tx_layout import canonical_tx_parts

Height = NewType("Height", int)
View = NewType("View", int)
ValidatorIndex = NewType("ValidatorIndex", int)

HASH_SIZE = 32


def _require(condition: bool, message: str, code: str = "BAD_FIELD") -> None:
    if not condition:
        raise DecodeError(code, message)


def _map(value: Any, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    _require(isinstance(value, dict), f"{what} must be a map")
    _require(set(value) == set(fields), f"{what} must have exactly the fields {sorted(fields)}")
    return value  # type: ignore[no-any-return]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_bytes(value: Any, size: int | None = None) -> bool:
    return isinstance(value, bytes) and (size is None or len(value) == size)


@dataclass(frozen=True, slots=True)
class TxBody:
    """What a transaction asks: one contract method call, signed by `sender`'s key."""

    chain: str
    sender: bytes
    contract: str
    method: str
    args: dict[str, Any]
    nonce: int
    valid_until: int

    FIELDS = ("chain", "from", "contract", "method", "args", "nonce", "valid_until")

    def to_value(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "from": self.sender,
            "contract": self.contract,
            "method": self.method,
            "args": self.args,
            "nonce": self.nonce,
            "valid_until": self.valid_until,
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> TxBody:
        # Every tx a node is sent passes here: the checks are written out, not called.
        if not isinstance(value, dict):
            raise DecodeError("BAD_FIELD", "tx body must be a map")
        if value.keys() != _BODY_KEYS:
            raise DecodeError("BAD_FIELD", f"tx body must have exactly the fields {_BODY_FIELDS}")
        chain, sender, contract = value["chain"], value["from"], value["contract"]
        method, args, nonce, valid_until = (
            value["method"], value["args"], value["nonce"], value["valid_until"]
        )  # fmt: skip
        if not isinstance(chain, str):
            raise DecodeError("BAD_FIELD", "chain must be a string")
        if not (isinstance(sender, bytes) and len(sender) == 32):
            raise DecodeError("BAD_FIELD", "from must be 32 bytes")
        if not isinstance(contract, str):
            raise DecodeError("BAD_FIELD", "contract must be a string")
        if not isinstance(method, str):
            raise DecodeError("BAD_FIELD", "method must be a string")
        if not isinstance(args, dict):
            raise DecodeError("BAD_FIELD", "args must be a map")
        if not (_is_int(nonce) and nonce >= 0):
            raise DecodeError("BAD_FIELD", "nonce must be a u64")
        if not (_is_int(valid_until) and valid_until >= 0):
            raise DecodeError("BAD_FIELD", "bad valid_until")
        return TxBody(chain, sender, contract, method, args, nonce, valid_until)

    @staticmethod
    def decode(data: bytes) -> TxBody:
        return TxBody.from_value(codec.decode(data))


_BODY_KEYS = frozenset(TxBody.FIELDS)
_BODY_FIELDS = sorted(TxBody.FIELDS)


def tx_id(body_bytes: bytes) -> bytes:
    """A tx's id (DESIGN.md §5): sha256 of its encoded body, the one place it is computed."""
    return sha256(body_bytes)


def canonical_tx_id(data: bytes) -> bytes | None:
    """The id of a canonically encoded signed tx, without decoding it; None for any other
    bytes (whose id, if they have one, only the full decoder can tell)."""
    parts = canonical_tx_parts(data)
    return None if parts is None else tx_id(parts[0])


def tx_signing_digest(tx_id: bytes) -> bytes:
    return tagged_hash(TX_TAG, tx_id)


@dataclass(frozen=True, slots=True)
class SignedTx:
    """`{"body": bin(encoded body), "sig": bin(64)}`; `id` is sha256 of the encoded body."""

    body_bytes: bytes
    sig: bytes
    body: TxBody = field(compare=False)
    id: bytes = field(compare=False)
    raw: bytes = field(default=b"", compare=False)  # the encoding, when known: saves re-encoding

    @staticmethod
    def create(body: TxBody, key: Ed25519Key) -> SignedTx:
        body_bytes = body.encode()
        body_id = tx_id(body_bytes)
        sig = key.sign(tx_signing_digest(body_id))
        raw = codec.encode({"body": body_bytes, "sig": sig})
        return SignedTx(body_bytes, sig, body, body_id, raw)

    def encode(self) -> bytes:
        return self.raw or codec.encode({"body": self.body_bytes, "sig": self.sig})

    @staticmethod
    def decode(data: bytes) -> SignedTx:
        parts = canonical_tx_parts(data)
        if parts is not None:
            body_bytes, sig = parts
            return SignedTx(body_bytes, sig, TxBody.decode(body_bytes), tx_id(body_bytes), data)
        outer = _map(codec.decode(data), ("body", "sig"), "signed tx")
        _require(_is_bytes(outer["body"]), "body must be bytes")
        _require(_is_bytes(outer["sig"], 64), "sig must be 64 bytes")
        body = TxBody.decode(outer["body"])
        return SignedTx(outer["body"], outer["sig"], body, tx_id(outer["body"]), bytes(data))

    @staticmethod
    def id_of(data: bytes) -> bytes:
        """The id of an encoded signed tx taken from a committed block, without decoding or
        checking its body (listing a block's tx ids): those bytes were checked before commit."""
        found = canonical_tx_id(data)
        if found is None:
            raise DecodeError("BAD_FIELD", "not a signed tx")
        return found

    @staticmethod
    def decode_certified(data: bytes) -> SignedTx:
        """Decode a tx of a certified block without the canonical re-encoding and field checks
        of `decode`: the quorum that certified the block decoded it with them, so its bytes are
        canonical and plain msgpack gives the same values (node/runtime/replay.py says why that
        is safe). Bytes that are not even a signed tx's shape still fail."""
        try:
            outer = msgpack.unpackb(data, raw=False, strict_map_key=True)
            value = msgpack.unpackb(outer["body"], raw=False)
            body = TxBody(*(value[name] for name in TxBody.FIELDS))
            return SignedTx(outer["body"], outer["sig"], body, tx_id(outer["body"]), data)
        except (KeyError, TypeError, ValueError, msgpack.UnpackException) as error:
            raise DecodeError("BAD_ENCODING", f"not a signed tx: {error}") from None

    def signature_valid(self) -> bool:
        return ed25519_verify(self.body.sender, tx_signing_digest(self.id), self.sig)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a tx failed: a stable `code`, a `message` for people, and `details` for scripts.

    `details` holds the raw values the message shows in people's units (minor units, block-time
    milliseconds); it is left out of the encoding when empty, so receipts without it encode
    exactly as before it existed."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            value["details"] = dict(self.details)
        return value

    @staticmethod
    def from_value(value: Any) -> ErrorInfo:
        fields = (
            ("code", "message", "details")
            if isinstance(value, dict) and "details" in value
            else ("code", "message")
        )
        error = _map(value, fields, "receipt error")
        details = error.get("details", {})
        _require(
            isinstance(details, dict) and bool(details) == ("details" in error),
            "receipt error details must be a non-empty map",
        )
        return ErrorInfo(str(error["code"]), str(error["message"]), dict(details))


@dataclass(frozen=True, slots=True)
class Receipt:
    """The outcome of one ordered transaction; failed ones are kept so failures are auditable."""

    tx: bytes
    height: int
    index: int
    status: str  # "ok" | "failed"
    error: ErrorInfo | None
    events: tuple[dict[str, Any], ...]
    result: Any

    FIELDS = ("tx", "height", "index", "status", "error", "events", "result")

    def to_value(self) -> dict[str, Any]:
        return {
            "tx": self.tx,
            "height": self.height,
            "index": self.index,
            "status": self.status,
            "error": None if self.error is None else self.error.to_value(),
            "events": list(self.events),
            "result": self.result,
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def decode(data: bytes) -> Receipt:
        value = _map(codec.decode(data), Receipt.FIELDS, "receipt")
        _require(_is_bytes(value["tx"], 32), "receipt tx must be 32 bytes")
        _require(value["status"] in ("ok", "failed"), "bad receipt status")
        _require(isinstance(value["events"], list), "events must be a list")
        error = value["error"]
        error_info = None if error is None else ErrorInfo.from_value(error)
        return Receipt(
            tx=value["tx"],
            height=value["height"],
            index=value["index"],
            status=value["status"],
            error=error_info,
            events=tuple(value["events"]),
            result=value["result"],
        )


@dataclass(frozen=True, slots=True)
class Header:
    chain: str
    height: int
    prev: bytes
    time_ms: int
    proposer: bytes
    view: int
    txs_root: bytes
    receipts_root: bytes
    state_root: bytes
    validators_hash: bytes

    FIELDS = (
        "chain",
        "height",
        "prev",
        "time_ms",
        "proposer",
        "view",
        "txs_root",
        "receipts_root",
        "state_root",
        "validators_hash",
    )

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Header.FIELDS}

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    def hash(self) -> bytes:
        return sha256(self.encode())

    @staticmethod
    def from_value(value: Any) -> Header:
        fields = _map(value, Header.FIELDS, "header")
        _require(isinstance(fields["chain"], str), "header chain must be a string")
        for name in ("height", "time_ms", "view"):
            _require(_is_int(fields[name]) and fields[name] >= 0, f"header {name} must be a u64")
        for name in ("prev", "proposer", "txs_root", "receipts_root", "state_root"):
            _require(_is_bytes(fields[name], 32), f"header {name} must be 32 bytes")
        _require(_is_bytes(fields["validators_hash"], 32), "validators_hash must be 32 bytes")
        return Header(**fields)

    @staticmethod
    def decode(data: bytes) -> Header:
        return Header.from_value(codec.decode(data))


def commit_digest(chain: str, height: int, block_hash: bytes) -> bytes:
    """What every validator BLS-signs to commit a block (DESIGN.md §6)."""
    return tagged_hash(
        COMMIT_TAG, codec.encode({"chain": chain, "height": height, "block_hash": block_hash})
    )


def signer_bitmap(indexes: list[int] | set[int] | frozenset[int], size: int) -> bytes:
    bitmap = bytearray((size + 7) // 8)
    for index in indexes:
        bitmap[index // 8] |= 1 << (index % 8)
    return bytes(bitmap)


def bitmap_indexes(bitmap: bytes, size: int) -> list[int]:
    return [i for i in range(min(size, len(bitmap) * 8)) if bitmap[i // 8] >> (i % 8) & 1]


@dataclass(frozen=True, slots=True)
class Certificate:
    """2f+1 validators' commit signatures on one block, aggregated."""

    height: int
    view: int
    block_hash: bytes
    signers: bytes
    agg_sig: bytes

    FIELDS = ("height", "view", "block_hash", "signers", "agg_sig")

    def to_value(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in Certificate.FIELDS}

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Certificate:
        fields = _map(value, Certificate.FIELDS, "certificate")
        _require(_is_int(fields["height"]) and _is_int(fields["view"]), "bad certificate numbers")
        _require(_is_bytes(fields["block_hash"], 32), "block_hash must be 32 bytes")
        _require(_is_bytes(fields["signers"]), "signers must be bytes")
        _require(_is_bytes(fields["agg_sig"], 96), "agg_sig must be 96 bytes")
        return Certificate(**fields)

    @staticmethod
    def decode(data: bytes) -> Certificate:
        return Certificate.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class Block:
    """A header and the encoded signed transactions it orders."""

    header: Header
    txs: tuple[bytes, ...]

    def encode(self) -> bytes:
        return codec.encode({"header": self.header.to_value(), "txs": list(self.txs)})

    @staticmethod
    def decode(data: bytes) -> Block:
        value = _map(codec.decode(data), ("header", "txs"), "block")
        _require(isinstance(value["txs"], list), "txs must be a list")
        _require(all(_is_bytes(tx) for tx in value["txs"]), "txs must be bytes")
        return Block(Header.from_value(value["header"]), tuple(value["txs"]))

    @property
    def hash(self) -> bytes:
        return self.header.hash()
