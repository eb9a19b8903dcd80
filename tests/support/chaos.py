"""Machinery of the seeded chaos test (issue 11): a fault schedule drawn from one seed, a handle
on a running localnet that can kill, stop, pause and restart its nodes, and client load that
remembers every transaction a node acknowledged as committed.

Only the schedule is deterministic: the nodes are real processes, so when a fault lands relative
to the blocks in flight varies from run to run. Replaying a seed replays the same faults on the
same nodes, in the same order, with the same holds and the same clients' choices.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.ops import layout
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import signed_client
from wallet.client import ApiError
from wallet.errors import NODE_UNREACHABLE, NOT_A_NODE_ERROR
from wallet.localnet_keys import localnet_key
from wallet.retry import NO_RETRY
from wallet.txbuilder import build_tx

KILL_RESTART = "kill_restart"
PAUSE_PRIMARY = "pause_primary"
TWO_DOWN = "two_down"
RESTART_ALL = "restart_all"
KINDS = (KILL_RESTART, PAUSE_PRIMARY, TWO_DOWN, RESTART_ALL)
PRIMARY = "the primary"  # a victim resolved when the fault runs: whoever leads the view then
DEFAULT_FAULTS = len(KINDS)  # the `make test` schedule: each kind of fault once

PAYERS = ("acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts")
ISSUERS = {"CNY": "bank-a", "EUR": "bank-b"}  # currency -> the bank that issues it
FUNDING = 10**9  # minor units of each currency issued to each payer at the start
VALIDITY = 900  # heights a client's tx stays valid (genesis max_tx_validity is 1000)
WAIT_MS = 8_000  # how long a node holds a `?wait=commit` request
HTTP_TIMEOUT_S = 12.0  # a client's socket timeout: above WAIT_MS, so a paused node costs one turn


# -- the schedule ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault: its kind, the nodes it hits (pause_primary picks the primary when it runs), how
    they go down, the acks of plain load before it, and how long it holds."""

    kind: str
    nodes: tuple[str, ...]
    how: str  # "SIGKILL" (kill -9) or "SIGTERM" (a clean stop)
    lead_acks: int  # acknowledged txs awaited before the fault starts
    hold_blocks: int  # blocks the others must commit while it holds (not for two_down)
    hold_s: float  # two_down: seconds observed with 2 of 4 down and no commit
    quiet: bool  # kill_restart, pause_primary: the node returns to an idle network (no new txs)

    def describe(self) -> str:
        victims = "+".join(self.nodes)
        idle = " into an idle network" if self.quiet else ""
        if self.kind == KILL_RESTART:
            text = f"kill -9 {victims} until 3 of 4 commit {self.hold_blocks} blocks, restart{idle}"
        elif self.kind == PAUSE_PRIMARY:
            text = (
                f"SIGSTOP the primary past a view change and {self.hold_blocks} blocks, "
                f"SIGCONT{idle}"
            )
        elif self.kind == TWO_DOWN:
            text = f"{self.how} {victims} for {self.hold_s:.1f} s (no commit allowed), restart both"
        else:
            text = f"{self.how} all four, restart, {self.hold_blocks} blocks"
        return f"after {self.lead_acks} acks: {text}"


@dataclass(frozen=True, slots=True)
class Schedule:
    seed: int
    faults: tuple[Fault, ...]

    def describe(self) -> str:
        return "\n".join(f"    {i}. {fault.describe()}" for i, fault in enumerate(self.faults, 1))


def draw_schedule(seed: int, names: list[str], count: int = DEFAULT_FAULTS) -> Schedule:
    """Every kind once in a seeded order (the first `count` of them), then random kinds."""
    rng = random.Random(f"chaos-schedule/{seed}")
    kinds = list(KINDS)
    rng.shuffle(kinds)
    kinds = kinds[:count] + [rng.choice(KINDS) for _ in range(count - len(kinds))]
    faults = []
    for kind in kinds:
        if kind == KILL_RESTART:
            nodes: tuple[str, ...] = (PRIMARY if rng.random() < 0.5 else rng.choice(names),)
        elif kind == TWO_DOWN:
            nodes = tuple(rng.sample(names, 2))
        elif kind == RESTART_ALL:
            nodes = tuple(names)
        else:
            nodes = ()
        how = "SIGKILL" if kind == KILL_RESTART else rng.choice(("SIGKILL", "SIGTERM"))
        faults.append(
            Fault(
                kind=kind,
                nodes=nodes,
                how=how,
                lead_acks=rng.randint(5, 20),
                hold_blocks=rng.randint(2, 5),
                hold_s=round(rng.uniform(2.0, 4.0), 1),
                quiet=kind in (KILL_RESTART, PAUSE_PRIMARY) and rng.random() < 0.5,
            )
        )
    return Schedule(seed, tuple(faults))


# The seed `make test` runs: its four faults cover every variant (the primary killed and
# restarted into an idle network, a paused primary resumed into one, SIGKILL of all four,
# SIGKILL of two).
DEFAULT_SEED = 2


def chaos_seeds(env: Mapping[str, str]) -> list[int]:
    """TALLY_CHAOS_SEED=S replays one seed; TALLY_CHAOS_SEEDS=N runs seeds 1..N."""
    one = env.get("TALLY_CHAOS_SEED")
    if one is not None:
        return [int(one)]
    count = env.get("TALLY_CHAOS_SEEDS")
    return [DEFAULT_SEED] if count is None else list(range(1, int(count) + 1))


def chaos_fault_count(env: Mapping[str, str]) -> int:
    """TALLY_CHAOS_FAULTS=K draws K faults per seed instead of one of each kind."""
    return int(env.get("TALLY_CHAOS_FAULTS", str(DEFAULT_FAULTS)))


def replay_command(seed: int, faults: int) -> str:
    extra = "" if faults == DEFAULT_FAULTS else f" TALLY_CHAOS_FAULTS={faults}"
    return (
        f"TALLY_CHAOS_SEED={seed}{extra} .venv/bin/python -m pytest -s -p no:cacheprovider "
        "tests/integration/test_chaos.py"
    )


class Laps:
    """How long each part of a fault took, for the per-seed record."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.parts: list[str] = []

    def mark(self, what: str) -> None:
        now = time.monotonic()
        self.parts.append(f"{what} {now - self.last:.1f} s")
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.parts)


# -- the nodes ---------------------------------------------------------------------------------


class Cluster:
    """A running localnet and what the test did to each node (down, paused)."""

    def __init__(self, net: dict[str, Any]) -> None:
        self.directory = Path(net["dir"])
        self.apis = {entry["name"]: entry["api"] for entry in net["nodes"]}
        self.names = list(self.apis)
        self.down: set[str] = set()
        self.paused: set[str] = set()
        self.lock = threading.Lock()

    def reachable(self) -> list[str]:
        """Nodes a client may use: what a load balancer's health check would leave."""
        with self.lock:
            return [name for name in self.names if name not in self.down | self.paused]

    def status(self, name: str) -> dict[str, Any] | None:
        if name in self.paused:
            return None  # a stopped process would only time out
        try:
            return signed_client(self.apis[name], timeout=3).status()
        except ApiError:
            return None

    def height(self, name: str) -> int:
        answer = self.status(name)
        return -1 if answer is None else int(answer["height"])

    def top(self, names: list[str] | None = None) -> int:
        return max(self.height(name) for name in names or self.reachable())

    def take_down(self, names: list[str] | tuple[str, ...], how: str) -> None:
        """Signal every one of `names` at once (kill -9, or SIGTERM), then wait for each to exit.

        One signal for all first, so that nodes stopping cleanly do not wait out each other's
        shutdown one after another.
        """
        with self.lock:
            self.down.update(names)
        for name in names:
            pid = self._pid(name)
            if pid > 0:
                try:
                    os.kill(pid, signal.SIGKILL if how == "SIGKILL" else signal.SIGTERM)
                except ProcessLookupError:
                    pass  # already gone: the wait below only records it
        for name in names:
            if how == "SIGKILL":
                localnet_module.kill_node(self.directory, name)
            else:
                localnet_module.stop_node(self.directory, name, grace=10.0)

    def start(self, name: str) -> None:
        localnet_module.start_node(self.directory, name)
        with self.lock:
            self.down.discard(name)

    def start_all(self) -> None:
        """Start every node that is down at once and wait until they are connected."""
        localnet_module.up(self.directory, len(self.names))
        with self.lock:
            self.down.clear()

    def pause(self, name: str) -> None:
        with self.lock:
            self.paused.add(name)
        os.kill(self._pid(name), signal.SIGSTOP)

    def resume(self, name: str) -> None:
        os.kill(self._pid(name), signal.SIGCONT)
        with self.lock:
            self.paused.discard(name)

    def resume_all(self) -> None:
        for name in list(self.paused):
            self.resume(name)

    def _pid(self, name: str) -> int:
        info = localnet_module.read_info(self.directory)
        return next(int(e["pid"]) for e in info["nodes"] if e["name"] == name)

    def table(self) -> str:
        """One line per node, for failure messages: what it says, or why it cannot."""
        lines = []
        for name in self.names:
            if name in self.paused:
                lines.append(f"    {name}: paused (SIGSTOP)")
                continue
            answer = None if name in self.down else self.status(name)
            if answer is None:
                state = "down" if name in self.down else "not answering"
                lines.append(f"    {name}: {state}")
                continue
            lines.append(
                f"    {name}: height {answer['height']} view {answer['view']} "
                f"primary {answer['primary']} peers {answer['peers']} mempool {answer['mempool']}"
            )
        return "\n".join(lines)

    def log_tail(self, name: str, lines: int = 6) -> str:
        path = self.directory / name / layout.LOG_FILE
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# -- the load ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ack:
    """A tx a node answered as committed: what the client was told, and when."""

    tx_id: str
    height: int
    status: str
    node: str
    at: float  # time.monotonic() when the answer arrived


@dataclass(slots=True)
class LoadFigures:
    submitted: int = 0
    unacked: int = 0  # accepted but no receipt within WAIT_MS
    unreachable: int = 0  # requests that got no answer (node down, paused or slow)
    refused: dict[str, int] = field(default_factory=dict)  # refusal code -> txs


def fund_payers(net: dict[str, Any], api: str) -> dict[str, int]:
    """Issue FUNDING of each currency to each payer; return the supply issued per currency."""
    client = signed_client(api, timeout=60)
    top = client.height()
    txs = [
        build_tx(
            localnet_key(net, bank),
            net["chain"],
            "cash",
            "issue",
            {"currency": code, "to": payer, "amount": FUNDING},
            top + VALIDITY,
        )
        for code, bank in ISSUERS.items()
        for payer in PAYERS
    ]
    results = client.submit(txs, wait=True)
    failed = [r for r in results if (r.get("receipt") or {}).get("status") != "ok"]
    if failed:
        raise AssertionError(f"funding failed before any fault: {failed}")
    return {code: FUNDING * len(PAYERS) for code in ISSUERS}


class Traffic:
    """Client threads sending transfers with `?wait=commit` to random reachable nodes."""

    def __init__(self, net: dict[str, Any], cluster: Cluster, seed: int, clients: int = 3) -> None:
        self.chain = net["chain"]
        self.keys = {payer: localnet_key(net, payer) for payer in PAYERS}
        self.cluster = cluster
        self.seed = seed
        self.acks: dict[str, Ack] = {}
        self.figures = LoadFigures()
        self.tip = 0  # the highest height seen, for validity windows
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.holding = threading.Event()  # set: clients send nothing new (an idle network)
        self.in_flight = 0
        self.threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=HTTP_TIMEOUT_S + 5)

    def count(self) -> int:
        with self.lock:
            return len(self.acks)

    def hold(self) -> None:
        """Send nothing new and wait until every request in flight has its answer."""
        self.holding.set()
        deadline = time.monotonic() + HTTP_TIMEOUT_S + 5
        while self.busy():
            if time.monotonic() >= deadline:
                raise AssertionError(f"client requests still in flight after {HTTP_TIMEOUT_S} s")
            time.sleep(0.05)  # waiting for this process's own threads' sockets to answer

    def release(self) -> None:
        self.holding.clear()

    def busy(self) -> bool:
        with self.lock:
            return self.in_flight > 0

    def acks_since(self, moment: float) -> list[Ack]:
        with self.lock:
            return [ack for ack in self.acks.values() if ack.at >= moment]

    def _client(self, index: int) -> None:
        rng = random.Random(f"chaos-client/{self.seed}/{index}")
        while not self.stopping.is_set():
            names = self.cluster.reachable()
            if names and not self.holding.is_set():
                self._send(rng, rng.choice(names))
            self.stopping.wait(rng.uniform(0.2, 0.5))  # pacing: a few tx/s per client

    def _send(self, rng: random.Random, name: str) -> None:
        txs = []
        for _ in range(rng.randint(1, 3)):
            payer, payee = rng.sample(PAYERS, 2)
            args = {
                "currency": rng.choice(list(ISSUERS)),
                "to": payee,
                "amount": rng.randint(1, 99),
            }
            valid_until = self.tip + VALIDITY
            txs.append(
                build_tx(self.keys[payer], self.chain, "cash", "transfer", args, valid_until)
            )
        client = signed_client(self.cluster.apis[name], timeout=HTTP_TIMEOUT_S)
        # One try: a retry would hold a request past hold()'s bound, and the run counts each
        # failure itself (a paused node costs one turn).
        client.retry_policy = NO_RETRY
        with self.lock:
            if self.holding.is_set():
                return  # hold() began while these were built: they are not sent
            self.in_flight += 1
        try:
            answer = client.request(
                "POST",
                f"/v1/txs?wait=commit&timeout_ms={WAIT_MS}",
                {"txs": [tx.encode().hex() for tx in txs]},
            )
        except ApiError as error:
            self._count_failure(error, len(txs))
            return
        else:
            self._record(name, answer["results"])
        finally:
            with self.lock:
                self.in_flight -= 1

    def _count_failure(self, error: ApiError, txs: int) -> None:
        with self.lock:
            self.figures.submitted += txs
            if error.code in (NODE_UNREACHABLE, NOT_A_NODE_ERROR):
                self.figures.unreachable += txs
            else:
                self.figures.refused[error.code] = self.figures.refused.get(error.code, 0) + txs

    def _record(self, name: str, results: list[dict[str, Any]]) -> None:
        now = time.monotonic()
        with self.lock:
            for result in results:
                self.figures.submitted += 1
                receipt = result.get("receipt")
                if not result["accepted"]:
                    code = (result.get("error") or {}).get("code", "REFUSED")
                    self.figures.refused[code] = self.figures.refused.get(code, 0) + 1
                elif receipt is None:
                    self.figures.unacked += 1
                else:
                    height = int(receipt["height"])
                    self.acks[result["id"]] = Ack(
                        result["id"], height, receipt["status"], name, now
                    )
                    self.tip = max(self.tip, height)
