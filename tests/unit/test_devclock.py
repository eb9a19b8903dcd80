"""The development clock (contracts/devclock.py, node/runtime/executor.py): `clock.advance`
moves every replica's block clock at the same height, only on a chain genesis marks as a
development chain, never backwards, and the offset lives in the store (it survives a restart)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from contracts.catalog import genesis_state
from contracts.devclock import DAY_MS, MAX_OFFSET_DAYS, OFFSET_KEY
from ledger.chain import ChainStore
from ledger.errors import GenesisError
from ledger.genesis import Genesis, genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import Block, Certificate, Receipt
from node.ops.consortium import assemble_genesis
from node.ops.devnet import make_devnet
from node.ops.layout import LocalnetError
from node.ops.localnet_time import parse_days
from node.runtime.executor import Executor, InvalidBlock
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"devclock-tests")
DEV_GENESIS = genesis_from_value(DEVNET.genesis)
PRODUCTION_GENESIS = genesis_from_value(
    {name: value for name, value in DEVNET.genesis.items() if name != "development"}
)
NOW = DEV_GENESIS.time_ms + 1000
SKEW = DEV_GENESIS.params["max_clock_skew_ms"]
PROPOSER = DEVNET.validators[0].ed25519.public


class Node:
    """One replica: an executor over its own LevelDB, committing what it executes."""

    def __init__(self, path: Path, genesis: Genesis) -> None:
        self.path = path
        self.genesis = genesis
        self.kv = LevelDBStore(path)
        self.executor = Executor(ChainStore(self.kv), genesis)

    def propose(self, txs: list[Any], now_ms: int = NOW) -> Block:
        tip = self.executor.tip
        block, rejected = self.executor.build(
            0, tip.height + 1, tip.block_hash, txs, PROPOSER, now_ms
        )
        assert not rejected
        return block

    def commit(self, block: Block) -> tuple[Receipt, ...]:
        certificate = Certificate(block.header.height, 0, block.hash, b"\x01", bytes(96))
        return self.executor.commit(block, certificate)

    def offset(self) -> Any:
        return self.executor.state(OFFSET_KEY)

    def restart(self) -> None:
        self.kv.close()
        self.kv = LevelDBStore(self.path)
        self.executor = Executor(ChainStore(self.kv), self.genesis)


def _node(tmp_path: Path, name: str, genesis: Genesis = DEV_GENESIS) -> Iterator[Node]:
    node = Node(tmp_path / name, genesis)
    yield node
    node.kv.close()


@pytest.fixture
def proposer(tmp_path: Path) -> Iterator[Node]:
    yield from _node(tmp_path, "proposer")


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[Node]:
    yield from _node(tmp_path, "replica")


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Node]:
    yield from _node(tmp_path, "production", PRODUCTION_GENESIS)


def _call(method: str, args: dict[str, Any], org: str = "bank-a", role: str = "admin") -> Any:
    return build_tx(
        DEVNET.key(org, role), DEV_GENESIS.chain, "clock", method, args, valid_until=100
    )


def _advance(days: Any, org: str = "bank-a", role: str = "admin") -> Any:
    return _call("advance", {"days": days}, org, role)


def _one(node: Node, tx: Any, now_ms: int = NOW) -> Receipt:
    (receipt,) = node.commit(node.propose([tx], now_ms))
    return receipt


# -- the genesis marker -----------------------------------------------------------------------


def test_localnet_genesis_marks_a_development_chain_and_a_plain_one_does_not() -> None:
    assert DEVNET.genesis["development"] is True
    assert DEV_GENESIS.development
    assert not PRODUCTION_GENESIS.development


def test_a_consortium_genesis_is_never_a_development_chain() -> None:
    document, genesis = assemble_genesis(
        chain="tally-prod",
        time_ms=DEV_GENESIS.time_ms,
        validators=DEVNET.genesis["validators"],
        orgs=DEVNET.genesis["orgs"],
        currencies=DEVNET.genesis["currencies"],
        params={"batch_ms": 20},
    )
    assert "development" not in document
    assert not genesis.development
    assert OFFSET_KEY not in genesis_state(genesis)
    assert genesis_state(DEV_GENESIS)[OFFSET_KEY] == 0


@pytest.mark.parametrize("marker", [1, "true", None, [True]])
def test_a_development_marker_that_is_not_a_boolean_is_refused(marker: Any) -> None:
    with pytest.raises(GenesisError, match="development must be true or false"):
        genesis_from_value({**DEVNET.genesis, "development": marker})


# -- the time rule ----------------------------------------------------------------------------


def test_an_advance_moves_the_next_blocks_time_on_every_replica_at_the_same_height(
    proposer: Node, replica: Node
) -> None:
    """The replica's own clock never moved: it checks the proposer's moved time against its
    clock plus the offset of the same parent state, so it accepts the block."""
    advance_block = proposer.propose([_advance(100)])
    assert advance_block.header.time_ms == NOW  # its own time was fixed before it ran
    replica.executor.execute(advance_block, NOW, SKEW)
    (receipt,) = proposer.commit(advance_block)
    replica.commit(advance_block)
    assert receipt.status == "ok", receipt.error
    assert receipt.result == {"days": 100, "offset_ms": 100 * DAY_MS, "from_height": 2}

    next_block = proposer.propose([_call("tick", {})])
    assert next_block.header.time_ms == NOW + 100 * DAY_MS
    replica.executor.execute(next_block, NOW, SKEW)
    (tick,) = proposer.commit(next_block)
    replica.commit(next_block)
    assert tick.result["time_ms"] == NOW + 100 * DAY_MS
    assert replica.executor.tip.block_hash == proposer.executor.tip.block_hash
    assert replica.offset() == proposer.offset() == 100 * DAY_MS


def test_a_block_on_an_uncommitted_advance_is_timed_and_checked_with_its_offset(
    proposer: Node, replica: Node
) -> None:
    """Pipelined heights: h + 1 is built and checked on top of h before h is committed."""
    advance_block = proposer.propose([_advance(7)])
    replica.executor.execute(advance_block, NOW, SKEW)
    tip = proposer.executor.tip
    next_block, _ = proposer.executor.build(
        0, tip.height + 2, advance_block.hash, [_call("tick", {})], PROPOSER, NOW
    )
    assert next_block.header.time_ms == NOW + 7 * DAY_MS
    replica.executor.execute(next_block, NOW, SKEW)
    for block in (advance_block, next_block):
        proposer.commit(block)
        replica.commit(block)
    assert replica.executor.tip.block_hash == next_block.hash


def test_a_block_that_ignores_the_offset_is_refused_as_off_the_clock(
    proposer: Node, replica: Node
) -> None:
    block = proposer.propose([_advance(100)])
    replica.executor.execute(block, NOW, SKEW)
    proposer.commit(block)
    replica.commit(block)
    honest = proposer.propose([_call("tick", {})])
    stale = Block(replace(honest.header, time_ms=NOW), honest.txs)
    with pytest.raises(InvalidBlock, match="ms off our clock"):
        replica.executor.execute(stale, NOW, SKEW)


def test_block_time_never_goes_back_when_the_wall_clock_does(proposer: Node) -> None:
    proposer.commit(proposer.propose([_advance(10)]))
    times = []
    for now_ms in (NOW + 5000, NOW, NOW - 3000):
        block = proposer.propose([_call("tick", {})], now_ms)
        proposer.commit(block)
        times.append(block.header.time_ms)
    assert times == sorted(times)
    assert times[0] == NOW + 5000 + 10 * DAY_MS
    assert times[-1] == times[0]


def test_advances_add_up(proposer: Node) -> None:
    for days in (1, 30, 3650):
        assert _one(proposer, _advance(days)).status == "ok"
    assert proposer.offset() == (1 + 30 + 3650) * DAY_MS
    assert proposer.propose([_call("tick", {})]).header.time_ms == NOW + 3681 * DAY_MS


def test_the_offset_survives_a_restart(proposer: Node) -> None:
    proposer.commit(proposer.propose([_advance(100)]))
    proposer.restart()
    assert proposer.offset() == 100 * DAY_MS
    assert proposer.propose([_call("tick", {})]).header.time_ms == NOW + 100 * DAY_MS


def test_a_chain_without_the_marker_refuses_and_nothing_changes(production: Node) -> None:
    block = production.propose([_advance(100)])
    assert production.executor.pending[block.hash].overlay.writes == {}
    (receipt,) = production.commit(block)
    assert receipt.status == "failed"
    assert receipt.error is not None and receipt.error.code == "NOT_DEVELOPMENT_CHAIN"
    assert "development" in receipt.error.message
    assert production.offset() is None
    tick = _one(production, _call("tick", {}))
    assert tick.error is not None and tick.error.code == "NOT_DEVELOPMENT_CHAIN"
    assert production.propose([_advance(1)]).header.time_ms == NOW


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -1, 3651, True, "5", None])
def test_days_outside_1_to_3650_are_refused(proposer: Node, days: Any) -> None:
    receipt = _one(proposer, _advance(days))
    assert receipt.error is not None and receipt.error.code == "BAD_ARGUMENT"
    assert proposer.offset() == 0


@pytest.mark.parametrize(("org", "role"), [("bank-a", "operator"), ("acme-steel", "admin")])
def test_only_a_banks_admin_moves_the_clock(proposer: Node, org: str, role: str) -> None:
    receipt = _one(proposer, _advance(1, org, role))
    assert receipt.error is not None and receipt.error.code == "NOT_AUTHORIZED"
    assert proposer.offset() == 0


def test_the_clock_runs_at_most_100_years_ahead(proposer: Node) -> None:
    full, rest = divmod(MAX_OFFSET_DAYS, 3650)
    for days in [3650] * full + ([rest] if rest else []):
        assert _one(proposer, _advance(days)).status == "ok"
    receipt = _one(proposer, _advance(1))
    assert receipt.error is not None and receipt.error.code == "CLOCK_OFFSET_TOO_LARGE"
    assert proposer.offset() == MAX_OFFSET_DAYS * DAY_MS


# -- the CLI's argument -----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0", "-1", "1.5", "abc", "", "3651", "1e3", "٣", "+5"])
def test_the_cli_refuses_an_advance_that_is_not_1_to_3650_whole_days(text: str) -> None:
    with pytest.raises(LocalnetError) as refused:
        parse_days(text)
    assert refused.value.code == "BAD_ADVANCE"


@pytest.mark.parametrize(("text", "days"), [("1", 1), (" 100 ", 100), ("3650", 3650)])
def test_the_cli_reads_whole_days(text: str, days: int) -> None:
    assert parse_days(text) == days
