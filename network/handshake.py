"""Mutual authentication of two validators and the keys of their session, as a state machine.

Three messages, each one canonical msgpack map carried in one frame:

    initiator -> responder   hello   {v, kind, chain, eph, static, to, sig}
    responder -> initiator   accept  {v, kind, chain, eph, static, sig}
    initiator -> responder   confirm {v, kind, sig}

`eph` are X25519 keys generated afresh for every handshake, `static` the genesis Ed25519 keys.
Both sides sign the same transcript — chain id, both ephemeral keys, both static keys — under
`ledger.hashing.HANDSHAKE_TAG`, each with its role in the signed digest. Hence:

- a signature is worthless in any other handshake (the other side's ephemeral key is fresh),
  so recorded messages cannot be replayed;
- the responder's signature cannot be reflected back as an initiator's (the role differs);
- a validator cannot relay someone else's handshake under its own name (both identities are
  signed, so no identity misbinding);
- another chain's validators, running the same code, fail on the chain id.

The hello is signed too, by the initiator's static key over the chain, its ephemeral key and
`to`, the responder it dialed. That proves nothing about freshness (the confirm does), but it
lets the responder tell a validator from a flood after one message: an unsigned hello naming a
validator's public key costs an attacker nothing, a signed one needs the key — or a recording
of that validator's hello to this very responder, which only an on-path attacker has, and an
on-path attacker can drop the traffic anyway. The admission policy (`admission.py`) protects
proved connections from being evicted by unproved ones; the responder checks the signature
before it spends a key pair and a signature of its own.

Session keys come from the X25519 shared secret through HKDF-SHA256 salted with the transcript
hash, one key per direction, so each side's frames can only be opened by the other side.
No sockets and no clock here: the asyncio layer frames the bytes and enforces the timeout.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.public

from ledger import codec
from ledger.crypto import ED25519_PUBLIC_SIZE, ED25519_SIGNATURE_SIZE, Ed25519Key, ed25519_verify
from ledger.errors import DecodeError
from ledger.hashing import HANDSHAKE_TAG, tagged_hash
from network.errors import HandshakeError

# 2: the hello is signed and names its responder (1 was unsigned; the two do not interoperate).
VERSION = 2
X25519_PUBLIC_SIZE = 32
SESSION_KEY_SIZE = 32
# Handshake messages are ~200 bytes; an unauthenticated peer gets no bigger frames than this.
MAX_HANDSHAKE_FRAME = 1024

_HELLO_FIELDS = frozenset({"v", "kind", "chain", "eph", "static", "to", "sig"})
_ACCEPT_FIELDS = frozenset({"v", "kind", "chain", "eph", "static", "sig"})
_CONFIRM_FIELDS = frozenset({"v", "kind", "sig"})


class Role(enum.Enum):
    INITIATOR = "initiator"  # dialed the connection
    RESPONDER = "responder"  # accepted it


class _State(enum.Enum):
    START = enum.auto()
    AWAIT_ACCEPT = enum.auto()  # initiator sent hello
    AWAIT_HELLO = enum.auto()  # responder, nothing received yet
    AWAIT_CONFIRM = enum.auto()  # responder sent accept
    DONE = enum.auto()
    FAILED = enum.auto()


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """Who the peer proved to be, and the keys of the session that follows."""

    peer_public: bytes
    send_key: bytes
    receive_key: bytes
    transcript_hash: bytes  # the same on both sides: names the session in both logs


class Handshake:
    """One side of one handshake. Feed it the peer's messages; send what it returns.

    `is_allowed(ed25519_public)` says whether a key may connect at all (a validator of the
    chain); `expected_peer`, required of the side that dialed, is the key it meant to reach
    (its hello names it). Any failure raises `HandshakeError` and leaves the object failed
    for good.
    """

    def __init__(
        self,
        role: Role,
        chain: str,
        key: Ed25519Key,
        is_allowed: Callable[[bytes], bool],
        expected_peer: bytes | None = None,
    ) -> None:
        if role is Role.INITIATOR and expected_peer is None:
            raise ValueError("the initiator must name the validator it dials")
        self.role = role
        self.chain = chain
        self._key = key
        self._is_allowed = is_allowed
        self._expected_peer = expected_peer
        # Fresh for every handshake, drawn here and never passed in: reusing an ephemeral key
        # would let recorded signatures be replayed. The responder draws its own only once a
        # hello has proved the initiator, so a silent or forged connection costs no key pair.
        self._ephemeral: nacl.public.PrivateKey | None = None
        self._ephemeral_public = b""
        if role is Role.INITIATOR:
            self._draw_ephemeral()
        self._state = _State.START if role is Role.INITIATOR else _State.AWAIT_HELLO
        self._peer_static: bytes | None = None
        self._peer_ephemeral: bytes | None = None
        self._peer_proved: bytes | None = None
        self._result: HandshakeResult | None = None

    def _draw_ephemeral(self) -> None:
        self._ephemeral = nacl.public.PrivateKey.generate()
        self._ephemeral_public = bytes(self._ephemeral.public_key)

    @property
    def complete(self) -> bool:
        return self._state is _State.DONE

    @property
    def peer_claimed(self) -> bytes | None:
        """The key the peer claims before it has proved it; for logs only."""
        return self._peer_static

    @property
    def peer_proved(self) -> bytes | None:
        """The peer's key once a message signed with it arrived (the hello, for a responder).

        Not yet an authenticated session — that takes the last message — but enough to tell a
        validator dialing in from a stranger or a silent socket.
        """
        return self._peer_proved

    @property
    def result(self) -> HandshakeResult:
        if self._result is None:
            raise HandshakeError("NOT_COMPLETE", "the handshake has not completed")
        return self._result

    def start(self) -> bytes:
        """The initiator's first message."""
        self._expect(_State.START)
        self._state = _State.AWAIT_ACCEPT
        if self._expected_peer is None:  # __init__ refuses this; kept for the type checker
            raise HandshakeError("UNEXPECTED_MESSAGE", "a responder does not say hello")
        hello = {
            "v": VERSION,
            "kind": "hello",
            "chain": self.chain,
            "eph": self._ephemeral_public,
            "static": self._key.public,
            "to": self._expected_peer,
        }
        return codec.encode({**hello, "sig": self._key.sign(_hello_digest(hello))})

    def receive(self, message: bytes) -> bytes | None:
        """Consume the peer's next message; return the reply to send, if any."""
        try:
            if self._state is _State.AWAIT_HELLO:
                return self._on_hello(message)
            if self._state is _State.AWAIT_ACCEPT:
                return self._on_accept(message)
            if self._state is _State.AWAIT_CONFIRM:
                self._on_confirm(message)
                return None
            raise HandshakeError("UNEXPECTED_MESSAGE", f"no message expected in {self._state}")
        except HandshakeError:
            self._state = _State.FAILED
            raise

    # ---- the three steps ---------------------------------------------------------------------

    def _on_hello(self, message: bytes) -> bytes:
        hello = _parse(message, "hello", _HELLO_FIELDS)
        self._check_chain(hello["chain"])
        self._peer_ephemeral = _public_key(hello["eph"], X25519_PUBLIC_SIZE, "eph")
        self._peer_static = _public_key(hello["static"], ED25519_PUBLIC_SIZE, "static")
        if _public_key(hello["to"], ED25519_PUBLIC_SIZE, "to") != self._key.public:
            raise HandshakeError("WRONG_RESPONDER", "the hello was meant for another validator")
        self._check_peer_allowed(self._peer_static)
        hello_signature = hello.pop("sig")
        if not isinstance(hello_signature, bytes) or len(hello_signature) != ED25519_SIGNATURE_SIZE:
            raise HandshakeError("BAD_MESSAGE", "sig must be 64 bytes")
        if not ed25519_verify(self._peer_static, _hello_digest(hello), hello_signature):
            raise HandshakeError("BAD_SIGNATURE", "the hello's signature does not verify")
        self._peer_proved = self._peer_static
        self._draw_ephemeral()
        signature = self._key.sign(self._signed_digest(Role.RESPONDER))
        self._state = _State.AWAIT_CONFIRM
        return codec.encode(
            {
                "v": VERSION,
                "kind": "accept",
                "chain": self.chain,
                "eph": self._ephemeral_public,
                "static": self._key.public,
                "sig": signature,
            }
        )

    def _on_accept(self, message: bytes) -> bytes:
        accept = _parse(message, "accept", _ACCEPT_FIELDS)
        self._check_chain(accept["chain"])
        self._peer_ephemeral = _public_key(accept["eph"], X25519_PUBLIC_SIZE, "eph")
        self._peer_static = _public_key(accept["static"], ED25519_PUBLIC_SIZE, "static")
        expected = self._expected_peer or b""
        if self._peer_static != expected:
            raise HandshakeError(
                "UNEXPECTED_PEER",
                f"dialed {expected.hex()[:16]}, answered by {self._peer_static.hex()[:16]}",
            )
        self._check_peer_allowed(self._peer_static)
        self._verify(accept["sig"], Role.RESPONDER)
        self._peer_proved = self._peer_static
        signature = self._key.sign(self._signed_digest(Role.INITIATOR))
        self._finish()
        return codec.encode({"v": VERSION, "kind": "confirm", "sig": signature})

    def _on_confirm(self, message: bytes) -> None:
        confirm = _parse(message, "confirm", _CONFIRM_FIELDS)
        self._verify(confirm["sig"], Role.INITIATOR)
        self._finish()

    # ---- helpers -----------------------------------------------------------------------------

    def _expect(self, state: _State) -> None:
        if self._state is not state:
            self._state = _State.FAILED
            raise HandshakeError("UNEXPECTED_MESSAGE", f"expected {state}, in {self._state}")

    def _check_chain(self, chain: Any) -> None:
        if chain != self.chain:
            raise HandshakeError("WRONG_CHAIN", f"peer is on chain {chain!r}, not {self.chain!r}")

    def _check_peer_allowed(self, peer: bytes) -> None:
        if peer == self._key.public:
            raise HandshakeError("SELF_CONNECTION", "the peer presented our own key")
        if not self._is_allowed(peer):
            raise HandshakeError("NOT_A_VALIDATOR", f"key {peer.hex()[:16]} is not a validator")

    def _transcript(self) -> dict[str, Any]:
        """What both sides sign: the chain, and both sides' ephemeral and static keys."""
        ours = (self._ephemeral_public, self._key.public)
        theirs = self._peer_keys()
        initiator, responder = (ours, theirs) if self.role is Role.INITIATOR else (theirs, ours)
        return {
            "v": VERSION,
            "chain": self.chain,
            "initiator_eph": initiator[0],
            "initiator_static": initiator[1],
            "responder_eph": responder[0],
            "responder_static": responder[1],
        }

    def _transcript_hash(self) -> bytes:
        return tagged_hash(HANDSHAKE_TAG, codec.encode(self._transcript()))

    def _signed_digest(self, signer: Role) -> bytes:
        return tagged_hash(
            HANDSHAKE_TAG, codec.encode({"role": signer.value, "transcript": self._transcript()})
        )

    def _peer_keys(self) -> tuple[bytes, bytes]:
        """The peer's (ephemeral, static) keys, which the message before any signature set."""
        if self._peer_ephemeral is None or self._peer_static is None:
            raise HandshakeError("UNEXPECTED_MESSAGE", "the peer's keys are not known yet")
        return self._peer_ephemeral, self._peer_static

    def _verify(self, signature: Any, signer: Role) -> None:
        _, peer_static = self._peer_keys()
        if not isinstance(signature, bytes) or len(signature) != ED25519_SIGNATURE_SIZE:
            raise HandshakeError("BAD_MESSAGE", "sig must be 64 bytes")
        if not ed25519_verify(peer_static, self._signed_digest(signer), signature):
            raise HandshakeError("BAD_SIGNATURE", "the peer's handshake signature does not verify")

    def _finish(self) -> None:
        peer_ephemeral, peer_static = self._peer_keys()
        if self._ephemeral is None:
            raise HandshakeError("UNEXPECTED_MESSAGE", "no ephemeral key drawn yet")
        try:
            shared = nacl.bindings.crypto_scalarmult(bytes(self._ephemeral), peer_ephemeral)
        except (nacl.exceptions.CryptoError, RuntimeError, ValueError, TypeError):
            # libsodium refuses low-order points, whose shared secret would be all zeros.
            raise HandshakeError("BAD_KEY", "the peer's ephemeral key is degenerate") from None
        transcript_hash = self._transcript_hash()
        initiator_to_responder = _hkdf(shared, transcript_hash, b"initiator->responder")
        responder_to_initiator = _hkdf(shared, transcript_hash, b"responder->initiator")
        if self.role is Role.INITIATOR:
            send_key, receive_key = initiator_to_responder, responder_to_initiator
        else:
            send_key, receive_key = responder_to_initiator, initiator_to_responder
        self._result = HandshakeResult(peer_static, send_key, receive_key, transcript_hash)
        self._state = _State.DONE


def _hello_digest(hello: dict[str, Any]) -> bytes:
    """What the initiator signs in its hello: every field of it but the signature.

    Wrapped as {"role": "hello", "hello": ...}, a shape no transcript digest has, so a hello
    signature can never stand in for an accept's or a confirm's.
    """
    return tagged_hash(HANDSHAKE_TAG, codec.encode({"role": "hello", "hello": hello}))


def _parse(message: bytes, kind: str, fields: frozenset[str]) -> dict[str, Any]:
    """Decode one handshake message, insisting on its version, kind and exact fields."""
    try:
        value = codec.decode(message)
    except DecodeError as exc:
        raise HandshakeError("BAD_MESSAGE", f"{kind} is not canonical msgpack: {exc}") from None
    if not isinstance(value, dict):
        raise HandshakeError("BAD_MESSAGE", f"{kind} must be a map")
    if value.get("v") != VERSION:
        raise HandshakeError("WRONG_VERSION", f"handshake version {value.get('v')!r}")
    if value.get("kind") != kind:
        raise HandshakeError("UNEXPECTED_MESSAGE", f"expected {kind}, got {value.get('kind')!r}")
    if set(value) != fields:
        raise HandshakeError("BAD_MESSAGE", f"{kind} must have exactly {sorted(fields)}")
    return value


def _public_key(value: Any, size: int, name: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise HandshakeError("BAD_MESSAGE", f"{name} must be {size} bytes")
    return value


def _hkdf(secret: bytes, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) for one 32-byte output block."""
    pseudo_random_key = hmac.new(salt, secret, hashlib.sha256).digest()
    return hmac.new(
        pseudo_random_key, HANDSHAKE_TAG + b" " + info + b"\x01", hashlib.sha256
    ).digest()
