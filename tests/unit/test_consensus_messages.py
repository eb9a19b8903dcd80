"""Consensus messages: one canonical encoding each, signed envelopes, malformed input refused."""

from __future__ import annotations

import pytest

from consensus.crypto import ValidatorCrypto
from consensus.messages import (
    Checkpoint,
    CheckpointProof,
    Commit,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedMessage,
    StableCheckpoint,
    Status,
    Suspect,
    ViewChange,
    decode_message,
    encode_message,
)
from consensus.txids import block_tx_ids, tx_id
from ledger import codec
from ledger.crypto import BlsKey, Ed25519Key
from ledger.errors import DecodeError
from ledger.hashing import sha256
from ledger.merkle import merkle_root
from ledger.types import Block, Header, SignedTx, TxBody

CHAIN = "test-chain"
ED = [Ed25519Key.from_seed(sha256(b"ed%d" % i)) for i in range(4)]
BLS = [BlsKey.from_secret(1000 + i) for i in range(4)]


def crypto(index: int) -> ValidatorCrypto:
    return ValidatorCrypto(ED[index], BLS[index], [k.public for k in ED], [k.public for k in BLS])


def block(height: int = 1, ntx: int = 2) -> Block:
    key = ED[0]
    txs = tuple(
        SignedTx.create(
            TxBody(CHAIN, key.public, "cash", "transfer", {"i": i}, i, 99), key
        ).encode()
        for i in range(ntx)
    )
    header = Header(
        CHAIN,
        height,
        bytes(32),
        1000,
        ED[0].public,
        0,
        merkle_root(txs),
        bytes(32),
        bytes(32),
        bytes(32),
    )
    return Block(header, txs)


def signed(index: int, message: object) -> SignedMessage:
    return SignedMessage.create(CHAIN, index, message, crypto(index).sign_message)  # type: ignore[arg-type]


def all_messages() -> list[object]:
    b = block()
    prepares = tuple(signed(i, Prepare(0, 1, b.hash)) for i in range(3))
    votes = tuple(signed(i, Checkpoint(8, b.hash)) for i in range(3))
    proof = CheckpointProof(8, b.hash, votes)
    change = ViewChange(1, proof, (PreparedProof(0, 1, b.hash, prepares),))
    return [
        PrePrepare(0, 1, b),
        Prepare(0, 1, b.hash),
        Commit(0, 1, b.hash, bytes(96)),
        Checkpoint(8, b.hash),
        change,
        NewView(1, (signed(1, change),)),
        Status(3, False, 10, 8),
        StableCheckpoint(proof),
        Suspect(4),
    ]


@pytest.mark.parametrize("message", all_messages(), ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_its_canonical_encoding(message: object) -> None:
    data = encode_message(message)  # type: ignore[arg-type]
    again = decode_message(data)
    assert encode_message(again) == data
    envelope = signed(2, message)
    decoded = SignedMessage.decode(envelope.encode())
    assert decoded == envelope
    assert decoded.message == again


def test_envelope_signature_binds_chain_and_sender() -> None:
    envelope = signed(1, Prepare(0, 1, bytes(32)))
    c = crypto(0)
    assert c.verify_message(1, envelope.digest(CHAIN), envelope.sig)
    assert not c.verify_message(1, envelope.digest("other-chain"), envelope.sig)
    moved = SignedMessage(2, envelope.payload, envelope.sig, envelope.message)
    assert not c.verify_message(2, moved.digest(CHAIN), moved.sig)


@pytest.mark.parametrize(
    "value",
    [
        {"type": "prepare", "view": 0, "height": 1},  # missing field
        {"type": "prepare", "view": -1, "height": 1, "hash": bytes(32)},
        {"type": "prepare", "view": 0, "height": 1, "hash": bytes(31)},
        {"type": "prepare", "view": True, "height": 1, "hash": bytes(32)},
        {"type": "commit", "view": 0, "height": 1, "hash": bytes(32), "bls_sig": bytes(95)},
        {"type": "teleport", "view": 0},
        {"type": "status", "view": 0, "installed": 1, "height": 0, "stable": 0},
        {"type": "prepare", "view": 0, "height": 1, "hash": bytes(32), "extra": 1},
        [1, 2, 3],
    ],
)
def test_malformed_messages_are_refused_with_decode_error(value: object) -> None:
    with pytest.raises(DecodeError):
        decode_message(codec.encode(value))


def test_non_canonical_and_garbage_bytes_are_refused() -> None:
    data = encode_message(Prepare(0, 1, bytes(32)))
    with pytest.raises(DecodeError):
        decode_message(data + b"\x00")
    with pytest.raises(DecodeError):
        SignedMessage.decode(b"\xc1garbage")
    # An int that msgpack could write shorter is not canonical.
    with pytest.raises(DecodeError):
        decode_message(data.replace(b"\xa4view\x00", b"\xa4view\xcc\x00"))


def test_nested_envelopes_may_only_hold_the_expected_votes() -> None:
    b = block()
    sneaky = signed(0, Commit(0, 1, b.hash, bytes(96)))  # a commit where a prepare belongs
    value = {"view": 0, "height": 1, "hash": b.hash, "prepares": [sneaky.to_value()]}
    with pytest.raises(DecodeError):
        PreparedProof.from_value(value)
    nested = NewView(2, (signed(1, NewView(1, ())),))
    with pytest.raises(DecodeError):
        decode_message(codec.encode(nested.to_value()))


def test_pre_prepare_height_must_match_its_block() -> None:
    value = PrePrepare(0, 1, block(height=1)).to_value()
    value["height"] = 2
    with pytest.raises(DecodeError):
        decode_message(codec.encode(value))


def test_tx_ids_are_read_without_a_full_decode_and_match_signed_tx_ids() -> None:
    b = block(ntx=5)
    assert block_tx_ids(b.txs) == tuple(SignedTx.decode(raw).id for raw in b.txs)
    assert tx_id(b"not a tx") is None
