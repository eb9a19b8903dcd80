"""Seeded simulations of PBFT under faults (see harness.py for what each run checks).

    .venv/bin/pytest tests/sim                         # the default seeds
    TALLY_SIM_SEEDS=5000 .venv/bin/pytest tests/sim    # more seeds of the random-fault test
    TALLY_SIM_SEED=1234 .venv/bin/pytest tests/sim -k random_faults   # replay one seed

A failing seed's message names the scenario and the one-line command that replays it.
"""

from __future__ import annotations

import os
import random

import pytest

from tests.sim.harness import Scenario, SimulationFailure, run_seed

DEFAULT_SEEDS = 250


def _seeds(default: int, offset: int = 0) -> list[int]:
    one = os.environ.get("TALLY_SIM_SEED")
    if one is not None:
        return [int(one)]
    count = int(os.environ.get("TALLY_SIM_SEEDS", default))
    return [offset + i for i in range(count)]


def _run(seed: int, scenario: Scenario, test: str) -> None:
    try:
        run_seed(seed, scenario)
    except SimulationFailure as failure:
        pytest.fail(
            f"seed {seed} failed: {failure}\n  scenario: {scenario.describe()}\n"
            f"  replay: TALLY_SIM_SEED={seed} .venv/bin/pytest tests/sim -k {test}",
            pytrace=False,
        )


def random_scenario(seed: int) -> Scenario:
    """A fault schedule drawn from the seed (kept apart from the run's own random stream)."""
    rng = random.Random(f"scenario/{seed}")
    n = rng.choice([4, 4, 4, 7])
    f = (n - 1) // 3
    byzantine: dict[int, frozenset[str]] = {}
    kinds = [
        "equivocate",
        "silent",
        "censor",
        "invalid",
        "conflict",
        "replay",
        "vcspam",
        "garbage",
        "nvsubset",
        "badfetch",
        "nofetch",
    ]
    for index in rng.sample(range(n), rng.choice([0, f, f])):
        byzantine[index] = frozenset(rng.sample(kinds, rng.randint(1, 3)))
    return Scenario(
        n=n,
        wire_bytes=rng.random() < 0.25,
        fault_ms=rng.choice([3000, 6000, 9000]),
        drop=rng.choice([0.0, 0.02, 0.1, 0.25]),
        long_delay=rng.choice([0.0, 0.05, 0.2]),
        crashes=rng.choice([0, 0, 1, 2, 4]),
        partitions=rng.choice([0, 0, 1, 2]),
        clock_skew_ms=rng.choice([0, 500, 2000]),
        byzantine=byzantine,
        txs=rng.randint(4, 20),
        window=rng.choice([1, 2, 4]),
        checkpoint_interval=rng.choice([2, 4, 8]),
    )


@pytest.mark.parametrize("seed", _seeds(DEFAULT_SEEDS), ids=lambda s: f"seed={s}")
def test_random_faults_keep_agreement_and_liveness(seed: int) -> None:
    _run(seed, random_scenario(seed), "random_faults")


@pytest.mark.parametrize("seed", _seeds(8, 10_000), ids=lambda s: f"seed={s}")
def test_fault_free_runs_commit_every_tx_without_view_changes(seed: int) -> None:
    scenario = Scenario(n=4 if seed % 2 else 7, wire_bytes=True, fault_ms=2000)
    _run(seed, scenario, "fault_free")


@pytest.mark.parametrize("seed", _seeds(4, 20_000), ids=lambda s: f"seed={s}")
def test_real_ed25519_and_bls_under_faults(seed: int) -> None:
    """Real signatures end to end (blspy BLS aggregates, Ed25519 envelopes), on the wire."""
    rng = random.Random(f"real/{seed}")
    scenario = Scenario(
        n=4,
        real_crypto=True,
        wire_bytes=True,
        fault_ms=4000,
        drop=0.05,
        crashes=1,
        byzantine={rng.randrange(4): frozenset({"conflict", "equivocate"})},
        txs=8,
    )
    _run(seed, scenario, "real_ed25519")


SCRIPTED: dict[str, Scenario] = {
    "equivocating_primary": Scenario(byzantine={0: frozenset({"equivocate"})}),
    "silent_primary": Scenario(byzantine={0: frozenset({"silent"})}),
    "censoring_primary": Scenario(byzantine={0: frozenset({"censor"})}, txs=12),
    "invalid_blocks_primary": Scenario(byzantine={0: frozenset({"invalid"})}),
    "conflicting_replaying_backup": Scenario(
        byzantine={2: frozenset({"conflict", "replay", "vcspam"})}, drop=0.05
    ),
    "two_byzantine_of_seven": Scenario(
        n=7,
        byzantine={0: frozenset({"equivocate", "censor"}), 3: frozenset({"conflict", "replay"})},
    ),
    "partition_and_crashes": Scenario(partitions=2, crashes=3, drop=0.1, long_delay=0.1),
    "clocks_seconds_apart": Scenario(clock_skew_ms=2400, max_clock_skew_ms=5000),
}


@pytest.mark.parametrize("name", sorted(SCRIPTED))
@pytest.mark.parametrize("seed", _seeds(3, 30_000), ids=lambda s: f"seed={s}")
def test_byzantine_and_faulty_primaries_are_replaced(name: str, seed: int) -> None:
    sim = None
    try:
        sim = run_seed(seed, SCRIPTED[name])
    except SimulationFailure as failure:
        pytest.fail(
            f"seed {seed} failed: {failure}\n  scenario: {name}\n"
            f"  replay: TALLY_SIM_SEED={seed} .venv/bin/pytest tests/sim -k '{name}'",
            pytrace=False,
        )
    if name in ("silent_primary", "censoring_primary", "invalid_blocks_primary"):
        # Liveness needed the byzantine primary of view 0 gone.
        assert sim.view_changes > 0


@pytest.mark.parametrize("seed", _seeds(2, 40_000), ids=lambda s: f"seed={s}")
def test_long_run_keeps_logs_and_records_bounded(seed: int) -> None:
    """Hundreds of heights with small checkpoints: memory and persisted records stay flat."""
    scenario = Scenario(
        n=4,
        fault_ms=3000,
        drop=0.05,
        crashes=1,
        txs=400,
        submit_until_ms=40_000,
        max_txs_per_block=1,
        window=2,
        checkpoint_interval=4,
        batch_ms=5,
    )
    sim = None
    try:
        sim = run_seed(seed, scenario)
    except SimulationFailure as failure:
        pytest.fail(
            f"seed {seed}: {failure}\n  replay: TALLY_SIM_SEED={seed} "
            ".venv/bin/pytest tests/sim -k long_run",
            pytrace=False,
        )
    assert max(sim.decided) >= 300
    assert sim.max_log <= sim.log_bound()


@pytest.mark.parametrize("seed", _seeds(3, 50_000), ids=lambda s: f"seed={s}")
def test_single_validator_commits_with_quorum_of_one(seed: int) -> None:
    _run(seed, Scenario(n=1, crashes=2, fault_ms=4000), "single_validator")
