"""State transfer trusts no peer: a fetched block needs a 2f+1 certificate from the genesis
validators and a link to our tip; serving splits a range into size-capped pieces."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.chain import ChainStore
from ledger.crypto import bls
from ledger.genesis import genesis_from_value
from ledger.store import MemoryStore
from ledger.types import Block, Certificate, commit_digest, signer_bitmap
from node.ops.devnet import make_devnet
from node.runtime.executor import Executor
from node.runtime.statesync import BadBlock, check_certified
from wallet.txbuilder import build_tx

DEVNET = make_devnet(4, seed=b"statesync-tests")
GENESIS = genesis_from_value(DEVNET.genesis)
NOW = GENESIS.time_ms + 1000


def certify(block: Block, signers: list[int]) -> Certificate:
    digest = commit_digest(GENESIS.chain, block.header.height, block.hash)
    signature = bls.aggregate([DEVNET.validators[i].bls.sign(digest) for i in signers])
    return Certificate(block.header.height, 0, block.hash, signer_bitmap(signers, 4), signature)


def make_chain(blocks: int) -> list[tuple[Block, Certificate]]:
    """A certified chain built by validator 0, each block with one cash issue."""
    executor = Executor(ChainStore(MemoryStore()), GENESIS)
    bank = DEVNET.key("bank-a", "operator")
    chain = []
    for height in range(1, blocks + 1):
        tx = build_tx(bank, GENESIS.chain, "cash", "issue",
                      {"currency": "CNY", "to": "acme-steel", "amount": height}, 500)  # fmt: skip
        block, rejected = executor.build(
            0, height, executor.tip.block_hash, [tx], DEVNET.validators[0].ed25519.public, NOW
        )
        assert not rejected
        certificate = certify(block, [0, 1, 2])
        executor.commit(block, certificate)
        chain.append((block, certificate))
    return chain


CHAIN = make_chain(3)


def follower() -> Executor:
    return Executor(ChainStore(MemoryStore()), GENESIS)


def test_a_certified_chain_is_accepted_and_replays_to_the_same_state() -> None:
    executor = follower()
    for block, certificate in CHAIN:
        tip = executor.tip
        checked, cert = check_certified(
            GENESIS, tip.height, tip.block_hash, block.encode(), certificate.encode()
        )
        executor.execute(checked, NOW, 0)
        executor.commit(checked, cert)
    assert executor.tip.block_hash == CHAIN[-1][0].hash
    assert executor.tip.state_root == CHAIN[-1][0].header.state_root


def test_too_few_signers_wrong_link_tampering_and_garbage_are_refused() -> None:
    genesis_hash = GENESIS.hash()
    block, certificate = CHAIN[0]
    cases = [
        (block.encode(), certify(block, [0, 1]).encode()),  # below quorum
        (CHAIN[1][0].encode(), CHAIN[1][1].encode()),  # does not follow our tip
        (
            replace(block, header=replace(block.header, time_ms=block.header.time_ms + 1)).encode(),
            certificate.encode(),
        ),  # header changed under its certificate
        (b"\x00garbage", certificate.encode()),
        (block.encode(), b"\x93garbage"),
    ]
    for raw_block, raw_cert in cases:
        with pytest.raises(BadBlock):
            check_certified(GENESIS, 0, genesis_hash, raw_block, raw_cert)


def test_a_certified_block_with_wrong_roots_fails_on_re_execution() -> None:
    block, _ = CHAIN[0]
    lying = replace(block, header=replace(block.header, state_root=bytes(32)))
    certificate = certify(lying, [1, 2, 3])  # f+1 byzantine cannot do this; 2f+1 could
    executor = follower()
    checked, _ = check_certified(GENESIS, 0, GENESIS.hash(), lying.encode(), certificate.encode())
    with pytest.raises(Exception, match="state_root"):
        executor.execute(checked, NOW, 0)


def test_serving_caps_the_range_and_splits_it_into_pieces() -> None:
    from types import SimpleNamespace

    from network.envelope import FetchRequest
    from node.runtime.metrics import Metrics
    from node.runtime.statesync import StateSync

    executor = follower()
    for block, certificate in CHAIN:
        executor.execute(block, NOW, 0)
        executor.commit(block, certificate)
    driver = SimpleNamespace(store=executor.store, executor=executor)
    one_block = len(CHAIN[0][0].encode()) + len(CHAIN[0][1].encode()) + 32
    sync = StateSync(None, driver, GENESIS, Metrics(), max_piece_bytes=one_block + 10)  # type: ignore[arg-type]
    pieces = sync.pieces(FetchRequest(5, 2, 10**9))
    assert [len(p.blocks) for p in pieces] == [1, 1]
    assert [p.end for p in pieces] == [False, True]
    assert pieces[0].blocks[0] == (CHAIN[1][0].encode(), CHAIN[1][1].encode())
    assert sync.pieces(FetchRequest(6, 9, 12)) == [sync.pieces(FetchRequest(6, 9, 12))[0]]
    assert sync.pieces(FetchRequest(6, 9, 12))[0].blocks == ()
