"""Rules of the PBFT replica checked one at a time, by hand-fed events (the simulator in
tests/sim checks them all together under faults)."""

from __future__ import annotations

from consensus.crypto import ValidatorCrypto
from consensus.interface import (
    BlockExecuted,
    Broadcast,
    BuildProposal,
    CommitBlock,
    ExecuteBlock,
    Persist,
    ProposalBuilt,
    Start,
    TimerFired,
    TxsArrived,
    ViewChanged,
)
from consensus.messages import (
    CheckpointProof,
    Commit,
    Prepare,
    PreparedProof,
    PrePrepare,
    SignedMessage,
    ViewChange,
)
from consensus.replica import PbftReplica
from consensus.state import BATCH_TIMER
from consensus.viewchange import select_new_view
from ledger.certificates import verify_certificate
from ledger.types import Block, commit_digest
from tests.support.replica_kit import (
    CHAIN,
    GENESIS,
    make_block,
    of_type,
    received,
    setup,
    sign,
)


def test_single_validator_builds_and_commits_a_certified_block() -> None:
    config, cryptos = setup(1, 0)
    replica = PbftReplica(config, cryptos[0])
    replica.handle(Start(0))
    assert replica.handle(TxsArrived((b"t" * 32,), 1))  # arms the batch timer
    actions = replica.handle(TimerFired(BATCH_TIMER, 20))
    build = of_type(actions, BuildProposal)[0]
    assert isinstance(build, BuildProposal) and build.parent_hash == GENESIS
    block = make_block(config, 1, GENESIS)
    actions = replica.handle(ProposalBuilt(0, 1, block, 21))
    commits = of_type(actions, CommitBlock)
    assert len(commits) == 1
    commit = commits[0]
    assert isinstance(commit, CommitBlock)
    assert verify_certificate(
        [c._bls_publics[0] for c in cryptos], CHAIN, block.hash, commit.certificate, height=1
    )
    assert replica.height == 1


def test_backup_persists_each_vote_before_sending_it_and_commits_with_a_certificate() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    replica.handle(Start(0))
    block = make_block(config, 1, GENESIS)
    actions = replica.handle(received(sign(cryptos, 0, PrePrepare(0, 1, block))))
    assert of_type(actions, ExecuteBlock) == [ExecuteBlock(block, check_time=True)]
    actions = replica.handle(BlockExecuted(block.hash, True, "", 2))
    kinds = [type(a).__name__ for a in actions if isinstance(a, Persist | Broadcast)]
    assert kinds[:3] == ["Persist", "Persist", "Broadcast"]  # on disk before it leaves:
    keys = [a.key for a in actions if isinstance(a, Persist)]
    assert keys[0].startswith("pbft/vote/") and keys[1].startswith("pbft/block/")  # vote, block
    for sender in (0, 2):
        actions = replica.handle(received(sign(cryptos, sender, Prepare(0, 1, block.hash))))
    persisted = [a for a in actions if isinstance(a, Persist)]
    sent = [a for a in actions if isinstance(a, Broadcast)]
    assert persisted and persisted[0].key.startswith("pbft/prepared/")
    assert actions.index(persisted[0]) < actions.index(sent[0])
    assert isinstance(sent[0].message.message, Commit)
    digest = commit_digest(CHAIN, 1, block.hash)
    for sender in (0, 3):
        bls_sig = cryptos[sender].bls_sign(digest)
        actions = replica.handle(received(sign(cryptos, sender, Commit(0, 1, block.hash, bls_sig))))
    commits = of_type(actions, CommitBlock)
    assert len(commits) == 1 and isinstance(commits[0], CommitBlock)
    publics = cryptos[0]._bls_publics
    assert verify_certificate(publics, CHAIN, block.hash, commits[0].certificate, height=1)


def test_a_commit_with_a_bad_bls_signature_is_left_out_of_the_certificate() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    block = make_block(config, 1, GENESIS)
    replica.handle(received(sign(cryptos, 0, PrePrepare(0, 1, block))))
    replica.handle(BlockExecuted(block.hash, True, "", 2))
    for sender in (0, 2):
        replica.handle(received(sign(cryptos, sender, Prepare(0, 1, block.hash))))
    bad = sign(cryptos, 0, Commit(0, 1, block.hash, bytes(96)))
    assert not of_type(replica.handle(received(bad)), CommitBlock)
    digest = commit_digest(CHAIN, 1, block.hash)
    good = sign(cryptos, 2, Commit(0, 1, block.hash, cryptos[2].bls_sign(digest)))
    assert not of_type(replica.handle(received(good)), CommitBlock)  # 0's vote was rejected
    third = sign(cryptos, 3, Commit(0, 1, block.hash, cryptos[3].bls_sign(digest)))
    assert of_type(replica.handle(received(third)), CommitBlock)


def test_restored_replica_never_prepares_a_second_block_for_one_view_and_height() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    records: dict[str, bytes] = {}
    first = make_block(config, 1, GENESIS, tag=1)
    for event in (
        received(sign(cryptos, 0, PrePrepare(0, 1, first))),
        BlockExecuted(first.hash, True, "", 1),
    ):
        for action in replica.handle(event):
            if isinstance(action, Persist):
                records[action.key] = action.value
    restored = PbftReplica.restore(config, cryptos[1], records, 0, GENESIS)
    restored.handle(Start(5))
    other = make_block(config, 1, GENESIS, tag=2)  # an equivocating primary's second block
    actions = restored.handle(received(sign(cryptos, 0, PrePrepare(0, 1, other))))
    actions += restored.handle(BlockExecuted(other.hash, True, "", 6))
    assert not [a for a in actions if isinstance(a, Broadcast)]
    # The block it voted for before the crash is still welcome, and gets the same vote.
    restored.handle(received(sign(cryptos, 0, PrePrepare(0, 1, first))))
    actions = restored.handle(BlockExecuted(first.hash, True, "", 7))
    votes = [a.message.message for a in actions if isinstance(a, Broadcast)]
    assert votes == [Prepare(0, 1, first.hash)]


def test_two_proposals_for_one_height_make_a_backup_leave_the_view() -> None:
    config, cryptos = setup(4, 2)
    replica = PbftReplica(config, cryptos[2])
    a = make_block(config, 1, GENESIS, tag=1)
    b = make_block(config, 1, GENESIS, tag=2)
    replica.handle(received(sign(cryptos, 0, PrePrepare(0, 1, a))))
    actions = replica.handle(received(sign(cryptos, 0, PrePrepare(0, 1, b))))
    changed = of_type(actions, ViewChanged)
    assert changed and isinstance(changed[0], ViewChanged) and changed[0].view == 1
    persisted = [a for a in actions if isinstance(a, Persist)]
    assert [p.key for p in persisted] == ["pbft/view", "pbft/vc"]
    assert replica.view == 1


def test_messages_from_a_wrong_signer_or_old_view_are_ignored() -> None:
    config, cryptos = setup(4, 1)
    replica = PbftReplica(config, cryptos[1])
    block = make_block(config, 1, GENESIS)
    forged = sign(cryptos, 3, PrePrepare(0, 1, block))
    forged = SignedMessage(0, forged.payload, forged.sig, forged.message)  # claims to be 0
    assert replica.handle(received(forged)) == []
    not_primary = sign(cryptos, 2, PrePrepare(0, 1, block))
    assert not of_type(replica.handle(received(not_primary)), ExecuteBlock)


def _proof(cryptos: list[ValidatorCrypto], view: int, block: Block) -> PreparedProof:
    prepares = tuple(
        sign(cryptos, i, Prepare(view, block.header.height, block.hash)) for i in range(3)
    )
    return PreparedProof(view, block.header.height, block.hash, prepares)


def test_new_view_re_proposes_the_highest_view_prepared_block_at_each_height() -> None:
    config, cryptos = setup(4, 0)
    genesis = CheckpointProof(0, GENESIS, ())
    old = make_block(config, 1, GENESIS, view=0, tag=1)
    new = make_block(config, 1, GENESIS, view=1, tag=2)
    child = make_block(config, 2, new.hash, view=1, tag=3)
    changes = [
        ViewChange(2, genesis, (_proof(cryptos, 0, old),)),
        ViewChange(2, genesis, (_proof(cryptos, 1, new), _proof(cryptos, 1, child))),
        ViewChange(2, genesis, ()),
    ]
    selection = select_new_view(2, changes)
    assert selection is not None
    assert selection.hashes == (new.hash, child.hash)
    grandchild = make_block(config, 3, child.hash, view=1, tag=4)
    gap = [ViewChange(2, genesis, (_proof(cryptos, 1, new), _proof(cryptos, 1, grandchild)))]
    assert select_new_view(2, gap) is None  # no proof at height 2: refused
