"""The pro-rata share of a partial repayment or reduction, against a brute-force reference.

The reference does not use the formula: it enumerates every way of rounding each exact quota
down or up with the right total and picks the one the rule defines, the largest-remainder one
(up-rounding goes to the largest fractional parts, ties to the lower claim id), comparing
fractions exactly.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.allocation import pro_rata
from contracts.errors import ContractError


def reference(amount: int, owed: dict[str, int]) -> dict[str, int]:
    """Brute force: of every way to round each exact quota to a neighbouring integer so the
    shares sum to `amount`, the one whose rounded-up claims rank first by (largest fractional
    part, lower id) — the rounded-up index sets compared lexicographically."""
    total = sum(owed.values())
    quotas = {claim: Fraction(amount * value, total) for claim, value in owed.items()}
    floors = {claim: quota.numerator // quota.denominator for claim, quota in quotas.items()}
    rank = sorted(owed, key=lambda c: (-(quotas[c] - floors[c]), c))
    candidates = []
    for ups in product((0, 1), repeat=len(rank)):
        shares = {claim: floors[claim] + up for claim, up in zip(rank, ups, strict=True)}
        exact_rounded_up = any(
            up and quotas[c] == floors[c] for c, up in zip(rank, ups, strict=True)
        )
        if sum(shares.values()) == amount and not exact_rounded_up:
            candidates.append(([i for i, up in enumerate(ups) if up], shares))
    return min(candidates, key=lambda candidate: candidate[0])[1]


families = st.dictionaries(
    st.text("abcdef0123456789", min_size=1, max_size=4), st.integers(1, 10_000), min_size=1,
    max_size=6,
)  # fmt: skip


@given(families, st.data())
def test_pro_rata_is_the_largest_remainder_allocation(
    owed: dict[str, int], data: st.DataObject
) -> None:
    amount = data.draw(st.integers(0, sum(owed.values())))
    shares = pro_rata(amount, owed)
    assert set(shares) == set(owed)
    assert sum(shares.values()) == amount
    assert all(0 <= shares[c] <= owed[c] for c in owed)
    assert shares == reference(amount, owed)


@given(families)
def test_paying_everything_pays_each_claim_in_full(owed: dict[str, int]) -> None:
    assert pro_rata(sum(owed.values()), owed) == owed


def test_worked_example_of_the_docs() -> None:
    # 1,000.00 owed as 700.00 / 200.00 / 100.00, a payment of 333.33: quotas 233.331,
    # 66.666, 33.333 -> floors 233.33, 66.66, 33.33 (332.99 paid), 1 unit left for the
    # largest remainder (66.666: piece b).
    owed = {"a": 70_000, "b": 20_000, "c": 10_000}
    assert pro_rata(33_333, owed) == {"a": 23_333, "b": 6_667, "c": 3_333}


def test_ties_go_to_the_lower_piece_id() -> None:
    assert pro_rata(1, {"b": 5, "a": 5}) == {"a": 1, "b": 0}
    assert pro_rata(2, {"c": 1, "b": 1, "a": 1}) == {"a": 1, "b": 1, "c": 0}


@pytest.mark.parametrize(
    ("amount", "owed"), [(11, {"a": 5, "b": 5}), (-1, {"a": 5}), (1, {"a": 0})]
)
def test_impossible_shares_are_refused(amount: int, owed: dict[str, int]) -> None:
    with pytest.raises(ContractError):
        pro_rata(amount, owed)
