"""Seeded simulations of the liveness findings of issue 11 (see harness.py for what every run
checks: agreement, certificates, one vote per (view, height), message size bounds, bounded logs
and records, and liveness once the faults stop).

    .venv/bin/pytest tests/sim/test_liveness_sim.py
    TALLY_SIM_SEED=1234 .venv/bin/pytest tests/sim -k fetched_by_hash     # replay one seed

- A view change whose NEW-VIEW re-proposes blocks that a replica never received: it fetches
  them by hash, from voters that lie about them or stay silent too.
- A replica that alone holds a transaction times out alone: it suspects the primary but stays
  in the view and keeps voting (finding 6); one stranded by an equivocation it alone saw joins
  the others at their next view change.
- A primary stopped while the others change view and commit, restarted on an idle network,
  learns their height and view from the status heartbeat (finding 7).
"""

from __future__ import annotations

import pytest

from tests.sim.harness import Scenario, Simulation, SimulationFailure, run_seed
from tests.sim.test_pbft_sim import _seeds


def _replayable(seed: int, name: str, scenario: Scenario) -> Simulation:
    try:
        return run_seed(seed, scenario)
    except SimulationFailure as failure:
        pytest.fail(
            f"seed {seed} failed: {failure}\n  scenario: {scenario.describe()}\n"
            f"  replay: TALLY_SIM_SEED={seed} .venv/bin/pytest tests/sim -k '{name}'",
            pytrace=False,
        )


def _check(condition: bool, seed: int, name: str, what: str) -> None:
    if not condition:
        pytest.fail(
            f"seed {seed}: {what}\n  replay: TALLY_SIM_SEED={seed} .venv/bin/pytest tests/sim "
            f"-k '{name}'",
            pytrace=False,
        )


FETCHING: dict[str, Scenario] = {
    "blocks_fetched_by_hash_past_a_lying_voter": Scenario(
        byzantine={0: frozenset({"withhold", "badfetch"})}, fault_ms=4000, txs=12
    ),
    "blocks_fetched_by_hash_past_a_silent_voter": Scenario(
        byzantine={0: frozenset({"withhold", "nofetch"})}, fault_ms=4000, txs=12
    ),
    "blocks_fetched_by_hash_on_a_lossy_network": Scenario(
        byzantine={0: frozenset({"withhold", "badfetch"})},
        fault_ms=6000,
        drop=0.1,
        long_delay=0.1,
        crashes=1,
        wire_bytes=True,
    ),
}


@pytest.mark.parametrize("name", sorted(FETCHING))
@pytest.mark.parametrize("seed", _seeds(4, 60_000), ids=lambda s: f"seed={s}")
def test_a_view_change_re_proposes_blocks_a_replica_must_fetch_by_hash(
    name: str, seed: int
) -> None:
    """The primary withholds its proposals from one backup and its COMMITs from everyone:
    blocks are prepared, never committed, and the NEW-VIEW re-proposes them by hash."""
    scenario = FETCHING[name]
    sim = _replayable(seed, name, scenario)
    _check(sim.view_changes > 0, seed, name, "the withholding primary was never replaced")
    if not scenario.drop:  # (with losses and crashes the replica may get them otherwise)
        _check(sim.blocks_fetched > 0, seed, name, "no block was fetched by hash from a peer")
        if "badfetch" in scenario.byzantine[0]:
            _check(sim.wrong_blocks > 0, seed, name, "the lying voter was never asked")


@pytest.mark.parametrize("seed", _seeds(4, 61_000), ids=lambda s: f"seed={s}")
def test_a_replica_alone_with_a_transaction_stays_in_the_view_and_keeps_voting(seed: int) -> None:
    """Node 3 alone holds three txs for 8 s (they reach the others only then, as gossip
    re-announcing them would): it suspects the primary, and goes on voting in view 0."""
    name = "alone_with_a_transaction"
    scenario = Scenario(lone_nodes=(3,), lone_txs=3, txs=30, fault_ms=8000, view_timeout_ms=500)
    sim = _replayable(seed, name, scenario)
    unhappy = sim.unhappy_at.get(3)
    _check(unhappy is not None, seed, name, "node 3 never suspected the primary")
    assert unhappy is not None
    _check(sim.view_changes == 0, seed, name, f"{sim.view_changes} view changes")
    later = [h for h, at in sim.decided_at.items() if unhappy + 1000 < at < sim.fault_end]
    _check(len(later) >= 3, seed, name, f"only {len(later)} heights committed after it")
    voted = [h for h in later if (3, "commit", 0, h) in sim.signed]
    _check(
        len(voted) == len(later),
        seed,
        name,
        f"node 3 voted for {len(voted)} of the {len(later)} heights committed after it suspected",
    )


@pytest.mark.parametrize("seed", _seeds(4, 64_000), ids=lambda s: f"seed={s}")
def test_f_plus_1_replicas_holding_transactions_the_primary_lacks_replace_it(seed: int) -> None:
    """Nodes 2 and 3 (f+1 of 4) hold three txs that the primary never hears of: their
    suspicions are enough to move on, and a primary that has them orders them while the faults
    still last (before anyone else hears of them)."""
    name = "f_plus_1_hold_what_the_primary_lacks"
    scenario = Scenario(lone_nodes=(2, 3), lone_txs=3, txs=10, fault_ms=30_000)
    simulation = Simulation(seed, scenario)
    simulation.start()
    simulation._schedule_faults()
    ordered = simulation.run_until(
        lambda: bool(simulation.lone_ids) and simulation.committed_by_all(simulation.lone_ids),
        simulation.fault_end - 1,
    )
    _check(ordered, seed, name, "the txs only f+1 replicas held were not ordered")
    _check(simulation.view_changes > 0, seed, name, "no view change")


@pytest.mark.parametrize("seed", _seeds(4, 62_000), ids=lambda s: f"seed={s}")
def test_a_replica_stranded_in_a_higher_view_joins_the_next_view_change(seed: int) -> None:
    """The primary equivocates towards node 3 alone (which leaves the view alone), then quits:
    the others suspect it, node 3's VIEW-CHANGE counts with them, and all meet in view 1."""
    name = "stranded_in_a_higher_view"
    scenario = Scenario(byzantine={0: frozenset({"strand", "quits"})}, fault_ms=8000, txs=24)
    sim = _replayable(seed, name, scenario)
    _check(sim.view_changes > 0, seed, name, "no view change")
    votes = [key for key in sim.signed if key[0] == 3 and key[1] == "commit" and key[2] >= 1]
    _check(bool(votes), seed, name, "node 3 never voted again after it was stranded")


@pytest.mark.parametrize("seed", _seeds(4, 63_000), ids=lambda s: f"seed={s}")
def test_a_restarted_primary_catches_up_on_an_idle_network(seed: int) -> None:
    """Finding 7: node 0 (the primary) stops; the others change view and commit; node 0 comes
    back with an empty mempool and nothing new arrives: it reaches their height and view."""
    name = "restarted_primary_idle_network"
    sim = Simulation(seed, Scenario(fault_ms=0, txs=0, view_timeout_ms=1000))
    sim.start()
    first = [sim.make_tx(i) for i in range(4)]
    for tx in first:
        sim.submit(tx)
    nodes = sim.nodes
    _check(
        sim.run_until(lambda: all(n.app.height >= 1 for n in nodes), sim.time + 20_000),
        seed,
        name,
        "the first txs were not committed",
    )
    sim.crash(nodes[0])
    for number in range(4, 8):
        sim.submit(sim.make_tx(number))
    others = nodes[1:]
    _check(
        sim.run_until(
            lambda: all(len(n.app.committed_txs) == 8 and n.replica.view >= 1 for n in others),
            sim.time + 60_000,
        ),
        seed,
        name,
        "the others did not change view and commit without node 0",
    )
    restarted_at = sim.time
    sim.restart(nodes[0], redeliver=False)
    target = max(n.app.height for n in others)
    view = max(n.replica.view for n in others)
    caught_up = sim.run_until(
        lambda: nodes[0].app.height >= target and nodes[0].replica.view == view,
        restarted_at + 10_000,
    )
    _check(
        caught_up,
        seed,
        name,
        f"10 s after its restart node 0 is at height {nodes[0].app.height} view "
        f"{nodes[0].replica.view}, the others at {target} view {view}",
    )


@pytest.mark.parametrize("seed", _seeds(4, 65_000), ids=lambda s: f"seed={s}")
def test_an_honestly_overloaded_network_does_not_change_view_at_every_height(seed: int) -> None:
    """Every node takes longer to build and check a block than the base view timeout (a loaded
    machine; `tally bench` once went through six views this way). The first timeout may change
    view; the doubled timeout must then hold while the load lasts, not fall back after one
    commit and fire again at the next height."""
    name = "honestly_overloaded"
    scenario = Scenario(busy_ms=1200, view_timeout_ms=1000, txs=40, fault_ms=20_000)
    sim = _replayable(seed, name, scenario)
    views = sorted(sim.views_entered)
    _check(len(views) <= 2, seed, name, f"went through views {views}")
    _check(len(sim.decided) >= 5, seed, name, f"only {len(sim.decided)} heights committed")
