"""The replica's liveness rules one at a time (issue 11): a NEW-VIEW names blocks by hash and a
replica fetches what it lacks, refusing wrong blocks; a timeout only suspects the primary;
records of the previous release are converted on restart; an idle replica sends its status
and catches up when f+1 peers are ahead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consensus.blocks import block_key
from consensus.interface import (
    BlockExecuted,
    BlockFetched,
    Broadcast,
    ExecuteBlock,
    FetchBlock,
    FetchBlocks,
    Persist,
    Start,
    Suspected,
    TimerFired,
    TxsArrived,
    ViewChanged,
)
from consensus.messages import (
    CheckpointProof,
    NewView,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedMessage,
    Status,
    Suspect,
    ViewChange,
)
from consensus.records import NEW_VIEW_KEY, parse_records, vote_key
from consensus.replica import PbftReplica
from consensus.state import RETRANSMIT_TIMER, VIEW_TIMER
from ledger.types import Block
from tests.support.replica_kit import GENESIS, make_block, of_type, received, setup, sign

NO_CHECKPOINT = CheckpointProof(0, GENESIS, ())


def _proof(cryptos: list, view: int, block: Block, voters: tuple[int, ...]) -> PreparedProof:
    prepares = tuple(
        sign(cryptos, i, Prepare(view, block.header.height, block.hash)) for i in voters
    )
    return PreparedProof(view, block.header.height, block.hash, prepares)


def _new_view(
    cryptos: list, view: int, reports: dict[int, tuple[PreparedProof, ...]]
) -> SignedMessage:
    changes = tuple(
        sign(cryptos, s, ViewChange(view, NO_CHECKPOINT, p)) for s, p in reports.items()
    )
    return sign(cryptos, view % 4, NewView(view, changes))


def _broadcasts(actions: list) -> list:
    return [a.message.message for a in actions if isinstance(a, Broadcast)]


def test_a_replica_fetches_a_re_proposed_block_by_hash_and_refuses_a_wrong_one() -> None:
    config, cryptos = setup(4, 3)
    replica = PbftReplica(config, cryptos[3])
    replica.handle(Start(0))
    block = make_block(config, 1, GENESIS, pad=200_000)  # a big block: the messages stay small
    proof = _proof(cryptos, 0, block, (0, 1, 2))
    new_view = _new_view(cryptos, 1, {1: (proof,), 2: (proof,), 3: ()})
    assert len(new_view.encode()) < 5_000 < len(block.encode())
    actions = replica.handle(received(new_view, 10))
    assert replica.view == 1
    fetches = of_type(actions, FetchBlock)
    assert fetches == [FetchBlock(1, block.hash, (0, 1, 2))]  # its voters first: they hold it
    wrong = Block(block.header, (b"not the tx",))  # the right header, other txs
    actions = replica.handle(BlockFetched(1, block.hash, wrong, 20))
    assert not of_type(actions, ExecuteBlock)
    actions = replica.handle(TimerFired(RETRANSMIT_TIMER, 400))
    assert of_type(actions, FetchBlock) == fetches  # asked again
    actions = replica.handle(BlockFetched(1, block.hash, block, 30))
    assert of_type(actions, ExecuteBlock) == [ExecuteBlock(block, check_time=False)]
    actions = replica.handle(BlockExecuted(block.hash, True, "", 31))
    keys = [a.key for a in actions if isinstance(a, Persist)]
    assert keys[:2] == [vote_key(1), block_key(1, block.hash)]  # on disk before the vote
    assert _broadcasts(actions) == [Prepare(1, 1, block.hash)]
    assert replica.known_block(1, block.hash) == block  # and it can give it to others now


def test_a_replica_alone_in_a_timeout_suspects_the_primary_but_keeps_voting() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    replica.handle(Start(0))
    replica.handle(TxsArrived((b"only-i-hold-this".ljust(32, b"."),), 0))
    censorship = config.censorship_timeout(0)
    actions = replica.handle(TimerFired(VIEW_TIMER, censorship + 1))
    assert _broadcasts(actions) == [Suspect(0)]
    assert of_type(actions, Suspected) and not of_type(actions, ViewChanged)
    assert replica.view == 0
    block = make_block(config, 1, GENESIS)
    replica.handle(received(sign(cryptos, 0, PrePrepare(0, 1, block)), censorship + 2))
    actions = replica.handle(BlockExecuted(block.hash, True, "", censorship + 3))
    assert _broadcasts(actions) == [Prepare(0, 1, block.hash)]  # still voting in view 0
    # A second suspicion (f+1 = 2: at least one honest replica wants out) leaves the view.
    actions = replica.handle(received(sign(cryptos, 2, Suspect(0)), censorship + 4))
    assert replica.view == 1 and of_type(actions, ViewChanged)
    assert isinstance(_broadcasts(actions)[0], ViewChange)


def test_a_suspicion_heard_long_ago_no_longer_counts() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    replica.handle(Start(0))
    replica.handle(TxsArrived((b"t".ljust(32, b"."),), 0))
    replica.handle(received(sign(cryptos, 2, Suspect(0)), 10))  # long before ours
    due = config.censorship_timeout(0) + 1
    replica.handle(TimerFired(VIEW_TIMER, due))
    assert replica.view == 0  # only ours counts: 2's has expired
    actions = replica.handle(received(sign(cryptos, 2, Suspect(0)), due + 1))
    assert replica.view == 1 and of_type(actions, ViewChanged)  # 2 suspects again: f+1


# Records persisted by replica 2 of the previous release (its VIEW-CHANGE and prepared proof
# held whole blocks), written by that release's code with the keys of tests/support/replica_kit:
# after it prepared block 1 and left view 0, and after it then installed NEW-VIEW(1).
LEGACY = json.loads((Path(__file__).parents[1] / "support/legacy_pbft_records.json").read_text())


def _legacy(state: str) -> dict[str, bytes]:
    return {key: bytes.fromhex(value) for key, value in LEGACY[state].items()}


@pytest.mark.parametrize("state", ["after_view_change", "after_new_view"])
def test_records_of_the_previous_release_are_converted_and_stay_binding(state: str) -> None:
    config, cryptos = setup(4, 2)
    block = Block.decode(bytes.fromhex(LEGACY["block"]))
    records = _legacy(state)
    replica = PbftReplica.restore(config, cryptos[2], records, 0, GENESIS)
    actions = replica.handle(Start(100))
    written = {a.key: a.value for a in actions if isinstance(a, Persist)}
    assert written[block_key(1, block.hash)] == block.encode()
    if state == "after_new_view":
        assert written[NEW_VIEW_KEY] == b""  # others' signatures over the old form: dropped
    after = {k: v for k, v in {**records, **written}.items() if v}
    restored = parse_records(after)  # everything reads in this release's form now
    proof = restored.proofs[1]
    assert (proof.view, proof.height, proof.block_hash) == (0, 1, block.hash)
    assert restored.legacy_view_change is None and restored.view_change is not None
    change = restored.view_change.message
    assert isinstance(change, ViewChange) and change.view == 1 and change.prepared == (proof,)
    sent = [a.message for a in actions if isinstance(a, Broadcast)]
    assert restored.view_change in sent and len(restored.view_change.encode()) < 2_000
    # Bound by its vote as before (it voted in view 1 too once it had installed NEW-VIEW(1));
    # in view 1 it waits for a NEW-VIEW of this release.
    voted_view = 1 if state == "after_new_view" else 0
    assert replica.view == 1 and not replica.installed
    assert replica.log.get(1).vote == (voted_view, block.hash)
    assert replica.known_block(1, block.hash) == block
    again = PbftReplica.restore(config, cryptos[2], after, 0, GENESIS)
    assert again.vc_sent == restored.view_change  # a second restart reads the new form


def test_after_conversion_a_replica_never_prepares_a_second_block_at_one_view_and_height() -> None:
    """More than f faulty replicas forge a NEW-VIEW(1) re-proposing another block at height 1:
    the converted replica, which voted for block 1 in view 1, fetches and executes it but
    sends no PREPARE for it."""
    config, cryptos = setup(4, 2)
    block = Block.decode(bytes.fromhex(LEGACY["block"]))
    other = make_block(config, 1, GENESIS, tag=2)
    assert other.hash != block.hash
    replica = PbftReplica.restore(config, cryptos[2], _legacy("after_new_view"), 0, GENESIS)
    replica.handle(Start(100))
    forged = _proof(cryptos, 0, other, (0, 1, 3))
    actions = replica.handle(
        received(_new_view(cryptos, 1, {0: (forged,), 1: (forged,), 3: ()}), 110)
    )
    assert replica.installed and of_type(actions, FetchBlock)
    replica.handle(BlockFetched(1, other.hash, other, 120))
    actions = replica.handle(BlockExecuted(other.hash, True, "", 130))
    assert not [m for m in _broadcasts(actions) if isinstance(m, Prepare)]


def test_an_idle_replica_sends_its_status_every_tick_and_catches_up_from_peers_ahead() -> None:
    config, cryptos = setup(4, 0)
    replica = PbftReplica(config, cryptos[0])
    replica.handle(Start(0))
    tick = config.retransmit_interval()
    actions = replica.handle(TimerFired(RETRANSMIT_TIMER, tick))
    assert any(isinstance(m, Status) for m in _broadcasts(actions))  # the heartbeat
    for peer in (1, 2):
        replica.handle(received(sign(cryptos, peer, Status(1, True, 2, 0)), tick + 1))
    actions = replica.handle(TimerFired(RETRANSMIT_TIMER, 2 * tick))
    assert of_type(actions, FetchBlocks) == [FetchBlocks(1, 2, (1, 2))]


def test_a_replica_ignores_a_block_fetched_for_a_name_it_did_not_ask_for() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    replica.handle(Start(0))
    block = make_block(config, 1, GENESIS)
    actions = replica.handle(BlockFetched(1, block.hash, block, 5))
    assert not of_type(actions, ExecuteBlock) and not _broadcasts(actions)
