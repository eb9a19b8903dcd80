"""Multilateral netting arithmetic, pure: positions from obligations, and who pays whom.

Kept apart from the contract so the property tests can check it without a chain.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.amounts import add, checked_sum, subtract


def net_positions(
    participants: Iterable[str], obligations: Iterable[tuple[str, str, int]]
) -> dict[str, int]:
    """Each participant's signed net: received minus paid (positive = net creditor)."""
    positions = {org: 0 for org in sorted(participants)}
    for payer, payee, value in obligations:
        apply_obligation(positions, payer, payee, value)
    return positions


def apply_obligation(positions: dict[str, int], payer: str, payee: str, value: int) -> None:
    """Add one obligation to running positions (what `netting.submit` does), each checked."""
    positions[payer] = subtract(positions.get(payer, 0), value, f"the net position of {payer}")
    positions[payee] = add(positions.get(payee, 0), value, f"the net position of {payee}")


def settlement_transfers(positions: dict[str, int]) -> list[tuple[str, str, int]]:
    """Transfers that settle the nets: debtors in id order pay creditors in id order.

    A two-pointer walk, so there are at most (debtors + creditors − 1) transfers, each debtor
    pays exactly its net debt and each creditor receives exactly its net credit.
    """
    debtors = [org for org, value in sorted(positions.items()) if value < 0]
    creditors = [org for org, value in sorted(positions.items()) if value > 0]
    owed = {org: -positions[org] for org in debtors}
    due = {org: positions[org] for org in creditors}
    transfers: list[tuple[str, str, int]] = []
    i = j = 0
    while i < len(debtors) and j < len(creditors):
        payer, payee = debtors[i], creditors[j]
        step = min(owed[payer], due[payee])
        transfers.append((payer, payee, step))
        owed[payer] -= step
        due[payee] -= step
        if owed[payer] == 0:
            i += 1
        if due[payee] == 0:
            j += 1
    return transfers


def net_total(positions: dict[str, int]) -> int:
    """What actually moves: the sum of net credits (= the sum of net debts), checked."""
    return checked_sum((value for value in positions.values() if value > 0), "the net total")
