"""`tally audit`'s block walk follows validator changes from the chain alone.

A 4-validator chain (real executor, LevelDB) adds a fifth validator and later removes one of the
first four; every block is certified by real BLS signatures of the set in force at its height.
The walk (explorer.audit.check_block, threading the ledger.membership history) passes every
block, and fails, naming the check, where a certificate is signed by the wrong set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from explorer.audit import check_block
from explorer.chain import ChainView
from explorer.validator_sets import SetTracker
from ledger.crypto import BlsKey, bls
from ledger.membership import ValidatorHistory
from ledger.types import Certificate, commit_digest, signer_bitmap
from tests.support.contract_chain import ContractChain
from tests.support.membership import new_validator, validator_keys

INTERVAL = 4
NEW = "bank-e-node"


def _pass(chain: ContractChain, action: str, params: dict[str, Any]) -> None:
    args = {"action": action, "params": params}
    proposal = chain.call("bank-a", "registry", "propose", args, "admin")["id"]
    chain.call("bank-b", "registry", "approve", {"id": proposal}, "admin")
    assert chain.call("bank-c", "registry", "approve", {"id": proposal}, "admin")["passed"]


def _idle_until(chain: ContractChain, height: int) -> None:
    while chain.executor.tip.height < height:
        chain.commit([])


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractChain]:
    chain = ContractChain(
        tmp_path_factory.mktemp("audit") / "db",
        membership=True,
        validators=4,
        params={"checkpoint_interval": INTERVAL},
    )
    _pass(chain, "add_validator", new_validator(NEW))  # decided at 3, in force at 5
    _idle_until(chain, 5)
    _pass(chain, "remove_validator", {"name": chain.genesis.validators[1].name})  # at 9
    _idle_until(chain, 10)
    yield chain
    chain.close()


def _bls_keys(chain: ContractChain) -> dict[str, BlsKey]:
    keys = {v.name: v.bls for v in chain.devnet.validators}
    keys[NEW] = validator_keys(NEW)[1]
    return keys


def _block(
    chain: ContractChain,
    height: int,
    signer_names: list[str] | None = None,
    positions: dict[str, int] | None = None,
) -> Any:
    """Block `height` as the node serves it, certified by `signer_names` (default: the whole
    set in force there, as the derived history says) at their indexes in that set (or at
    `positions`, to sign in another validator's place)."""
    block = chain.store.block(height)
    assert block is not None
    members = _truth(chain).at(height)
    names = [v.name for v in members] if signer_names is None else signer_names
    keys = _bls_keys(chain)
    digest = commit_digest(chain.genesis.chain, height, block.header.hash())
    index = {v.name: i for i, v in enumerate(members)} | (positions or {})
    signature = bls.aggregate([keys[name].sign(digest) for name in names])
    bitmap = signer_bitmap({index[name] for name in names}, len(members))
    certificate = Certificate(height, 0, block.header.hash(), bitmap, signature)
    return {
        "height": height,
        "header": block.header.encode().hex(),
        "txs": [raw.hex() for raw in block.txs],
        "receipts": [r.encode().hex() for r in chain.store.receipts(height)],
        "certificate": {
            k: v.hex() if isinstance(v, bytes) else v for k, v in certificate.to_value().items()
        },
    }


def _truth(chain: ContractChain) -> ValidatorHistory:
    history = ValidatorHistory.of_genesis(chain.genesis)
    for height in range(1, chain.executor.tip.height + 1):
        history = history.follow(height, chain.store.receipts(height))
    return history


def _walk(chain: ContractChain, blocks: dict[int, Any]) -> tuple[list[tuple[int, str]], Any]:
    history = ValidatorHistory.of_genesis(chain.genesis)
    prev = chain.genesis.hash()
    failures: list[tuple[int, str]] = []
    for height in sorted(blocks):
        result = check_block(chain.genesis, blocks[height], height, prev, history)
        failures += [(height, c.name) for c in result.checks if not c.ok]
        assert result.block_hash is not None
        prev, history = result.block_hash, result.history
    return failures, history


def test_the_walk_passes_every_block_across_an_addition_and_a_removal(
    chain: ContractChain,
) -> None:
    blocks = {h: _block(chain, h) for h in range(1, 11)}
    failures, history = _walk(chain, blocks)
    assert failures == []
    assert history.effective_heights() == [5, 9]
    assert [v.name for v in history.at(9)][-1] == NEW and len(history.at(9)) == 4


def test_a_block_after_the_addition_needs_four_of_five(chain: ContractChain) -> None:
    """n = 5: f = 1, quorum n − f = 4. Three genesis signers were a quorum of four, not now."""
    genesis_names = [v.name for v in chain.genesis.validators]
    blocks = {h: _block(chain, h) for h in range(1, 11)}
    blocks[6] = _block(chain, 6, genesis_names[:3])
    failures, _ = _walk(chain, blocks)
    assert failures == [(6, "quorum")]
    blocks[6] = _block(chain, 6, [*genesis_names[:3], NEW])
    assert _walk(chain, blocks)[0] == []


def test_a_removed_validator_signature_no_longer_counts(chain: ContractChain) -> None:
    removed = chain.genesis.validators[1].name
    set_at_9 = [v.name for v in _truth(chain).at(9)]
    blocks = {h: _block(chain, h) for h in range(1, 11)}
    # the removed validator signs in place of the one now at index 1
    blocks[9] = _block(chain, 9, [set_at_9[0], removed, set_at_9[2]], {removed: 1})
    failures, _ = _walk(chain, blocks)
    assert failures == [(9, "BLS aggregate signature")]


def test_an_auditor_that_ignores_the_changes_fails_at_the_first_new_set(
    chain: ContractChain,
) -> None:
    genesis_only = ValidatorHistory.of_genesis(chain.genesis)
    block = _block(chain, 5)
    prev = chain.store.header(4)
    assert prev is not None
    checks = check_block(chain.genesis, block, 5, prev.hash(), genesis_only).checks
    # the walk alone derives the new set; a verifier stuck on genesis cannot pass block 5
    result = check_block(chain.genesis, block | {"receipts": None}, 5, prev.hash())
    assert "validators_hash" in [c.name for c in checks if not c.ok]
    assert "validators_hash" in [c.name for c in result.checks if not c.ok]


class _Reader:
    """Serves the chain's blocks as the node's /v1/raw/blocks does (only what SetTracker asks)."""

    def __init__(self, blocks: dict[int, Any]) -> None:
        self.blocks = blocks
        self.asked: list[tuple[int, int]] = []

    async def raw_blocks(self, from_height: int, limit: int = 100) -> list[dict[str, Any]]:
        self.asked.append((from_height, limit))
        return [self.blocks[h] for h in range(from_height, from_height + limit) if h in self.blocks]


def test_the_explorer_follows_the_sets_and_says_from_which_block(chain: ContractChain) -> None:
    reader = _Reader({h: _block(chain, h) for h in range(1, 11)})
    tracker = SetTracker(chain.genesis)
    asyncio.run(tracker.follow(reader, 10))  # type: ignore[arg-type]
    assert tracker.stopped is None and tracker.followed == 10
    assert tracker.history.effective_heights() == [5, 9]
    assert tracker.in_force(4).line == "genesis set: 4 validators"
    assert tracker.in_force(6).line == (
        "5 validators, in force since block 5 (set change approved in block 3)"
    )
    assert tracker.in_force(10).since == 9 and tracker.in_force(10).validators == 4
    header = chain.store.header(6)
    assert header is not None
    view = ChainView(reader, chain.genesis, True)  # type: ignore[arg-type]
    view.sets = tracker
    verdict, _ = view.certificate_verdict(header, reader.blocks[6]["certificate"])
    assert verdict is not None and verdict.ok and len(verdict.signer_names) == 5


def test_a_block_that_fails_stops_the_walk_at_the_last_proven_set(chain: ContractChain) -> None:
    """A node that serves a bad certificate before the removal cannot make the explorer adopt
    anything after it: later blocks are judged against the set proven so far."""
    genesis_names = [v.name for v in chain.genesis.validators]
    blocks = {h: _block(chain, h) for h in range(1, 11)}
    blocks[7] = _block(chain, 7, genesis_names[:3])  # 3 of 5: no quorum
    tracker = SetTracker(chain.genesis)
    asyncio.run(tracker.follow(_Reader(blocks), 10))  # type: ignore[arg-type]
    assert tracker.followed == 6 and tracker.stopped is not None
    assert "block 7: quorum" in tracker.stopped
    assert tracker.history.effective_heights() == [5]  # the removal at 9 is not adopted
    assert "verified only up to block 6" in tracker.in_force(9).line


def test_the_blocks_list_names_the_signers_of_the_set_in_force(chain: ContractChain) -> None:
    """The "signed by" column named signers by their index in the genesis set: after bank-b's
    validator left, block 10's four signers read as bank-a, bank-b, bank-c, bank-d."""
    reader = _Reader({h: _block(chain, h) for h in range(1, 11)})
    view = ChainView(reader, chain.genesis, True)  # type: ignore[arg-type]
    asyncio.run(view.sets.follow(reader, 10))  # type: ignore[arg-type]
    row = view.row(reader.blocks[10])
    in_force = [v.org for v in _truth(chain).at(10)]
    names = {o.id: o.name for o in chain.genesis.orgs}
    assert row.ok and row.signer_names == tuple(names[org] for org in in_force)
    assert names["bank-b"] not in row.signer_names and len(row.signer_names) == 4
