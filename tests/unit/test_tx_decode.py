"""`SignedTx.decode` reads a canonical signed tx by position (issue 19: most of a node's txs
take that path); whatever the bytes, it must answer exactly as the general decoder does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import Ed25519Key
from ledger.errors import DecodeError
from ledger.types import SignedTx, TxBody

KEY = Ed25519Key.from_seed(bytes(range(32)))


def general(data: bytes) -> tuple[bytes, bytes, TxBody]:
    """The general path, written out: canonical decode of the map, then each field."""
    outer = codec.decode(data)
    if not isinstance(outer, dict) or set(outer) != {"body", "sig"}:
        raise DecodeError("BAD_FIELD", "signed tx must be a map")
    if not isinstance(outer["body"], bytes) or not isinstance(outer["sig"], bytes):
        raise DecodeError("BAD_FIELD", "body and sig must be bytes")
    if len(outer["sig"]) != 64:
        raise DecodeError("BAD_FIELD", "sig must be 64 bytes")
    return outer["body"], outer["sig"], TxBody.decode(outer["body"])


def outcome(decoder: Any, data: bytes) -> tuple[str, Any]:
    try:
        value = decoder(data)
    except DecodeError as error:
        return "refused", error.code
    if isinstance(value, SignedTx):
        return "decoded", (value.body_bytes, value.sig, value.body)
    return "decoded", value


def signed(memo_size: int) -> bytes:
    body = TxBody("tally-dev", KEY.public, "cash", "transfer", {"memo": "m" * memo_size}, 7, 90)
    return SignedTx.create(body, KEY).encode()


def wrapped(body: Any, sig: Any) -> bytes:
    return codec.encode({"body": body, "sig": sig})


# Bodies on both sides of each bin length boundary (255/256 and 65535/65536 bytes).
SIZES = [0, 150, 190, 200, 300, 65_400, 65_500, 66_000]


@pytest.mark.parametrize("memo_size", SIZES)
def test_a_canonical_tx_of_any_size_decodes_as_the_general_path_does(memo_size: int) -> None:
    data = signed(memo_size)
    tx = SignedTx.decode(data)
    assert outcome(SignedTx.decode, data) == outcome(general, data)
    assert tx.encode() == data and tx.signature_valid()


def non_shortest(data: bytes) -> list[bytes]:
    """The same value with the body's length written wider than needed: not canonical."""
    outer = codec.decode(data)
    body, tail = outer["body"], b"\xa3sig\xc4\x40" + outer["sig"]
    wider = [(b"\xc5", 2)] if len(body) < 256 else []
    return [
        b"\x82\xa4body" + marker + len(body).to_bytes(width, "big") + body + tail
        for marker, width in [*wider, (b"\xc6", 4)]
    ]


@pytest.mark.parametrize("memo_size", [0, 300])
def test_a_non_shortest_length_is_refused_as_non_canonical(memo_size: int) -> None:
    for data in non_shortest(signed(memo_size)):
        assert outcome(SignedTx.decode, data) == outcome(general, data)
        assert outcome(SignedTx.decode, data) == ("refused", "NON_CANONICAL")


def test_shapes_that_are_not_a_signed_tx_are_refused_alike() -> None:
    body = codec.decode(signed(10))["body"]
    cases = [
        wrapped(body, b"\x01" * 63),
        wrapped(body, b"\x01" * 65),
        wrapped(body, "not bytes"),
        wrapped("text", b"\x01" * 64),
        codec.encode({"body": body, "sig": b"\x01" * 64, "x": 1}),
        codec.encode({"body": body}),
        codec.encode([body, b"\x01" * 64]),
        signed(10) + b"\x00",
        signed(10)[:-1],
        b"",
        b"\x82\xa4body",
    ]
    for data in cases:
        assert outcome(SignedTx.decode, data) == outcome(general, data), data[:16]
        assert outcome(SignedTx.decode, data)[0] == "refused"


@given(st.integers(0, 400), st.integers(0, 10_000), st.integers(0, 255))
def test_property_a_changed_byte_answers_as_the_general_path(
    memo_size: int, where: int, byte: int
) -> None:
    data = bytearray(signed(memo_size))
    data[where % len(data)] = byte
    changed = bytes(data)
    assert outcome(SignedTx.decode, changed) == outcome(general, changed)


@given(st.integers(0, 400), st.integers(0, 10_000))
def test_property_a_cut_tx_answers_as_the_general_path(memo_size: int, where: int) -> None:
    data = signed(memo_size)
    cut = data[: where % len(data)]
    assert outcome(SignedTx.decode, cut) == outcome(general, cut)


@given(st.binary(max_size=120))
def test_property_arbitrary_bytes_after_the_prefix_answer_as_the_general_path(
    rest: bytes,
) -> None:
    data = b"\x82\xa4body" + rest
    assert outcome(SignedTx.decode, data) == outcome(general, data)


@pytest.mark.parametrize("memo_size", [0, 300])
def test_each_byte_changed_answers_as_the_general_path(memo_size: int) -> None:
    data = signed(memo_size)
    for where in range(len(data)):
        changed = data[:where] + bytes([(data[where] + 1) % 256]) + data[where + 1 :]
        assert outcome(SignedTx.decode, changed) == outcome(general, changed), where
