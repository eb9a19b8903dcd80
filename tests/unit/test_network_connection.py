"""A whole connection — framing, handshake, session, envelope — between two in-memory ends."""

from __future__ import annotations

import pytest

from ledger import codec
from ledger.crypto import Ed25519Key
from network.connection import Connection, Established, Event, MessageReceived
from network.errors import FrameError, ProtocolError, SessionError
from network.framing import encode_frame
from network.handshake import MAX_HANDSHAKE_FRAME, Role

CHAIN = "tally-test"
ALICE = Ed25519Key.from_seed(b"\x01" * 32)
BOB = Ed25519Key.from_seed(b"\x02" * 32)
VALIDATORS = frozenset({ALICE.public, BOB.public})
MAX_FRAME = 4096


def pair() -> tuple[Connection, Connection]:
    def allowed(public: bytes) -> bool:
        return public in VALIDATORS

    alice = Connection(Role.INITIATOR, CHAIN, ALICE, allowed, MAX_FRAME, BOB.public)
    bob = Connection(Role.RESPONDER, CHAIN, BOB, allowed, MAX_FRAME)
    return alice, bob


def deliver(receiver: Connection, data: bytes) -> list[Event]:
    receiver.receive_data(data)
    events: list[Event] = []
    while (event := receiver.next_event()) is not None:
        events.append(event)
    return events


def established_pair() -> tuple[Connection, Connection]:
    alice, bob = pair()
    assert deliver(bob, alice.data_to_send()) == []
    [alice_event] = deliver(alice, bob.data_to_send())
    [bob_event] = deliver(bob, alice.data_to_send())
    assert isinstance(alice_event, Established) and isinstance(bob_event, Established)
    assert alice_event.peer_public == BOB.public and bob_event.peer_public == ALICE.public
    assert alice_event.session_id == bob_event.session_id
    return alice, bob


def test_handshake_then_messages_flow_both_ways() -> None:
    alice, bob = established_pair()
    assert deliver(bob, alice.send_message(b"prepare")) == [MessageReceived(b"prepare")]
    assert deliver(alice, bob.send_message(b"commit")) == [MessageReceived(b"commit")]
    assert alice.data_to_send() == bob.data_to_send() == b""


def test_messages_right_behind_the_handshake_in_one_read_are_not_lost() -> None:
    alice, bob = pair()
    deliver(bob, alice.data_to_send())
    deliver(alice, bob.data_to_send())
    # The initiator is established first and may write at once, in the same segment.
    burst = alice.data_to_send() + alice.send_message(b"first") + alice.send_message(b"second")
    events = deliver(bob, burst)
    assert isinstance(events[0], Established)
    assert events[1:] == [MessageReceived(b"first"), MessageReceived(b"second")]


def test_stream_split_byte_by_byte_delivers_the_same_events() -> None:
    alice, bob = established_pair()
    stream = b"".join(alice.send_message(bytes([n]) * n) for n in range(1, 20))
    events: list[Event] = []
    for index in range(len(stream)):
        events += deliver(bob, stream[index : index + 1])
    assert events == [MessageReceived(bytes([n]) * n) for n in range(1, 20)]


def test_pings_keep_alive_but_are_not_shown_to_the_node() -> None:
    alice, bob = established_pair()
    assert deliver(bob, alice.send_ping() + alice.send_message(b"m") + alice.send_ping()) == [
        MessageReceived(b"m")
    ]


def test_largest_message_fits_in_the_largest_frame() -> None:
    alice, bob = established_pair()
    payload = b"x" * alice.max_message_bytes
    frame = alice.send_message(payload)
    assert len(frame) <= 4 + MAX_FRAME
    assert deliver(bob, frame) == [MessageReceived(payload)]
    with pytest.raises(ValueError):
        alice.send_message(payload + b"x")


def test_garbage_frame_after_handshake_fails_the_connection_for_good() -> None:
    alice, bob = established_pair()
    with pytest.raises(SessionError):
        deliver(bob, encode_frame(b"\x00" * 40))
    # The stream is no longer trustworthy: even a valid frame now fails.
    with pytest.raises(SessionError):
        deliver(bob, alice.send_message(b"valid"))


def test_oversize_frame_header_fails_the_connection() -> None:
    _, bob = established_pair()
    with pytest.raises(FrameError):
        deliver(bob, (MAX_FRAME + 1).to_bytes(4, "big"))


def test_unauthenticated_peer_gets_only_small_frames() -> None:
    _, bob = pair()
    with pytest.raises(FrameError) as error:
        deliver(bob, (MAX_HANDSHAKE_FRAME + 1).to_bytes(4, "big"))
    assert error.value.code == "FRAME_TOO_LARGE"


def test_sealed_frame_with_a_foreign_envelope_is_refused() -> None:
    alice, bob = established_pair()
    session = alice._session
    assert session is not None
    sealed = encode_frame(session.seal(codec.encode({"k": "msg", "d": "not bytes"})))
    with pytest.raises(ProtocolError) as error:
        deliver(bob, sealed)
    assert error.value.code == "BAD_ENVELOPE"


def test_nothing_can_be_sent_before_the_handshake() -> None:
    alice, _ = pair()
    with pytest.raises(ProtocolError):
        alice.send_message(b"too early")
