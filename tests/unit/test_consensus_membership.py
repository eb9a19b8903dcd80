"""A replica of a later validator set: its quorum, signing domain, anchor and barrier."""

from __future__ import annotations

import pytest

from consensus.config import ReplicaConfig
from consensus.interface import SetContinues
from consensus.messages import CheckpointProof, Prepare, SignedMessage
from consensus.replica import PbftReplica
from consensus.verify import Verifier
from ledger.types import Height, ValidatorIndex, View
from tests.sim.fakecrypto import FakeCrypto, fake_ed25519_public

GENESIS_HASH = b"\x11" * 32
ANCHOR_HASH = b"\x22" * 32


def config(n: int, index: int = 0, anchor: int = 0, barrier: bool = False) -> ReplicaConfig:
    return ReplicaConfig(
        chain="c",
        index=index,
        validators=tuple(fake_ed25519_public(i) for i in range(n)),
        genesis_hash=GENESIS_HASH,
        checkpoint_interval=8,
        window=4,
        anchor_height=anchor,
        anchor_hash=ANCHOR_HASH if anchor else b"",
        checkpoint_barrier=barrier,
    )


def test_a_later_set_may_have_any_size_and_its_quorum_is_n_minus_f() -> None:
    with pytest.raises(ValueError):
        config(5)  # genesis keeps n = 3f + 1
    five = config(5, anchor=8)
    assert (five.f, five.quorum) == (1, 4)
    assert (config(4).f, config(4).quorum) == (1, 3)
    with pytest.raises(ValueError):
        ReplicaConfig("c", 0, (b"k" * 32,) * 5, GENESIS_HASH, anchor_height=8)  # no anchor hash


def test_an_envelope_of_another_set_never_verifies() -> None:
    genesis_set, later_set = config(4), config(5, anchor=8)
    assert genesis_set.domain == "c" and later_set.domain != genesis_set.domain
    crypto = FakeCrypto(1, 5)
    message = Prepare(View(0), Height(9), b"\x33" * 32)
    in_genesis = SignedMessage.create(
        genesis_set.domain, ValidatorIndex(1), message, crypto.sign_message
    )
    in_later = SignedMessage.create(
        later_set.domain, ValidatorIndex(1), message, crypto.sign_message
    )
    verifier = Verifier(later_set, FakeCrypto(0, 5))
    assert verifier.envelope(in_later)
    assert not verifier.envelope(in_genesis)


def test_a_later_set_starts_stable_at_its_anchor() -> None:
    later = config(5, anchor=8)
    verifier = Verifier(later, FakeCrypto(0, 5))
    assert verifier.checkpoint_proof(CheckpointProof(Height(8), ANCHOR_HASH, ()))
    assert not verifier.checkpoint_proof(CheckpointProof(Height(8), GENESIS_HASH, ()))
    assert not verifier.checkpoint_proof(CheckpointProof(Height(0), GENESIS_HASH, ()))
    replica = PbftReplica(later, FakeCrypto(0, 5), 8, ANCHOR_HASH)
    assert replica.stable_height == 8


def test_the_barrier_holds_votes_to_the_checkpoint_the_driver_vouches_for() -> None:
    unbarred = PbftReplica(config(4), FakeCrypto(0, 4), 7, b"\x44" * 32)
    assert unbarred.window()[1] == 12  # the stable checkpoint (0) plus interval and window
    replica = PbftReplica(config(4, barrier=True), FakeCrypto(0, 4), 7, b"\x44" * 32)
    assert replica.window()[1] == 8  # height 9's set is not known until 8 is committed
    replica.handle(SetContinues(Height(16), 0))
    assert replica.window()[1] == 12
