"""The escrow contract through the real executor: every rule and every refusal (issue 18).

Each refusal goes through `refused`, which compares every state key before and after the
failed block: balances, supply, what is locked, the escrow records and their indexes, daily
counters. The chain is shared by the module; each test makes its own escrows at the chain's
current block time, so the order the tests run in does not matter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.runtime import iso_day
from contracts.wording import moment
from tests.support.compliance_flow import events_of, expire_kyc, refused, sanction, set_limit
from tests.support.contract_chain import DAY_MS, ContractChain

PAYER = "acme-steel"
PAYEE = "rhein-parts"
SECRET = b"the swap's one secret"
CONDITION = hashlib.sha256(SECRET).digest()
HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path_factory.mktemp("escrow") / "db")
    for org in (PAYER, PAYEE, "bigauto", "fuel-co", "ore-mining"):
        chain.fund(org, "CNY", 100_000_000)
    yield chain
    chain.close()


def terms(chain: ContractChain, **overrides: Any) -> dict[str, Any]:
    """A hash-locked escrow of 1,000.00 CNY from PAYER to PAYEE, cancellable in a day."""
    args: dict[str, Any] = {
        "currency": "CNY",
        "to": PAYEE,
        "amount": 100_000,
        "condition": CONDITION,
        "cancel_ms": chain.now_ms + DAY_MS,
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not ...}


def create(chain: ContractChain, payer: str = PAYER, **overrides: Any) -> str:
    escrow_id: str = chain.call(payer, "escrow", "create", terms(chain, **overrides))["id"]
    return escrow_id


def record(chain: ContractChain, escrow_id: str) -> dict[str, Any]:
    value: dict[str, Any] = chain.state(f"esc/rec/{escrow_id}")
    return value


def locked(chain: ContractChain) -> int:
    return int(chain.state("cash/locked/CNY") or 0)


def money_adds_up(chain: ContractChain) -> bool:
    balances = sum(int(v) for v in chain.state_items("cash/bal/CNY/").values())
    held = sum(int(v) for v in chain.state_items("cash/held/CNY/").values())
    return balances + held + locked(chain) == int(chain.state("cash/supply/CNY"))


# -- create ---------------------------------------------------------------------------------------


def test_create_takes_the_funds_out_of_the_payers_balance_into_the_lock(
    chain: ContractChain,
) -> None:
    payer, payee, before = chain.balance("CNY", PAYER), chain.balance("CNY", PAYEE), locked(chain)
    receipt = chain.submit(PAYER, "escrow", "create", terms(chain, release_ms=chain.now_ms))
    assert receipt.status == "ok", receipt.error
    escrow_id = receipt.result["id"]
    assert chain.balance("CNY", PAYER) == payer - 100_000
    assert chain.balance("CNY", PAYEE) == payee  # nothing reaches the payee yet
    assert locked(chain) == before + 100_000
    assert money_adds_up(chain)
    stored = record(chain, escrow_id)
    assert stored["status"] == "open" and stored["condition"] == CONDITION
    assert (stored["payer"], stored["payee"], stored["amount"]) == (PAYER, PAYEE, 100_000)
    assert stored["release_ms"] == chain.now_ms and stored["preimage"] is None
    (event,) = events_of(receipt, "escrow_created")
    assert event["id"] == escrow_id and event["condition"] == CONDITION
    index = chain.state_items("esc/by_org/")
    assert [v["roles"] for k, v in index.items() if k.endswith(escrow_id)] == [
        ["payer"],
        ["payee"],
    ]
    assert chain.state(f"pay/used/{PAYER}/CNY/{_today(chain)}") >= 100_000  # counted now


def _today(chain: ContractChain) -> str:
    return iso_day(chain.now_ms)


@pytest.mark.parametrize(
    ("code", "overrides"),
    [
        ("SELF_ESCROW", {"to": PAYER}),
        ("NO_RELEASE_TERMS", {"condition": None}),
        ("NO_RELEASE_TERMS", {"condition": ...}),
        ("BAD_TIMES", {"cancel_ms": 0}),
        ("BAD_TIMES", {"release_ms": 2**41, "cancel_ms": 2**41}),
        ("INSUFFICIENT_FUNDS", {"amount": 100_000_001}),
        ("UNKNOWN_CURRENCY", {"currency": "GBP"}),
        ("UNKNOWN_ORG", {"to": "nobody"}),
        ("BAD_ARGUMENT", {"condition": b"\x00" * 31}),
        ("BAD_ARGUMENT", {"amount": 0}),
        ("BAD_ARGUMENT", {"cancel_ms": ...}),
        ("BAD_ARGUMENT", {"cancel_ms": 2**62}),
        ("BAD_ARGUMENT", {"release_ms": -1}),
        ("BAD_ARGUMENT", {"memo": "unknown argument"}),
    ],
)
def test_a_bad_create_is_refused_with_its_code_and_changes_nothing(
    chain: ContractChain, code: str, overrides: dict[str, Any]
) -> None:
    assert refused(chain, PAYER, "escrow", "create", terms(chain, **overrides)) == code


# -- release --------------------------------------------------------------------------------------


def test_the_payee_releases_with_the_preimage_and_the_secret_is_on_the_ledger(
    chain: ContractChain,
) -> None:
    escrow_id = create(chain)
    payee, before = chain.balance("CNY", PAYEE), locked(chain)
    receipt = chain.submit(PAYEE, "escrow", "release", {"id": escrow_id, "preimage": SECRET})
    assert receipt.status == "ok", receipt.error
    assert receipt.result == {"id": escrow_id, "amount": 100_000, "to": PAYEE}
    assert chain.balance("CNY", PAYEE) == payee + 100_000
    assert locked(chain) == before - 100_000
    assert money_adds_up(chain)
    stored = record(chain, escrow_id)
    assert stored["status"] == "released" and stored["preimage"] == SECRET
    assert stored["closed_height"] == chain.executor.tip.height
    (event,) = events_of(receipt, "escrow_released")
    assert event["preimage"] == SECRET and event["payee"] == PAYEE


def test_a_time_lock_releases_from_its_release_time_without_a_preimage(
    chain: ContractChain,
) -> None:
    escrow_id = create(chain, condition=None, release_ms=chain.now_ms + HOUR_MS)
    release = {"id": escrow_id}
    assert refused(chain, PAYEE, "escrow", "release", release) == "RELEASE_TOO_EARLY"
    chain.advance_time(ms=HOUR_MS)
    assert chain.call(PAYEE, "escrow", "release", release)["to"] == PAYEE


def test_with_both_a_condition_and_a_release_time_a_release_needs_both(
    chain: ContractChain,
) -> None:
    escrow_id = create(chain, release_ms=chain.now_ms + HOUR_MS)
    with_secret = {"id": escrow_id, "preimage": SECRET}
    assert refused(chain, PAYEE, "escrow", "release", with_secret) == "RELEASE_TOO_EARLY"
    chain.advance_time(ms=HOUR_MS)
    assert refused(chain, PAYEE, "escrow", "release", {"id": escrow_id}) == "PREIMAGE_REQUIRED"
    assert chain.call(PAYEE, "escrow", "release", with_secret)["to"] == PAYEE


@pytest.mark.parametrize(
    ("code", "signer", "args"),
    [
        ("WRONG_PREIMAGE", PAYEE, {"preimage": b"a guess"}),
        ("WRONG_PREIMAGE", PAYEE, {"preimage": CONDITION}),  # the hash is not its preimage
        ("PREIMAGE_REQUIRED", PAYEE, {}),
        ("PREIMAGE_REQUIRED", PAYEE, {"preimage": None}),
        ("NOT_PAYEE", PAYER, {"preimage": SECRET}),
        ("NOT_PAYEE", "bigauto", {"preimage": SECRET}),
        ("BAD_ARGUMENT", PAYEE, {"preimage": b""}),
        ("BAD_ARGUMENT", PAYEE, {"preimage": b"x" * 257}),
        ("BAD_ARGUMENT", PAYEE, {"preimage": SECRET.hex()}),
    ],
)
def test_a_bad_release_is_refused_with_its_code_and_changes_nothing(
    chain: ContractChain, code: str, signer: str, args: dict[str, Any]
) -> None:
    escrow_id = create(chain)
    assert refused(chain, signer, "escrow", "release", {"id": escrow_id, **args}) == code
    assert record(chain, escrow_id)["status"] == "open"


def test_a_preimage_for_an_escrow_without_condition_is_refused(chain: ContractChain) -> None:
    escrow_id = create(chain, condition=None, release_ms=chain.now_ms)
    args = {"id": escrow_id, "preimage": SECRET}
    assert refused(chain, PAYEE, "escrow", "release", args) == "NO_CONDITION"


def test_an_unknown_escrow_is_refused(chain: ContractChain) -> None:
    args = {"id": "ab" * 32, "preimage": SECRET}
    assert refused(chain, PAYEE, "escrow", "release", args) == "UNKNOWN_ESCROW"
    assert refused(chain, PAYER, "escrow", "cancel", {"id": "ab" * 32}) == "UNKNOWN_ESCROW"


def test_double_release_is_refused(chain: ContractChain) -> None:
    escrow_id = create(chain)
    args = {"id": escrow_id, "preimage": SECRET}
    chain.call(PAYEE, "escrow", "release", args)
    assert refused(chain, PAYEE, "escrow", "release", args) == "ALREADY_RELEASED"
    chain.advance_time(days=2)  # nor may the payer take back what was released
    assert refused(chain, PAYER, "escrow", "cancel", {"id": escrow_id}) == "ALREADY_RELEASED"


# -- cancel and the deadline ----------------------------------------------------------------------


def test_cancel_before_the_cancel_time_is_refused_and_after_it_refunds_the_payer(
    chain: ContractChain,
) -> None:
    escrow_id = create(chain, cancel_ms=chain.now_ms + HOUR_MS)
    assert refused(chain, PAYER, "escrow", "cancel", {"id": escrow_id}) == "CANCEL_TOO_EARLY"
    chain.advance_time(ms=HOUR_MS - 1)
    assert refused(chain, PAYER, "escrow", "cancel", {"id": escrow_id}) == "CANCEL_TOO_EARLY"
    chain.advance_time(ms=1)
    assert refused(chain, PAYEE, "escrow", "cancel", {"id": escrow_id}) == "NOT_PAYER"
    payer, before = chain.balance("CNY", PAYER), locked(chain)
    receipt = chain.submit(PAYER, "escrow", "cancel", {"id": escrow_id})
    assert receipt.status == "ok", receipt.error
    assert chain.balance("CNY", PAYER) == payer + 100_000
    assert locked(chain) == before - 100_000
    assert money_adds_up(chain)
    assert record(chain, escrow_id)["status"] == "cancelled"
    assert events_of(receipt, "escrow_cancelled")[0]["id"] == escrow_id


def test_from_the_cancel_time_no_release_is_possible_and_after_cancel_neither(
    chain: ContractChain,
) -> None:
    escrow_id = create(chain, cancel_ms=chain.now_ms + HOUR_MS)
    args = {"id": escrow_id, "preimage": SECRET}
    chain.advance_time(ms=HOUR_MS)  # the last moment of the release window has passed
    assert refused(chain, PAYEE, "escrow", "release", args) == "ESCROW_EXPIRED"
    chain.call(PAYER, "escrow", "cancel", {"id": escrow_id})
    assert refused(chain, PAYEE, "escrow", "release", args) == "ALREADY_CANCELLED"
    assert refused(chain, PAYER, "escrow", "cancel", {"id": escrow_id}) == "ALREADY_CANCELLED"


def test_the_last_millisecond_before_the_cancel_time_still_releases(chain: ContractChain) -> None:
    escrow_id = create(chain, cancel_ms=chain.now_ms + HOUR_MS)
    chain.advance_time(ms=HOUR_MS - 1)
    chain.call(PAYEE, "escrow", "release", {"id": escrow_id, "preimage": SECRET})


# -- compliance at both ends ----------------------------------------------------------------------


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[ContractChain]:
    """A chain of its own, for tests that change the registry."""
    chain = ContractChain(tmp_path / "db")
    for org in (PAYER, PAYEE, "ore-mining"):
        chain.fund(org, "CNY", 10_000_000)
    yield chain
    chain.close()


def test_create_is_refused_for_sanctioned_kyc_expired_and_over_limit_payers(
    fresh: ContractChain,
) -> None:
    sanction(fresh, "fuel-co")
    expire_kyc(fresh, "ore-mining")
    set_limit(fresh, PAYER, "CNY", 50_000)
    fresh.advance_time(ms=1)
    assert refused(fresh, PAYEE, "escrow", "create", terms(fresh, to="fuel-co")) == "SANCTIONED"
    args = terms(fresh, to=PAYEE)
    assert refused(fresh, "ore-mining", "escrow", "create", args) == "KYC_EXPIRED"
    assert refused(fresh, PAYER, "escrow", "create", terms(fresh)) == "DAILY_LIMIT_EXCEEDED"
    create(fresh, amount=50_000)  # within the limit


def test_a_sanctioned_payee_cannot_release_until_the_sanction_is_lifted(
    fresh: ContractChain,
) -> None:
    escrow_id = create(fresh, cancel_ms=fresh.now_ms + 10 * DAY_MS)
    sanction(fresh, PAYEE)
    args = {"id": escrow_id, "preimage": SECRET}
    assert refused(fresh, PAYEE, "escrow", "release", args) == "SANCTIONED"
    sanction(fresh, PAYEE, False)
    assert fresh.call(PAYEE, "escrow", "release", args)["to"] == PAYEE


def test_a_sanctioned_payer_blocks_the_release_and_its_own_refund(fresh: ContractChain) -> None:
    escrow_id = create(fresh, cancel_ms=fresh.now_ms + HOUR_MS)
    sanction(fresh, PAYER)
    args = {"id": escrow_id, "preimage": SECRET}
    assert refused(fresh, PAYEE, "escrow", "release", args) == "SANCTIONED"
    fresh.advance_time(ms=HOUR_MS)
    assert refused(fresh, PAYER, "escrow", "cancel", {"id": escrow_id}) == "SANCTIONED"
    sanction(fresh, PAYER, False)
    assert fresh.call(PAYER, "escrow", "cancel", {"id": escrow_id})["to"] == PAYER


def test_kyc_binds_whoever_closes_the_escrow(fresh: ContractChain) -> None:
    to_ore = create(fresh, to="ore-mining", cancel_ms=fresh.now_ms + HOUR_MS)
    from_ore = create(fresh, payer="ore-mining", cancel_ms=fresh.now_ms + HOUR_MS)
    expire_kyc(fresh, "ore-mining")
    args = {"id": to_ore, "preimage": SECRET}
    assert refused(fresh, "ore-mining", "escrow", "release", args) == "KYC_EXPIRED"
    fresh.advance_time(ms=HOUR_MS)
    assert refused(fresh, "ore-mining", "escrow", "cancel", {"id": from_ore}) == "KYC_EXPIRED"
    assert fresh.call(PAYER, "escrow", "cancel", {"id": to_ore})["to"] == PAYER


def test_time_refusals_word_times_in_utc_and_carry_the_raw_values(chain: ContractChain) -> None:
    cancel_ms = chain.now_ms + HOUR_MS
    escrow_id = create(chain, cancel_ms=cancel_ms)
    receipt = chain.submit(PAYER, "escrow", "cancel", {"id": escrow_id})
    assert receipt.error is not None and receipt.error.code == "CANCEL_TOO_EARLY"
    message = receipt.error.message
    assert moment(cancel_ms) in message and str(cancel_ms) not in message
    assert receipt.error.details == {"cancel_ms": cancel_ms, "block_time_ms": chain.now_ms}
