"""One peer connection as a sans-IO state machine: framing, then handshake, then session.

In the manner of h11: the socket owner calls `receive_data(bytes)`, drains `next_event()` and
writes whatever `data_to_send()` / `send_message()` return. Nothing here reads a socket,
sleeps or looks at a clock, so every path — a split frame, a forged box, a peer that answers
out of turn — is tested with plain byte strings.

Inside a session each frame is a sealed, canonical msgpack envelope:
`{"k": "msg", "d": bin}` carries the node's opaque payload; `{"k": "ping"}` keeps an idle
connection alive (so a dead peer is noticed by silence) and is never shown to the node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger import codec
from ledger.crypto import Ed25519Key
from ledger.errors import DecodeError
from network.errors import ProtocolError
from network.framing import FrameDecoder, encode_frame
from network.handshake import MAX_HANDSHAKE_FRAME, Handshake, HandshakeResult, Role
from network.session import MAC_SIZE, Session

# Bytes the envelope adds around a payload: fixmap(1) + "d"(2) + bin32 header(5) + "k"(2) +
# "msg"(4) = 14, rounded up. The node may send payloads up to max_frame_bytes minus this.
ENVELOPE_OVERHEAD = 16
_PING = codec.encode({"k": "ping"})


@dataclass(frozen=True, slots=True)
class Established:
    """The handshake completed: the peer proved it holds `peer_public`."""

    peer_public: bytes
    session_id: bytes  # the transcript hash, identical on both ends


@dataclass(frozen=True, slots=True)
class MessageReceived:
    payload: bytes


Event = Established | MessageReceived


class Connection:
    """The protocol state of one TCP connection between two validators."""

    def __init__(
        self,
        role: Role,
        chain: str,
        key: Ed25519Key,
        is_allowed: Callable[[bytes], bool],
        max_frame_bytes: int,
        expected_peer: bytes | None = None,
    ) -> None:
        if max_frame_bytes <= MAC_SIZE + ENVELOPE_OVERHEAD:
            raise ValueError("max_frame_bytes is too small to carry any message")
        self.role = role
        self.max_frame_bytes = max_frame_bytes
        self._handshake = Handshake(role, chain, key, is_allowed, expected_peer)
        self._decoder = FrameDecoder(MAX_HANDSHAKE_FRAME)
        self._session: Session | None = None
        self._result: HandshakeResult | None = None
        self._failure: ProtocolError | None = None
        self._outbox = bytearray()
        if role is Role.INITIATOR:
            self._outbox += encode_frame(self._handshake.start())

    @property
    def established(self) -> bool:
        return self._session is not None

    @property
    def result(self) -> HandshakeResult:
        """The handshake's outcome (peer key, session id); raises before it completes."""
        return self._handshake.result

    @property
    def peer_claimed(self) -> bytes | None:
        """The key the peer claims, proved or not yet; for logging refusals."""
        return self._handshake.peer_claimed

    @property
    def peer_proved(self) -> bytes | None:
        """The peer's key once it signed a handshake message (see `Handshake.peer_proved`)."""
        return self._handshake.peer_proved

    @property
    def max_message_bytes(self) -> int:
        """The largest payload `send_message` accepts."""
        return self.max_frame_bytes - MAC_SIZE - ENVELOPE_OVERHEAD

    def data_to_send(self) -> bytes:
        """Handshake bytes waiting to be written (empty once the handshake is over)."""
        data = bytes(self._outbox)
        self._outbox.clear()
        return data

    def receive_data(self, data: bytes) -> None:
        """Accept bytes read from the socket; call `next_event` until it returns None."""
        self._decoder.feed(data)

    def next_event(self) -> Event | None:
        """The next protocol event, None when more bytes are needed; raises ProtocolError."""
        if self._failure is not None:
            raise self._failure
        try:
            return self._next_event()
        except ProtocolError as exc:
            self._failure = exc
            raise

    def _next_event(self) -> Event | None:
        while (frame := self._decoder.next_frame()) is not None:
            session = self._session
            if session is None:
                reply = self._handshake.receive(frame)
                if reply is not None:
                    self._outbox += encode_frame(reply)
                if self._handshake.complete:
                    return self._establish()
                continue
            payload = _open(session, frame)
            if payload is not None:
                return MessageReceived(payload)
        return None

    def _establish(self) -> Established:
        result = self._handshake.result
        self._result = result
        self._session = Session(result.send_key, result.receive_key)
        # Only now may the peer send frames as large as the chain allows.
        self._decoder.max_frame_bytes = self.max_frame_bytes
        return Established(result.peer_public, result.transcript_hash)

    def send_message(self, payload: bytes) -> bytes:
        """The bytes to write to deliver `payload` to the peer (one sealed frame)."""
        if len(payload) > self.max_message_bytes:
            raise ValueError(
                f"message of {len(payload)} bytes exceeds the limit of {self.max_message_bytes}"
            )
        return self._seal(codec.encode({"k": "msg", "d": bytes(payload)}))

    def send_ping(self) -> bytes:
        """The bytes of one keepalive frame."""
        return self._seal(_PING)

    def _seal(self, plaintext: bytes) -> bytes:
        if self._session is None:
            raise ProtocolError("NOT_ESTABLISHED", "no session before the handshake completes")
        return encode_frame(self._session.seal(plaintext), self.max_frame_bytes)


def _open(session: Session, frame: bytes) -> bytes | None:
    """Open one sealed frame; the node's payload, or None for a keepalive."""
    plaintext = session.open(frame)
    try:
        envelope = codec.decode(plaintext)
    except DecodeError as exc:
        raise ProtocolError("BAD_ENVELOPE", f"sealed frame is not canonical: {exc}") from None
    if envelope == {"k": "ping"}:
        return None
    if (
        isinstance(envelope, dict)
        and envelope.keys() == {"k", "d"}
        and envelope["k"] == "msg"
        and isinstance(envelope["d"], bytes)
    ):
        payload: bytes = envelope["d"]
        return payload
    raise ProtocolError("BAD_ENVELOPE", "sealed frame is not a message or a ping")
