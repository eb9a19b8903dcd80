"""The set history of ledger.membership: effective heights, n/f/quorum, and following receipts."""

from __future__ import annotations

import pytest

from ledger.certificates import quorum_size
from ledger.crypto import BlsKey, Ed25519Key
from ledger.genesis import ValidatorInfo, validators_hash
from ledger.membership import (
    SET_CHANGED_EVENT,
    ValidatorHistory,
    effective_height,
    fault_tolerance,
    quorum_of,
    set_changes,
    validator_event,
    validator_from_record,
    validator_record,
)
from ledger.types import Receipt


def validator(index: int) -> ValidatorInfo:
    bls = BlsKey.from_secret(100 + index)
    return ValidatorInfo(
        name=f"v{index}",
        org="bank-a",
        ed25519=Ed25519Key.from_seed(bytes([index]) * 32).public,
        bls=bls.public,
        bls_pop=bls.proof_of_possession(),
        p2p=f"127.0.0.1:{27000 + index}",
    )


GENESIS = tuple(validator(i) for i in range(4))


def change_receipt(height: int, effective: int, members: tuple[ValidatorInfo, ...]) -> Receipt:
    event = {
        "contract": "registry",
        "type": SET_CHANGED_EVENT,
        "change": "add_validator",
        "name": members[-1].name,
        "effective_height": effective,
        "validators": [validator_event(validator_record(v)) for v in members],
    }
    return Receipt(b"\x01" * 32, height, 0, "ok", None, (event,), None)


@pytest.mark.parametrize(
    ("committed", "interval", "effective"),
    [
        (1, 32, 33),
        (31, 32, 33),
        (32, 32, 33),
        (33, 32, 65),
        (3, 4, 5),
        (4, 4, 5),
        (5, 4, 9),
        (7, 1, 8),
    ],
)
def test_effective_height_is_the_first_height_after_the_next_checkpoint(
    committed: int, interval: int, effective: int
) -> None:
    assert effective_height(committed, interval) == effective


@pytest.mark.parametrize(
    ("n", "f", "quorum"),
    [(1, 0, 1), (2, 0, 2), (3, 0, 3), (4, 1, 3), (5, 1, 4), (6, 1, 5), (7, 2, 5)],
)
def test_quorum_is_n_minus_f(n: int, f: int, quorum: int) -> None:
    assert fault_tolerance(n) == f
    assert quorum_of(n) == quorum
    assert quorum_size(n) == quorum  # the certificate rule counts n − f, not 2f+1 (3 of 5)
    # any two quorums share at least f + 1 validators, so at least one honest one
    assert 2 * quorum - n >= f + 1


def test_records_and_events_round_trip() -> None:
    for member in GENESIS:
        assert validator_from_record(validator_record(member)) == member
        assert validator_from_record(validator_event(validator_record(member))) == member
    broken = dict(validator_record(GENESIS[0]), bls=b"\x00" * 47)
    with pytest.raises(ValueError):
        validator_from_record(broken)
    with pytest.raises(ValueError):
        validator_from_record({**validator_record(GENESIS[0]), "extra": 1})


def test_history_follows_committed_changes_from_their_effective_height() -> None:
    five = (*GENESIS, validator(4))
    four = tuple(v for v in five if v.name != "v1")
    history = ValidatorHistory(GENESIS)
    history = history.follow(1, [])
    history = history.follow(3, [change_receipt(3, 5, five)])
    history = history.follow(7, [change_receipt(7, 9, four)])
    assert [history.at(h) for h in (1, 4)] == [GENESIS, GENESIS]
    assert history.at(5) == five and history.at(8) == five
    assert history.at(9) == four and history.at(1000) == four
    assert history.hash_at(5) == validators_hash(five)
    assert history.latest() == four
    assert history.effective_heights() == [5, 9]


def test_failed_receipts_and_other_contracts_announce_nothing() -> None:
    good = change_receipt(3, 5, (*GENESIS, validator(4)))
    failed = Receipt(good.tx, 3, 0, "failed", None, good.events, None)
    forged = Receipt(good.tx, 3, 0, "ok", None, ({**good.events[0], "contract": "cash"},), None)
    assert set_changes(3, [failed, forged]) == []
    assert len(set_changes(3, [good])) == 1


def test_a_change_that_claims_to_act_at_or_below_its_block_is_refused() -> None:
    with pytest.raises(ValueError):
        set_changes(5, [change_receipt(5, 5, GENESIS)])
    empty = change_receipt(3, 5, GENESIS)
    event = dict(empty.events[0], validators=[])
    with pytest.raises(ValueError):
        set_changes(3, [Receipt(empty.tx, 3, 0, "ok", None, (event,), None)])
