"""The replica's liveness rules one at a time (issue 11): a NEW-VIEW names blocks by hash and a
replica fetches what it lacks, refusing wrong blocks; a timeout only suspects the primary;
records of the previous release are converted on restart; an idle replica sends its status
and catches up when f+1 peers are ahead."""

from __future__ import annotations

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
    signing_digest,
)
from consensus.records import NEW_VIEW_KEY, VIEW_CHANGE_KEY, parse_records, prepared_key, vote_key
from consensus.replica import PbftReplica
from consensus.state import RETRANSMIT_TIMER, VIEW_TIMER
from ledger import codec
from ledger.types import Block
from tests.support.replica_kit import CHAIN, GENESIS, make_block, of_type, received, setup, sign

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
    # One other suspicion is not enough (2 < 2f+1); a third leaves the view.
    now = censorship + 4
    actions = replica.handle(received(sign(cryptos, 2, Suspect(0)), now))
    assert replica.view == 0 and not of_type(actions, ViewChanged)
    actions = replica.handle(received(sign(cryptos, 3, Suspect(0)), now + 1))
    assert replica.view == 1 and of_type(actions, ViewChanged)
    assert isinstance(_broadcasts(actions)[0], ViewChange)


def test_a_suspicion_heard_long_ago_no_longer_counts() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    replica.handle(Start(0))
    replica.handle(TxsArrived((b"t".ljust(32, b"."),), 0))
    replica.handle(received(sign(cryptos, 2, Suspect(0)), 10))  # long before ours
    due = config.censorship_timeout(0) + 1
    replica.handle(received(sign(cryptos, 3, Suspect(0)), due - 100))
    replica.handle(TimerFired(VIEW_TIMER, due))
    assert replica.view == 0  # ours and 3's count; 2's has expired
    actions = replica.handle(received(sign(cryptos, 2, Suspect(0)), due + 1))
    assert replica.view == 1 and of_type(actions, ViewChanged)  # 2 suspects again: 2f+1


def _legacy_proof_value(proof: PreparedProof, block: Block) -> dict:
    """A prepared proof as the previous release stored it: with its whole block."""
    return {
        "view": proof.view,
        "block": {"header": block.header.to_value(), "txs": list(block.txs)},
        "prepares": [p.to_value() for p in proof.prepares],
    }


def _legacy_envelope(cryptos: list, sender: int, payload: dict) -> bytes:
    msg = codec.encode(payload)
    sig = cryptos[sender].sign_message(signing_digest(CHAIN, sender, msg))
    return codec.encode({"from": sender, "msg": msg, "sig": sig})


def test_records_of_the_previous_release_are_converted_and_stay_binding() -> None:
    config, cryptos = setup(4, 2)
    block = make_block(config, 1, GENESIS, pad=50_000)
    proof = _proof(cryptos, 0, block, (0, 1, 2))
    old_change = {
        "type": "view_change",
        "view": 1,
        "checkpoint": NO_CHECKPOINT.to_value(),
        "prepared": [_legacy_proof_value(proof, block)],
    }
    old_vc = _legacy_envelope(cryptos, 2, old_change)
    old_nv = _legacy_envelope(
        cryptos, 1, {"type": "new_view", "view": 1, "view_changes": [codec.decode(old_vc)]}
    )
    records = {
        "pbft/view": codec.encode({"view": 1}),
        VIEW_CHANGE_KEY: old_vc,
        NEW_VIEW_KEY: old_nv,
        vote_key(1): codec.encode({"view": 0, "hash": block.hash}),
        prepared_key(1): codec.encode(_legacy_proof_value(proof, block)),
    }
    replica = PbftReplica.restore(config, cryptos[2], records, 0, GENESIS)
    actions = replica.handle(Start(100))
    written = {a.key: a.value for a in actions if isinstance(a, Persist)}
    assert written[NEW_VIEW_KEY] == b""  # dropped: others' signatures over the old form
    assert written[block_key(1, block.hash)] == block.encode()
    after = {**records, **written}
    restored = parse_records({k: v for k, v in after.items() if v})
    assert restored.proofs[1] == proof  # the same signed prepares, by hash
    assert restored.view_change is not None and restored.legacy_view_change is None
    change = restored.view_change.message
    assert isinstance(change, ViewChange) and change.prepared == (proof,)
    sent = [a.message for a in actions if isinstance(a, Broadcast)]
    assert restored.view_change in sent and len(restored.view_change.encode()) < 2_000
    # Still bound by its vote: in view 0 at height 1 only that block; it waits in view 1.
    assert replica.view == 1 and replica.log.get(1).vote == (0, block.hash)
    assert replica.known_block(1, block.hash) == block
    again = PbftReplica.restore(config, cryptos[2], after, 0, GENESIS)
    assert again.vc_sent == restored.view_change  # a second restart reads the new form


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
