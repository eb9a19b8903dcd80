"""The handshake state machine and the session it opens, driven with plain bytes."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from ledger import codec
from ledger.crypto import Ed25519Key
from ledger.hashing import HANDSHAKE_TAG, tagged_hash
from network.errors import HandshakeError, SessionError
from network.handshake import VERSION, Handshake, Role
from network.session import Session

CHAIN = "tally-test"
ALICE = Ed25519Key.from_seed(b"\x01" * 32)
BOB = Ed25519Key.from_seed(b"\x02" * 32)
CAROL = Ed25519Key.from_seed(b"\x03" * 32)
MALLORY = Ed25519Key.from_seed(b"\x66" * 32)  # holds a key, but not a validator's
VALIDATORS = frozenset({ALICE.public, BOB.public, CAROL.public})


def is_validator(public: bytes) -> bool:
    return public in VALIDATORS


def initiator(key: Ed25519Key = ALICE, expected: bytes | None = BOB.public, **kw: Any) -> Handshake:
    return Handshake(Role.INITIATOR, kw.get("chain", CHAIN), key, is_validator, expected)


def responder(key: Ed25519Key = BOB, chain: str = CHAIN) -> Handshake:
    return Handshake(Role.RESPONDER, chain, key, is_validator)


def run(alice: Handshake, bob: Handshake) -> tuple[bytes, bytes, bytes]:
    """Complete a handshake; return the three messages exchanged."""
    hello = alice.start()
    accept = bob.receive(hello)
    assert accept is not None
    confirm = alice.receive(accept)
    assert confirm is not None
    assert bob.receive(confirm) is None
    return hello, accept, confirm


def code_of(call: Any, *args: Any) -> str:
    with pytest.raises(HandshakeError) as error:
        call(*args)
    return error.value.code


def signed_digest(role: str, transcript: dict[str, Any]) -> bytes:
    """The digest each side signs, written out from the specification in handshake.py."""
    return tagged_hash(HANDSHAKE_TAG, codec.encode({"role": role, "transcript": transcript}))


def signed_hello(key: Ed25519Key, **fields: Any) -> bytes:
    """A hello with `fields` (the rest from a fresh one of `key`'s), signed by `key`."""
    hello = codec.decode(initiator(key).start())
    del hello["sig"]
    hello.update(fields)
    digest = tagged_hash(HANDSHAKE_TAG, codec.encode({"role": "hello", "hello": hello}))
    return codec.encode({**hello, "sig": key.sign(digest)})


# ---- success -------------------------------------------------------------------------------


def test_both_sides_learn_each_other_and_agree_on_directional_keys() -> None:
    alice, bob = initiator(), responder()
    run(alice, bob)
    assert alice.complete and bob.complete
    assert alice.result.peer_public == BOB.public
    assert bob.result.peer_public == ALICE.public
    assert alice.result.send_key == bob.result.receive_key
    assert alice.result.receive_key == bob.result.send_key
    assert alice.result.send_key != alice.result.receive_key
    assert alice.result.transcript_hash == bob.result.transcript_hash


def test_signatures_cover_chain_both_ephemeral_and_both_static_keys() -> None:
    alice, bob = initiator(), responder()
    hello, accept, confirm = run(alice, bob)
    hello_map, accept_map = codec.decode(hello), codec.decode(accept)
    hello_fields = {k: v for k, v in hello_map.items() if k != "sig"}
    assert hello_fields["to"] == BOB.public
    hello_digest = codec.encode({"role": "hello", "hello": hello_fields})
    assert hello_map["sig"] == ALICE.sign(tagged_hash(HANDSHAKE_TAG, hello_digest))
    transcript = {
        "v": VERSION,
        "chain": CHAIN,
        "initiator_eph": hello_map["eph"],
        "initiator_static": ALICE.public,
        "responder_eph": accept_map["eph"],
        "responder_static": BOB.public,
    }
    assert accept_map["sig"] == BOB.sign(signed_digest("responder", transcript))
    assert codec.decode(confirm)["sig"] == ALICE.sign(signed_digest("initiator", transcript))


def test_every_handshake_draws_fresh_ephemeral_keys() -> None:
    first, second = initiator().start(), initiator().start()
    assert codec.decode(first)["eph"] != codec.decode(second)["eph"]


# ---- who may connect -------------------------------------------------------------------------


def test_responder_refuses_a_key_that_is_not_a_validator() -> None:
    assert code_of(responder().receive, initiator(MALLORY).start()) == "NOT_A_VALIDATOR"


def test_responder_refuses_a_hello_meant_for_another_validator() -> None:
    """A hello Alice sent Bob, replayed to Carol (by Bob, say), does not prove Alice to Carol."""
    carol = responder(CAROL)
    assert code_of(carol.receive, initiator(expected=BOB.public).start()) == "WRONG_RESPONDER"
    assert carol.peer_proved is None


def test_initiator_refuses_a_responder_that_is_not_the_validator_it_dialed() -> None:
    alice, carol = initiator(expected=BOB.public), responder(CAROL)
    hello = codec.decode(alice.start())
    # Carol answers a hello with Alice's ephemeral key that names her: Alice expected Bob.
    accept = carol.receive(signed_hello(ALICE, eph=hello["eph"], to=CAROL.public))
    assert code_of(alice.receive, accept) == "UNEXPECTED_PEER"


def test_initiator_refuses_a_non_validator_responder() -> None:
    alice, mallory = initiator(expected=MALLORY.public), responder(MALLORY)
    accept = mallory.receive(alice.start())
    assert code_of(alice.receive, accept) == "NOT_A_VALIDATOR"


def test_initiator_must_name_the_validator_it_dials() -> None:
    with pytest.raises(ValueError):
        Handshake(Role.INITIATOR, CHAIN, ALICE, is_validator, None)


def test_a_hello_proves_its_sender_before_the_responder_signs_anything() -> None:
    alice, bob = initiator(), responder()
    assert bob.peer_proved is None
    accept = bob.receive(alice.start())
    assert accept is not None and bob.peer_proved == ALICE.public and not bob.complete
    assert alice.peer_proved is None
    alice.receive(accept)
    assert alice.peer_proved == BOB.public


def test_a_hello_with_a_forged_signature_is_refused_unanswered() -> None:
    hello = codec.decode(initiator().start())
    forged = codec.encode({**hello, "sig": MALLORY.sign(b"not alice" * 4)})
    bob = responder()
    assert code_of(bob.receive, forged) == "BAD_SIGNATURE"
    assert bob.peer_proved is None
    short = codec.encode({**hello, "sig": b"\x00" * 10})
    assert code_of(responder().receive, short) == "BAD_MESSAGE"


def test_a_node_dialing_itself_is_refused() -> None:
    hello = initiator(ALICE, expected=ALICE.public).start()
    assert code_of(responder(ALICE).receive, hello) == "SELF_CONNECTION"


def test_wrong_chain_id_is_refused_by_either_side() -> None:
    other_chain = initiator(chain="other-chain")
    assert code_of(responder().receive, other_chain.start()) == "WRONG_CHAIN"
    alice = initiator()
    accept = responder(chain="other-chain")
    # The other-chain responder refuses Alice's hello itself...
    assert code_of(accept.receive, alice.start()) == "WRONG_CHAIN"
    # ...and Alice refuses an accept naming another chain, even well signed.
    alice = initiator()
    hello = codec.decode(alice.start())
    rogue = responder(chain="other-chain")
    reply = rogue.receive(signed_hello(ALICE, eph=hello["eph"], chain="other-chain"))
    assert reply is not None
    assert code_of(alice.receive, reply) == "WRONG_CHAIN"


def test_wrong_version_is_refused() -> None:
    hello = codec.decode(initiator().start())
    # Version 1 (an older release) sent unsigned hellos: it is refused, not misread.
    assert code_of(responder().receive, codec.encode({**hello, "v": 1})) == "WRONG_VERSION"


# ---- tampering, replay, reflection ---------------------------------------------------------


def test_tampered_ephemeral_key_in_accept_breaks_the_signature() -> None:
    alice, bob = initiator(), responder()
    accept = codec.decode(bob.receive(alice.start()) or b"")
    tampered = codec.encode({**accept, "eph": bytes(32 - 1) + b"\x09"})
    assert code_of(alice.receive, tampered) == "BAD_SIGNATURE"


def test_identity_swapped_in_hello_is_caught() -> None:
    """A man in the middle claiming Alice's session for Carol: the hello's signature fails; and
    Carol herself relaying Alice's handshake under her own name is caught by Alice."""
    alice, bob = initiator(), responder()
    hello = codec.decode(alice.start())
    assert code_of(bob.receive, codec.encode({**hello, "static": CAROL.public})) == "BAD_SIGNATURE"
    alice, bob = initiator(), responder()
    hello = codec.decode(alice.start())
    accept = bob.receive(signed_hello(CAROL, eph=hello["eph"]))
    assert accept is not None and bob.peer_proved == CAROL.public
    # Alice sees Bob's signature over a transcript naming Carol, not her: she refuses.
    assert code_of(alice.receive, accept) == "BAD_SIGNATURE"


def test_confirm_signed_by_another_validator_is_refused() -> None:
    alice, bob = initiator(), responder()
    assert bob.receive(alice.start()) is not None
    forged = codec.encode({"v": VERSION, "kind": "confirm", "sig": CAROL.sign(b"anything" * 4)})
    assert code_of(bob.receive, forged) == "BAD_SIGNATURE"


def test_replayed_accept_from_an_earlier_handshake_is_refused() -> None:
    _, old_accept, _ = run(initiator(), responder())
    alice = initiator()
    alice.start()
    assert code_of(alice.receive, old_accept) == "BAD_SIGNATURE"


def test_replayed_hello_and_confirm_do_not_authenticate_the_replayer() -> None:
    old_hello, _, old_confirm = run(initiator(), responder())
    bob = responder()
    assert bob.receive(old_hello) is not None  # anyone can replay a hello...
    assert code_of(bob.receive, old_confirm) == "BAD_SIGNATURE"  # ...but not finish it


def test_responder_signature_cannot_be_reflected_as_an_initiator_signature() -> None:
    """Bob's accept signature, sent back to Bob as Alice's confirm, is bound to its role."""
    alice, bob = initiator(), responder()
    hello = alice.start()
    accept = codec.decode(bob.receive(hello) or b"")
    reflected = codec.encode({"v": VERSION, "kind": "confirm", "sig": accept["sig"]})
    assert code_of(bob.receive, reflected) == "BAD_SIGNATURE"


def test_low_order_ephemeral_key_is_refused_even_when_signed() -> None:
    alice = initiator()
    hello = codec.decode(alice.start())
    zero = bytes(32)
    transcript = {
        "v": VERSION,
        "chain": CHAIN,
        "initiator_eph": hello["eph"],
        "initiator_static": ALICE.public,
        "responder_eph": zero,
        "responder_static": BOB.public,
    }
    accept = {
        "v": VERSION,
        "kind": "accept",
        "chain": CHAIN,
        "eph": zero,
        "static": BOB.public,
        "sig": BOB.sign(signed_digest("responder", transcript)),
    }
    assert code_of(alice.receive, codec.encode(accept)) == "BAD_KEY"


# ---- malformed and out of turn -------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [b"", b"\xc1", codec.encode([1, 2]), codec.encode({"v": VERSION, "kind": "hello"})],
)
def test_malformed_hello_is_refused(message: bytes) -> None:
    assert code_of(responder().receive, message) in {"BAD_MESSAGE", "WRONG_VERSION"}


def test_non_canonical_encoding_is_refused() -> None:
    hello = initiator().start()
    # The same map with its keys in another order decodes, but is not canonical.
    value = codec.decode(hello)
    shuffled = msgpack.packb(dict(reversed(list(value.items()))), use_bin_type=True)
    assert shuffled != hello
    assert code_of(responder().receive, shuffled) == "BAD_MESSAGE"


def test_messages_out_of_turn_are_refused_and_failure_is_final() -> None:
    alice, bob = initiator(), responder()
    hello, accept, confirm = run(initiator(), responder())
    assert code_of(bob.receive, confirm) == "UNEXPECTED_MESSAGE"
    assert code_of(bob.receive, hello) == "UNEXPECTED_MESSAGE"  # failed for good
    assert code_of(alice.receive, accept) == "UNEXPECTED_MESSAGE"  # before start()
    done_alice, done_bob = initiator(), responder()
    _, accept, confirm = run(done_alice, done_bob)
    assert code_of(done_bob.receive, confirm) == "UNEXPECTED_MESSAGE"
    with pytest.raises(HandshakeError):
        initiator().result  # noqa: B018 - not complete yet


# ---- the session -------------------------------------------------------------------------


def sessions() -> tuple[Session, Session]:
    alice, bob = initiator(), responder()
    run(alice, bob)
    return (
        Session(alice.result.send_key, alice.result.receive_key),
        Session(bob.result.send_key, bob.result.receive_key),
    )


def test_session_delivers_in_order_both_ways() -> None:
    alice, bob = sessions()
    for n in range(5):
        assert bob.open(alice.seal(b"to bob %d" % n)) == b"to bob %d" % n
        assert alice.open(bob.seal(b"to alice %d" % n)) == b"to alice %d" % n


def test_replayed_frame_is_rejected() -> None:
    alice, bob = sessions()
    first = alice.seal(b"pay 100")
    assert bob.open(first) == b"pay 100"
    with pytest.raises(SessionError):
        bob.open(first)


def test_reordered_frames_are_rejected() -> None:
    alice, bob = sessions()
    _first, second = alice.seal(b"one"), alice.seal(b"two")
    with pytest.raises(SessionError):
        bob.open(second)


def test_frame_reflected_to_its_sender_is_rejected() -> None:
    alice, _ = sessions()
    with pytest.raises(SessionError):
        alice.open(alice.seal(b"echo"))


def test_tampered_frame_is_rejected() -> None:
    alice, bob = sessions()
    sealed = bytearray(alice.seal(b"pay 100"))
    sealed[-1] ^= 1
    with pytest.raises(SessionError):
        bob.open(bytes(sealed))


def test_frame_from_another_session_is_rejected() -> None:
    alice, _ = sessions()
    _, other_bob = sessions()
    with pytest.raises(SessionError):
        other_bob.open(alice.seal(b"hello"))


def test_equal_keys_are_refused() -> None:
    with pytest.raises(SessionError):
        Session(b"k" * 32, b"k" * 32)
