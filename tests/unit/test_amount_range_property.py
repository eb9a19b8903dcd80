"""Property: whatever amounts cash and netting calls carry, every block builds and commits.

Random sequences of `cash.issue`/`transfer`/`redeem` and of `netting.submit`, with amounts drawn
towards the top of the range, run one per block through the real executor over LevelDB. A model
says which calls must fail with AMOUNT_OVERFLOW; after each block every integer in committed
state lies within ±MAX_AMOUNT (inside the codec's range, ledger/codec.py), and money adds up.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts.amounts import MAX_AMOUNT
from ledger.codec import INT_MAX, INT_MIN
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS

HOLDERS = ["bank-a", "acme-steel", "bigauto"]
BANKS = ["bank-a", "bank-b", "bank-c"]
LARGE = [MAX_AMOUNT, MAX_AMOUNT - 1, 2**62, 2**62 + 1, MAX_AMOUNT // 3, 1]
amounts = st.one_of(st.sampled_from(LARGE), st.integers(1, MAX_AMOUNT))
cash_ops = st.lists(
    st.tuples(
        st.sampled_from(["issue", "transfer", "redeem"]),
        st.sampled_from(HOLDERS),
        st.sampled_from(HOLDERS),
        amounts,
    ),
    min_size=1,
    max_size=8,
)
obligations = st.lists(
    st.tuples(st.sampled_from(BANKS), st.sampled_from(BANKS), amounts).filter(
        lambda o: o[0] != o[1]
    ),
    min_size=1,
    max_size=8,
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def integers_in(value: Any) -> Iterator[int]:
    """Every int inside a decoded state value."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from integers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from integers_in(item)


def assert_state_in_range(chain: ContractChain) -> None:
    for key, value in chain.state_items().items():
        for number in integers_in(value):
            assert INT_MIN <= number <= INT_MAX, f"{key} holds {number}, outside the codec"
            assert -MAX_AMOUNT <= number <= MAX_AMOUNT, f"{key} holds {number}"


def expected_cash(model: dict[str, int], op: tuple[str, str, str, int]) -> str | None:
    """Apply `op` to the model (balances, "supply", and what each org gave away today, counted
    against its daily limit before its funds are checked); the code it must fail with."""
    kind, org, other, value = op
    if kind == "issue":
        if model["supply"] + value > MAX_AMOUNT:
            return "AMOUNT_OVERFLOW"
        model["supply"] += value
        model[other] += value
        return None
    if model["sent:" + org] + value > MAX_AMOUNT:
        return "AMOUNT_OVERFLOW"
    if model[org] < value:
        return "INSUFFICIENT_FUNDS"
    model["sent:" + org] += value
    if kind == "transfer":
        model[org] -= value
        model[other] += value
    else:
        model[org] -= value
        model["supply"] -= value
    return None


def cash_call(op: tuple[str, str, str, int]) -> tuple[str, str, dict[str, Any]]:
    kind, org, other, value = op
    if kind == "issue":
        return "bank-a", "issue", {"currency": "CNY", "to": other, "amount": value}
    if kind == "transfer":
        return org, "transfer", {"currency": "CNY", "to": other, "amount": value}
    return org, "redeem", {"currency": "CNY", "amount": value}


@SETTINGS
@given(cash_ops)
@example(  # money paid out and back: the payer's count for the day would pass the range
    [
        ("issue", "bank-a", "acme-steel", MAX_AMOUNT),
        ("transfer", "acme-steel", "bigauto", MAX_AMOUNT),
        ("transfer", "bigauto", "acme-steel", MAX_AMOUNT),
        ("transfer", "acme-steel", "bigauto", 1),
    ]
)
def test_cash_sums_never_leave_the_range_and_blocks_keep_committing(
    ops: list[tuple[str, str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = ContractChain(Path(tmp) / "db")
        try:
            model = {"supply": 0, **{org: 0 for org in HOLDERS}}
            model.update({"sent:" + org: 0 for org in HOLDERS})
            for op in ops:
                if op[0] == "transfer" and op[1] == op[2]:
                    continue  # a self-transfer is a no-op the model need not follow
                signer, method, args = cash_call(op)
                receipt = chain.submit(signer, "cash", method, args)
                code = expected_cash(model, op)
                assert (receipt.error.code if receipt.error else None) == code, receipt.error
                assert_state_in_range(chain)
                assert {org: chain.balance("CNY", org) for org in HOLDERS} == {
                    org: model[org] for org in HOLDERS
                }
                assert int(chain.state("cash/supply/CNY") or 0) == model["supply"]
        finally:
            chain.close()


@SETTINGS
@given(obligations)
def test_netting_sums_never_leave_the_range_and_blocks_keep_committing(
    submits: list[tuple[str, str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = ContractChain(Path(tmp) / "db")
        try:
            args = {"currency": "USD", "participants": BANKS, "close_ms": chain.now_ms + HOUR_MS}
            window = chain.call("bank-a", "netting", "open", args)["id"]
            positions = dict.fromkeys(BANKS, 0)
            gross = 0
            for payer, payee, value in submits:
                args = {"window": window, "to": payee, "amount": value}
                receipt = chain.submit(payer, "netting", "submit", args)
                after = {**positions, payer: positions[payer] - value}
                after[payee] += value
                fits = gross + value <= MAX_AMOUNT and all(
                    abs(v) <= MAX_AMOUNT for v in after.values()
                )
                assert receipt.status == ("ok" if fits else "failed"), receipt.error
                if fits:
                    positions, gross = after, gross + value
                else:
                    assert receipt.error is not None and receipt.error.code == "AMOUNT_OVERFLOW"
                assert_state_in_range(chain)
                record = chain.state("net/win/" + window)
                assert record["positions"] == positions and record["gross"] == gross
        finally:
            chain.close()
