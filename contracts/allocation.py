"""Sharing an amount among claims pro rata, in whole minor units: the largest-remainder rule.

A partial repayment (contracts/receivables_repay.py) and an agreed reduction of an invoice
(contracts/receivables_disputes.py) both share one amount among a family's outstanding pieces
in proportion to what each is still owed. Written once, pure, so both use the same rule and a
test can compare it with a brute-force reference:

    quota_i  = amount × owed_i / total          (total = Σ owed_i, amount ≤ total)
    share_i  = floor(quota_i), then one more unit to each of the
               amount − Σ floor(quota_i) claims with the largest remainders
               (amount × owed_i mod total), ties to the lower claim id

No claim gets more than it is owed: floor(quota_i) ≤ owed_i, and a claim gets the extra unit
only when its remainder is positive, i.e. floor(quota_i) < quota_i ≤ owed_i. Integers only.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts.errors import ensure


def pro_rata(amount: int, owed: Mapping[str, int]) -> dict[str, int]:
    """`amount` shared among the claims `owed` (id -> minor units owed, each > 0) by largest
    remainder, ties to the lower id; every claim appears in the answer, perhaps with 0."""
    ensure(all(value > 0 for value in owed.values()), "BAD_RECORD", "a claim owes nothing")
    total = sum(owed.values())
    ensure(0 <= amount <= total, "BAD_RECORD", "a share of more than is owed")
    if total == 0:
        return {}
    shares = {claim: amount * value // total for claim, value in owed.items()}
    left = amount - sum(shares.values())  # < len(owed): each floor loses less than one unit
    by_remainder = sorted(owed, key=lambda claim: (-(amount * owed[claim] % total), claim))
    for claim in by_remainder[:left]:
        shares[claim] += 1
    return shares
