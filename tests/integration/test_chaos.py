"""Seeded chaos against four real validators (issue 11): while clients send transfers with
`?wait=commit` through random nodes, a schedule drawn from the seed kills and restarts a node,
pauses the primary past a view change, takes two nodes down at once (no commit may happen then)
and restarts all four. Afterwards every node must hold the same blocks and empty mempools, every
acknowledged tx must be on every node with a proof that verifies against the genesis alone, and
each currency's balances must add up to what was issued.

    .venv/bin/python -m pytest -s tests/integration/test_chaos.py              # seed 2
    TALLY_CHAOS_SEEDS=20 .venv/bin/python -m pytest -s tests/integration/test_chaos.py
    TALLY_CHAOS_SEED=7 .venv/bin/python -m pytest -s tests/integration/test_chaos.py  # replay
    TALLY_CHAOS_FAULTS=10 ...   # ten faults per seed instead of one of each kind

Every failure names its seed, the step it was in, the schedule, each node's height, view, peers
and mempool, the tail of each node's log, and the command that replays it. `-s` shows a record
per seed: faults, acknowledged txs, wall time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest

from ledger.genesis import load_genesis
from tests.support.chaos import (
    KILL_RESTART,
    KINDS,
    PAUSE_PRIMARY,
    PRIMARY,
    RESTART_ALL,
    TWO_DOWN,
    Ack,
    Cluster,
    Fault,
    Laps,
    Traffic,
    chaos_fault_count,
    chaos_seeds,
    draw_schedule,
    fund_payers,
    replay_command,
)
from tests.support.localnet_tools import balances_by_currency, block_hashes, signed_client
from wallet.client import ApiError
from wallet.proofs import verify_proof

pytestmark = pytest.mark.slow

# A view change after ~1 s without progress; stable checkpoints every 8 heights.
PARAMS = {"view_timeout_ms": 1000, "checkpoint_interval": 8, "batch_ms": 20}
PROGRESS_S = 45.0  # deadline for commits to go on (or resume) under a fault
CATCH_UP_S = 30.0  # deadline for a returning node to reach the others
CONVERGE_S = 60.0  # deadline for the idle network to agree once the load stops
SEEDS = chaos_seeds(os.environ)
FAULTS = chaos_fault_count(os.environ)


class ChaosFailure(AssertionError):
    """What went wrong in one step; ChaosRun adds the seed, the replay command and the nodes."""


class ChaosRun:
    """One seed: its schedule, the faults as they were carried out, and the final checks."""

    def __init__(self, net: dict[str, Any], seed: int, faults: int) -> None:
        self.net = net
        self.seed = seed
        self.faults = faults
        self.cluster = Cluster(net)
        self.schedule = draw_schedule(seed, self.cluster.names, faults)
        self.genesis = load_genesis(net["genesis"])
        self.traffic = Traffic(net, self.cluster, seed)
        self.started = time.monotonic()
        self.phases = Laps()
        self.step = "setup"
        self.done: list[str] = []
        self.outcome = "FAIL"
        self.final_height = -1

    # -- reporting ------------------------------------------------------------------------------

    def fail(self, what: str) -> NoReturn:
        raise ChaosFailure(what)

    def message(self, what: str) -> str:
        logs = "\n".join(
            f"  {name} log:\n" + self.cluster.log_tail(name) for name in self.cluster.names
        )
        return (
            f"chaos seed {self.seed} failed during {self.step}:\n  {what}\n"
            f"  replay: {replay_command(self.seed, self.faults)}\n"
            f"  schedule:\n{self.schedule.describe()}\n"
            f"  done before it:\n" + ("\n".join(self.done) or "    (nothing)") + "\n"
            f"  nodes now:\n{self.cluster.table()}\n"
            f"  acknowledged txs so far: {self.traffic.count()}\n{logs}"
        )

    def record(self) -> str:
        figures = self.traffic.figures
        return (
            f"\nchaos seed {self.seed}: {self.outcome} in {time.monotonic() - self.started:.1f} s, "
            f"{len(self.done)} of {len(self.schedule.faults)} faults, "
            f"{self.traffic.count()} acknowledged txs (submitted {figures.submitted}, "
            f"{figures.unacked} accepted without a receipt in time, {figures.unreachable} "
            f"unanswered, refused {figures.refused or 'none'}), final height {self.final_height}\n"
            f"    [{self.phases}]\n" + "\n".join(self.done)
        )

    # -- the run --------------------------------------------------------------------------------

    def execute(self) -> None:
        try:
            self._run()
        except ChaosFailure as failure:
            failed = self.message(str(failure))
        except Exception as error:  # any other error: re-raised with the seed and replay command
            raise AssertionError(self.message(f"{type(error).__name__}: {error}")) from error
        else:
            self.outcome = "PASS"
            return
        pytest.fail(failed, pytrace=False)  # outside the handler: no "during handling" noise

    def _run(self) -> None:
        self.step = "funding"
        supply = fund_payers(self.net, self.cluster.apis[self.cluster.names[0]])
        self.traffic.tip = self.cluster.top()
        self.phases.mark("funding")
        with self.traffic:
            try:
                for index, fault in enumerate(self.schedule.faults, 1):
                    self.step = f"fault {index}/{len(self.schedule.faults)} ({fault.describe()})"
                    self._lead_in(fault)
                    began = time.monotonic()
                    outcome = STEPS[fault.kind](self, fault)
                    self.done.append(
                        f"    {index}. {fault.kind}: {outcome} ({time.monotonic() - began:.1f} s)"
                    )
            finally:
                self.cluster.resume_all()
            self.phases.mark("faults")
            self.step = "stopping the load"
        self.step = "convergence once the load stopped"
        self.final_height = self._converge()
        self.phases.mark("load stopped, converged")
        self.step = "final checks"
        self._check_blocks(self.final_height)
        self._check_acks(self.final_height)
        self._check_money(supply)
        self.phases.mark("final checks")

    def _await(
        self, condition: Callable[[], Any], seconds: float, what: str | Callable[[], str]
    ) -> Any:
        """Poll another process's state until `condition` holds; the deadline is a safety net.

        `what` says what was awaited; a callable is asked at the deadline, to say who is stuck.
        """
        deadline = time.monotonic() + seconds
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() >= deadline:
                said = what if isinstance(what, str) else what()
                self.fail(f"not reached within {seconds:.0f} s: {said}")
            time.sleep(0.1)

    def _lead_in(self, fault: Fault) -> None:
        """Start each fault from a whole network: all four at the tip, then some plain load."""
        target = self.cluster.top()
        self._await(
            lambda: all(
                (s := self.cluster.status(name)) is not None
                and s["peers"] >= len(self.cluster.names) - 1
                and s["height"] >= target
                for name in self.cluster.names
            ),
            CATCH_UP_S,
            f"all four up, connected to their 3 peers and at height >= {target}",
        )
        goal = self.traffic.count() + fault.lead_acks
        self._await(
            lambda: self.traffic.count() >= goal,
            PROGRESS_S,
            f"{fault.lead_acks} acknowledged txs of plain load (to {goal})",
        )

    def _others(self, names: tuple[str, ...] | list[str]) -> list[str]:
        return [name for name in self.cluster.names if name not in names]

    def _catch_up(self, name: str, others: list[str], why: str) -> int:
        target = self.cluster.top(others)
        self._await(
            lambda: self.cluster.height(name) >= target,
            CATCH_UP_S,
            f"{name} ({why}) reaches the others' height {target}",
        )
        return target

    # -- the faults -----------------------------------------------------------------------------

    def kill_restart(self, fault: Fault) -> str:
        (victim,) = fault.nodes
        if victim == PRIMARY:
            victim = self._agreed_primary()[1]
        survivors = self._others([victim])
        laps = Laps()
        before = self.cluster.top(survivors)
        self.cluster.take_down([victim], fault.how)
        laps.mark("down")
        goal = before + fault.hold_blocks
        self._await(
            lambda: self.cluster.top(survivors) >= goal,
            PROGRESS_S,
            f"3 of 4 commit {fault.hold_blocks} blocks (height {before} -> {goal}) "
            f"with {victim} killed",
        )
        laps.mark("3 of 4 committed")
        with self._quiet(fault, laps):
            self.cluster.start(victim)
            laps.mark("restarted")
            target = self._catch_up(victim, survivors, "restarted after kill -9")
            laps.mark("caught up")
        return (
            f"killed {victim} at {before}; 3 of 4 reached {goal}; it caught up to {target}"
            f"{' on an idle network' if fault.quiet else ''} [{laps}]"
        )

    def pause_primary(self, fault: Fault) -> str:
        view, primary = self._agreed_primary()
        others = self._others([primary])
        laps = Laps()
        before = self.cluster.top(others)
        self.cluster.pause(primary)
        goal = before + fault.hold_blocks

        def moved_on() -> bool:
            answers = [self.cluster.status(name) for name in others]
            views = [a["view"] for a in answers if a is not None]
            heights = [a["height"] for a in answers if a is not None]
            return bool(views) and max(views) > view and max(heights) >= goal

        self._await(
            moved_on,
            PROGRESS_S,
            f"a view change away from paused primary {primary} (view {view}) and "
            f"{fault.hold_blocks} blocks by the others (height {before} -> {goal})",
        )
        laps.mark("view changed")
        new_view = max(s["view"] for n in others if (s := self.cluster.status(n)) is not None)
        with self._quiet(fault, laps):
            self.cluster.resume(primary)
            target = self._catch_up(primary, others, "resumed with SIGCONT")
            laps.mark("caught up")
        return (
            f"paused primary {primary} of view {view} at {before}; the others reached view "
            f"{new_view} and {goal}; it caught up to {target}"
            f"{' on an idle network' if fault.quiet else ''} [{laps}]"
        )

    @contextmanager
    def _quiet(self, fault: Fault, laps: Laps) -> Iterator[None]:
        """For a quiet fault, no client sends anything while the node returns."""
        if not fault.quiet:
            yield
            return
        self.traffic.hold()
        laps.mark("load held")
        try:
            yield
        finally:
            self.traffic.release()

    def _agreed_primary(self) -> tuple[int, str]:
        """The (view, primary) most nodes report, so the node paused is the one others follow."""
        seen: dict[tuple[int, str], int] = {}
        for name in self.cluster.names:
            answer = self.cluster.status(name)
            if answer is not None:
                key = (int(answer["view"]), str(answer["primary"]))
                seen[key] = seen.get(key, 0) + 1
        if not seen:
            self.fail("no node answers its status")
        return max(seen, key=lambda key: seen[key])

    def two_down(self, fault: Fault) -> str:
        live = self._others(fault.nodes)
        laps = Laps()
        self.cluster.take_down(fault.nodes, fault.how)
        laps.mark("down")
        frozen = self._settled_top(live)
        since = time.monotonic()
        while time.monotonic() < since + fault.hold_s:  # observing that nothing happens
            top = self.cluster.top(live)
            if top > frozen:
                self.fail(
                    f"height {top} committed by {live} alone, with {' and '.join(fault.nodes)} "
                    f"down (frozen at {frozen}): 2 of 4 must not commit"
                )
            time.sleep(0.2)
        arrived = self.traffic.acks_since(since)
        new = [ack for ack in arrived if ack.height > frozen]
        if new:
            self.fail(f"{len(new)} txs acknowledged at heights above {frozen} with 2 of 4 down")
        laps.mark("settled and observed")
        for name in fault.nodes:
            self.cluster.start(name)
        laps.mark("restarted")
        goal = frozen + fault.hold_blocks
        self._await(
            lambda: self.cluster.top() >= goal,
            PROGRESS_S,
            f"commits resume once {' and '.join(fault.nodes)} restarted "
            f"(height {frozen} -> {goal})",
        )
        laps.mark("commits resumed")
        for name in fault.nodes:
            self._catch_up(name, live, f"restarted after {fault.how}")
        laps.mark("caught up")
        return (
            f"{fault.how} {' and '.join(fault.nodes)}: no commit for {fault.hold_s} s at "
            f"{frozen} ({len(arrived)} late acks of earlier blocks); commits resumed to {goal} "
            f"[{laps}]"
        )

    def _settled_top(self, live: list[str]) -> int:
        """The live nodes' top once votes already in flight have landed (two equal readings)."""
        previous: tuple[int, ...] = ()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            heights = tuple(self.cluster.height(name) for name in live)
            if heights == previous:
                return max(heights)
            previous = heights
            time.sleep(0.5)
        self.fail(f"the 2 live nodes kept committing with 2 of 4 down: heights now {previous}")

    def restart_all(self, fault: Fault) -> str:
        names = self.cluster.names
        laps = Laps()
        before = {name: self.cluster.height(name) for name in names}
        self.cluster.take_down(names, fault.how)
        laps.mark("down")
        self.cluster.start_all()
        laps.mark("restarted and connected")
        self._await(
            lambda: all(self.cluster.height(name) >= before[name] for name in names),
            CATCH_UP_S,
            f"every node back with at least the blocks it had ({before})",
        )
        goal = max(before.values()) + fault.hold_blocks
        self._await(
            lambda: self.cluster.top() >= goal,
            PROGRESS_S,
            f"commits resume after all four restarted (height -> {goal})",
        )
        laps.mark("commits resumed")
        return f"{fault.how} all four at {max(before.values())}; commits resumed to {goal} [{laps}]"

    # -- the end state --------------------------------------------------------------------------

    def _converge(self) -> int:
        """Idle network: one height, one last hash, one state root, nothing left pending."""
        names = self.cluster.names

        def agreed() -> int:
            answers = [self.cluster.status(name) for name in names]
            tips = {(a["height"], a["last_hash"], a["state_root"]) for a in answers if a}
            pending = sum(int(a["mempool"]) for a in answers if a)
            if None in answers or len(tips) != 1 or pending:
                return 0
            return int(tips.pop()[0])

        def stuck() -> str:
            answers = {name: self.cluster.status(name) for name in names}
            silent = [name for name, a in answers.items() if a is None]
            heights = {name: int(a["height"]) for name, a in answers.items() if a}
            top = max(heights.values(), default=-1)
            behind = [f"{name} at {h}" for name, h in heights.items() if h < top]
            holding = [
                f"{n} holds {a['mempool']}" for n, a in answers.items() if a and a["mempool"]
            ]
            return (
                f"the idle network did not converge: top {top}; behind: {behind or 'none'}; "
                f"not answering: {silent or 'none'}; pending txs (stranded): {holding or 'none'}"
            )

        return int(self._await(agreed, CONVERGE_S, stuck))

    def _check_blocks(self, top: int) -> None:
        chains = {name: block_hashes(self.cluster.apis[name], top) for name in self.cluster.names}
        reference_name = self.cluster.names[0]
        reference = chains[reference_name]
        if len(reference) != top:
            self.fail(f"{reference_name} lists {len(reference)} blocks, its tip is {top}")
        for name, hashes in chains.items():
            for height, (mine, theirs) in enumerate(zip(hashes, reference, strict=False), 1):
                if mine != theirs:
                    self.fail(f"{name} and {reference_name} differ at height {height}")
            if len(hashes) != len(reference):
                self.fail(f"{name} lists {len(hashes)} blocks, {reference_name} {len(reference)}")

    def _check_acks(self, top: int) -> None:
        acks = list(self.traffic.acks.values())
        if not acks:
            self.fail("no tx was acknowledged at all")
        beyond = [ack for ack in acks if ack.height > top or ack.status != "ok"]
        if beyond:
            self.fail(f"acknowledged above the final height {top} or failed: {beyond[:5]}")
        with ThreadPoolExecutor(len(self.cluster.names)) as pool:
            problems = pool.map(lambda name: self._proof_problems(name, acks), self.cluster.names)
            found = [problem for node_problems in problems for problem in node_problems]
        if found:
            self.fail(
                f"{len(found)} acknowledged txs not proven:\n    " + "\n    ".join(found[:10])
            )

    def _proof_problems(self, name: str, acks: list[Ack]) -> list[str]:
        client = signed_client(self.cluster.apis[name], timeout=30)
        problems = []
        for ack in acks:
            where = f"tx {ack.tx_id} (acknowledged by {ack.node} at height {ack.height}) on {name}"
            try:
                proof = client.get_proof(ack.tx_id)
            except ApiError as error:
                problems.append(f"{where}: {error.code} {error.message}")
                continue
            checked = verify_proof(proof, self.genesis, ack.tx_id)
            if not checked.ok:
                failures = ", ".join(f"{c.name}: {c.detail}" for c in checked.failures)
                problems.append(f"{where}: proof does not verify ({failures})")
            elif checked.height != ack.height:
                problems.append(f"{where}: proven at height {checked.height}")
        return problems

    def _check_money(self, supply: dict[str, int]) -> None:
        for name in self.cluster.names:
            held = balances_by_currency(self.cluster.apis[name])
            for code, issued in supply.items():
                if held.get(code, 0) != issued:
                    self.fail(
                        f"{name}: balances of {code} add up to {held.get(code, 0)}, {issued} issued"
                    )


STEPS: dict[str, Callable[[ChaosRun, Fault], str]] = {
    KILL_RESTART: ChaosRun.kill_restart,
    PAUSE_PRIMARY: ChaosRun.pause_primary,
    TWO_DOWN: ChaosRun.two_down,
    RESTART_ALL: ChaosRun.restart_all,
}


@pytest.mark.timeout(max(300, 120 + 45 * FAULTS))  # a long schedule gets more time
@pytest.mark.parametrize("seed", SEEDS)
def test_chaos_loses_no_acknowledged_tx_and_every_node_converges(localnet: Any, seed: int) -> None:
    run = ChaosRun(localnet(nodes=4, params=PARAMS), seed, FAULTS)
    try:
        run.execute()
    finally:
        print(run.record())


def test_a_seed_draws_one_schedule_with_each_kind_of_fault_once() -> None:
    names = ["validator-a", "validator-b", "validator-c", "validator-d"]
    for seed in range(1, 50):
        schedule = draw_schedule(seed, names)
        assert schedule == draw_schedule(seed, names), f"seed {seed} draws two schedules"
        assert sorted(f.kind for f in schedule.faults) == sorted(KINDS), f"seed {seed}"
        (two_down,) = [f for f in schedule.faults if f.kind == TWO_DOWN]
        assert len(set(two_down.nodes)) == 2 and set(two_down.nodes) <= set(names)
    assert len(draw_schedule(1, names, 9).faults) == 9
