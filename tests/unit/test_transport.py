"""The P2P envelope: every kind round-trips, and any garbage is a DecodeError (never a crash),
counted against the peer that sent it."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import DecodeError
from ledger.genesis import genesis_from_value
from network.envelope import (
    CONSENSUS,
    TXS,
    BlocksPiece,
    FetchRequest,
    decode_blocks,
    decode_fetch,
    decode_txs,
    encode_blocks,
    encode_fetch,
    encode_txs,
)
from node.ops.devnet import make_devnet
from node.runtime.transport import PeerTransport

DEVNET = make_devnet(4, seed=b"transport-tests")
GENESIS = genesis_from_value(DEVNET.genesis)


def test_each_kind_round_trips() -> None:
    assert decode_txs(encode_txs([b"a", b"bc"])[1:]) == [b"a", b"bc"]
    request = FetchRequest(7, 3, 40)
    assert decode_fetch(encode_fetch(request)[1:]) == request
    piece = BlocksPiece(7, ((b"block", b"cert"),), True)
    assert decode_blocks(encode_blocks(piece)[1:]) == piece


@pytest.mark.parametrize(
    "decode, body",
    [
        (decode_txs, b"\xc1"),
        (decode_txs, msgpack.packb([1, 2])),
        (decode_txs, msgpack.packb({"a": b"x"})),
        (decode_fetch, msgpack.packb({"id": 1, "from": 0, "to": 3})),
        (decode_fetch, msgpack.packb({"id": 1, "from": 9, "to": 3})),
        (decode_fetch, msgpack.packb({"id": -1, "from": 1, "to": 3})),
        (decode_fetch, msgpack.packb({"id": 1, "from": 1, "to": 3, "x": 0})),
        (decode_blocks, msgpack.packb({"id": 1, "blocks": [b"x"], "end": True})),
        (decode_blocks, msgpack.packb({"id": 1, "blocks": [], "end": 1})),
        (decode_blocks, b""),
    ],
)
def test_malformed_bodies_are_decode_errors(decode: object, body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(body)  # type: ignore[operator]


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_decode_error(body: bytes) -> None:
    for decode in (decode_txs, decode_fetch, decode_blocks):
        try:
            decode(body)
        except DecodeError:
            pass


def test_bad_payloads_cost_the_peer_and_good_ones_reach_their_handler() -> None:
    transport = PeerTransport(GENESIS, 0, DEVNET.validators[0].ed25519, "127.0.0.1:0")
    seen: list[tuple[int, bytes]] = []
    transport.on(CONSENSUS, lambda peer, body: seen.append((peer, bytes(body))))
    transport.on(TXS, lambda peer, body: decode_txs(body) and None)
    for payload in (b"", b"Z123", b"T\xc1", b"T" + msgpack.packb([3])):
        transport._dispatch(2, payload)
    transport._dispatch(1, b"Cenvelope")
    transport._dispatch(1, encode_txs([b"tx"]))
    assert transport.faults == {2: 4}
    assert seen == [(1, b"envelope")]
    assert transport.received["txs"] == 3 and transport.received["consensus"] == 1


def test_decode_errors_carry_the_code_and_the_peer_fault_reads_the_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DecodeError takes (code, message) like every TallyError: a peer fault names the problem,
    not the code (the first release logged "txs: BAD_FIELD")."""
    with pytest.raises(DecodeError) as raised:
        decode_txs(msgpack.packb([1, 2]))
    assert raised.value.code == "BAD_FIELD"
    assert raised.value.message == "tx gossip must be a list of bytes"
    transport = PeerTransport(GENESIS, 0, DEVNET.validators[0].ed25519, "127.0.0.1:0")
    transport.on(TXS, lambda peer, body: decode_txs(body) and None)
    with caplog.at_level("WARNING"):
        transport._dispatch(2, b"T" + msgpack.packb([3]))
    assert "txs: tx gossip must be a list of bytes" in caplog.text
