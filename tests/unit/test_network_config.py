"""Construction-time checks of the peer manager: mistakes in the validator list fail loudly."""

from __future__ import annotations

import pytest

from ledger.crypto import Ed25519Key
from network import Network, NetworkConfig, PeerAddress
from network.config import split_address

KEYS = [Ed25519Key.from_seed(bytes([n + 1]) * 32) for n in range(4)]
VALIDATORS = [PeerAddress(i, k.public, f"127.0.0.1:{9000 + i}") for i, k in enumerate(KEYS)]


def make(
    index: int = 0, key: Ed25519Key = KEYS[0], validators: list[PeerAddress] = VALIDATORS
) -> Network:
    return Network(
        chain="c", index=index, key=key, validators=validators, on_message=lambda i, p: None
    )


def test_addresses_parse_host_and_port() -> None:
    assert split_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert split_address("[::1]:9000") == ("::1", 9000)
    with pytest.raises(ValueError):
        split_address("no-port")


def test_our_key_must_be_our_validators_key() -> None:
    with pytest.raises(ValueError):
        make(index=1, key=KEYS[0])


def test_duplicate_validator_keys_are_refused() -> None:
    twins = [*VALIDATORS[:3], PeerAddress(3, KEYS[0].public, "127.0.0.1:9999")]
    with pytest.raises(ValueError):
        make(validators=twins)


def test_send_checks_the_peer_and_the_size_before_queueing() -> None:
    network = make()
    with pytest.raises(ValueError):
        network.send(0, b"to myself")
    with pytest.raises(ValueError):
        network.send(7, b"to nobody")
    with pytest.raises(ValueError):
        network.send(1, b"x" * (network.max_message_bytes + 1))
    network.send(1, b"queued while not started")
    assert network.stats().peers[1].queue_messages == 1
    assert network.stats().connected == ()


def test_largest_message_leaves_room_for_the_seal_in_the_frame() -> None:
    network = make()
    assert network.max_message_bytes == NetworkConfig().max_frame_bytes - 16 - 16
