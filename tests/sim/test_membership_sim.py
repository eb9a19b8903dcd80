"""Seeded simulations of a validator added and another removed mid-run, under message loss.

    TALLY_SIM_SEED=7 .venv/bin/pytest tests/sim/test_membership_sim.py   # replay one seed
    TALLY_SIM_SEEDS=200 .venv/bin/pytest tests/sim/test_membership_sim.py

What each run checks is in tests/sim/membership.py; every failure prints its seed.
"""

from __future__ import annotations

import os

import pytest

from tests.sim.harness import Scenario, SimulationFailure
from tests.sim.membership import JOINER, MembershipSimulation, Plan, run_membership_seed

SCENARIO = Scenario(
    n=5,
    drop=0.1,
    long_delay=0.05,
    fault_ms=8000,
    submit_until_ms=12_000,
    txs=160,
    max_txs_per_block=2,
)
PLAN = Plan(add_at=3, remove_after=3, leaver=1)


def _seeds(default: int) -> list[int]:
    one = os.environ.get("TALLY_SIM_SEED")
    if one is not None:
        return [int(one)]
    return list(range(int(os.environ.get("TALLY_SIM_SEEDS", default))))


def _run(seed: int, scenario: Scenario = SCENARIO) -> MembershipSimulation:
    try:
        return run_membership_seed(seed, scenario, PLAN)
    except SimulationFailure as failure:
        pytest.fail(
            f"seed {seed} failed: {failure}\n  scenario: {scenario.describe()} plan: {PLAN}\n"
            f"  replay: TALLY_SIM_SEED={seed} .venv/bin/pytest tests/sim/test_membership_sim.py",
            pytrace=False,
        )


@pytest.mark.parametrize("seed", _seeds(12))
def test_validator_added_and_removed_under_message_loss(seed: int) -> None:
    sim = _run(seed)
    (added_from, with_joiner), (removed_from, without_leaver) = sim.changes
    assert JOINER in with_joiner and PLAN.leaver not in without_leaver
    assert added_from == 9 and removed_from == 17  # checkpoints every 8: after 8, after 16
    # every certificate was checked against the set in force at its height (membership.py);
    # the new validator signed after it joined, the removed one never after it left
    assert any(JOINER in sim.signers_at[h] for h in sim.signers_at if h >= added_from)
    assert all(JOINER not in sim.signers_at[h] for h in sim.signers_at if h < added_from)
    assert all(PLAN.leaver not in sim.signers_at[h] for h in sim.signers_at if h >= removed_from)
    assert max(sim.decided) > removed_from  # the chain went on with the new quorum
    assert PLAN.leaver in sim.retired
