"""Every consensus message has a size bound that follows from the genesis params: the largest
message of each kind, built for real, fits its bound; the bounds fit a frame under the default
params; genesis refuses params under which one would not (issue 11, finding 1: a VIEW-CHANGE of
21 MB over a 16 MiB frame halted the chain for good)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from consensus.crypto import ValidatorCrypto
from consensus.messages import (
    Checkpoint,
    CheckpointProof,
    Commit,
    Message,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedMessage,
    StableCheckpoint,
    Status,
    Suspect,
    ViewChange,
)
from ledger.crypto import BlsKey, Ed25519Key
from ledger.errors import GenesisError
from ledger.genesis import DEFAULT_PARAMS, genesis_from_value
from ledger.hashing import sha256
from ledger.message_bounds import (
    P2P_RESERVE,
    MessageBounds,
    frame_budget,
    message_bounds,
    proof_reach,
)
from ledger.types import Block, Certificate, Header
from network.connection import ENVELOPE_OVERHEAD
from network.envelope import BlockAnswer, BlocksPiece, encode_block_answer, encode_blocks
from network.session import MAC_SIZE
from node.ops.devnet import make_devnet

BIG = 2**63 - 1  # the widest integer a message may carry
CHAIN = "bounds-chain-with-a-rather-long-name-for-the-header"
# Small enough to build fast, shaped like the defaults: the bound is linear in each param.
PARAMS = {
    **DEFAULT_PARAMS,
    "block_max_txs": 40,
    "block_max_bytes": 40 * 70_000,
    "window": 3,
    "checkpoint_interval": 5,
}


def _signers(n: int) -> list[ValidatorCrypto]:
    ed = [Ed25519Key.from_seed(sha256(b"bounds-ed%d" % i)) for i in range(n)]
    bls = [BlsKey.from_secret(500 + i) for i in range(n)]
    return [
        ValidatorCrypto(ed[i], bls[i], [k.public for k in ed], [k.public for k in bls])
        for i in range(n)
    ]


def _sign(cryptos: list[ValidatorCrypto], index: int, message: Message) -> SignedMessage:
    return SignedMessage.create(CHAIN, index, message, cryptos[index].sign_message)  # type: ignore[arg-type]


def _largest_block(params: dict[str, int]) -> Block:
    count, total = params["block_max_txs"], params["block_max_bytes"]
    txs = tuple(bytes([i % 256]) * (total // count) for i in range(count))
    header = Header(CHAIN, BIG, bytes(32), BIG, bytes(32), BIG, *(bytes(32),) * 4)
    return Block(header, txs)


def _largest(n: int, params: dict[str, int]) -> dict[str, bytes]:
    """The encoded envelope of the largest message of each kind that the rules let pass."""
    cryptos = _signers(n)
    quorum = 2 * ((n - 1) // 3) + 1
    checkpoint = Checkpoint(BIG, bytes(32))
    proof = CheckpointProof(
        BIG, bytes(32), tuple(_sign(cryptos, i, checkpoint) for i in range(quorum))
    )
    prepares = tuple(_sign(cryptos, i, Prepare(BIG, BIG, bytes(32))) for i in range(quorum))
    prepared = tuple(
        PreparedProof(BIG, BIG, bytes(32), prepares) for _ in range(proof_reach(params))
    )
    change = _sign(cryptos, n - 1, ViewChange(BIG, proof, prepared))
    messages: dict[str, Message] = {
        "prepare": Prepare(BIG, BIG, bytes(32)),
        "commit": Commit(BIG, BIG, bytes(32), bytes(96)),
        "checkpoint": checkpoint,
        "suspect": Suspect(BIG),
        "status": Status(BIG, True, BIG, BIG),
        "pre_prepare": PrePrepare(BIG, BIG, _largest_block(params)),
        "view_change": change.message,
        "new_view": NewView(BIG, (change,) * quorum),
        "stable_checkpoint": StableCheckpoint(proof),
    }
    return {kind: _sign(cryptos, n - 1, m).encode() for kind, m in messages.items()}


@pytest.mark.parametrize("n", [1, 4, 7])
def test_the_largest_message_of_each_kind_fits_its_bound(n: int) -> None:
    bounds = message_bounds(PARAMS, n, CHAIN)
    for kind, encoded in _largest(n, PARAMS).items():
        bound = getattr(bounds, kind)
        assert len(encoded) <= bound, f"{kind}: {len(encoded)} > {bound}"
        # The bound is about the size of the largest message itself, not a loose guess (it
        # counts every sender index and tx length header at its widest).
        assert len(encoded) >= 0.98 * bound, f"{kind}: {len(encoded)} << {bound}"


def test_a_view_change_stays_small_however_big_the_blocks() -> None:
    small = message_bounds(PARAMS, 4, CHAIN)
    huge = message_bounds({**PARAMS, "block_max_bytes": 2**30}, 4, CHAIN)
    assert huge.view_change == small.view_change and huge.new_view == small.new_view
    assert huge.pre_prepare > small.pre_prepare


def test_the_default_params_fit_every_message_in_a_frame_up_to_forty_validators() -> None:
    for n in (1, 4, 7, 10, 22, 40):
        name, size = message_bounds(DEFAULT_PARAMS, n, "tally-localnet").largest()
        assert size <= frame_budget(DEFAULT_PARAMS), (n, name, size)


def test_the_transport_reserve_covers_the_peer_to_peer_envelopes() -> None:
    """A block answer or a one-block state-transfer piece of the largest block fits the frame."""
    bounds = message_bounds(PARAMS, 4, CHAIN)
    block = _largest_block(PARAMS).encode()
    assert len(block) <= bounds.block
    certificate = Certificate(BIG, BIG, bytes(32), bytes(1), bytes(96)).encode()
    piece = encode_blocks(BlocksPiece(BIG, ((block, certificate),), True))
    answer = encode_block_answer(BlockAnswer(BIG, block))
    session = MAC_SIZE + ENVELOPE_OVERHEAD
    assert len(answer) + session <= bounds.block + P2P_RESERVE
    assert len(piece) + session <= bounds.certified_block + P2P_RESERVE
    assert 1 + bounds.new_view + session <= bounds.new_view + P2P_RESERVE


def _genesis(params: dict[str, Any]) -> dict[str, Any]:
    raw = copy.deepcopy(make_devnet(4, seed=b"bounds").genesis)
    raw["params"] = params
    return raw


def test_genesis_refuses_params_under_which_a_message_outgrows_the_frame() -> None:
    with pytest.raises(GenesisError) as error:
        genesis_from_value(_genesis({"max_frame_bytes": 4 * 1024 * 1024}))  # 4 MiB blocks
    assert "block of" in error.value.message and "max_frame_bytes" in error.value.message
    with pytest.raises(GenesisError) as error:
        genesis_from_value(_genesis({"max_frame_bytes": 64 * 1024, "block_max_bytes": 16_000}))
    assert "new view" in error.value.message
    fits = genesis_from_value(
        _genesis({"max_frame_bytes": 3 * 1024 * 1024, "block_max_bytes": 2**20})
    )
    assert fits.params["max_frame_bytes"] == 3 * 1024 * 1024


def test_the_bounds_name_every_message_kind() -> None:
    kinds = {"pre_prepare", "prepare", "commit", "checkpoint", "view_change", "new_view"}
    kinds |= {"status", "stable_checkpoint", "suspect"}
    assert kinds <= set(MessageBounds.__slots__)
    for message in (Prepare, Commit, Checkpoint, ViewChange, NewView, Status, Suspect):
        assert message.TYPE in kinds
