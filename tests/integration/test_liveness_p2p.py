"""A restarting validator gets its peers back while silent sockets flood every P2P port.

Issue 11, finding 5: 80 silent sockets on each P2P port (one global cap of 64 pending
handshakes, no per-source limit) kept a restarting validator at 0 peers for the whole flood.
Here a flood from one loopback source and from 64 others — more sockets than the node's cap on
pending handshakes, each one reopened as soon as the node closes it — is held on all four P2P
ports while validator 3 restarts; it must connect to all three peers and catch up to their
height with the flood still running, and the nodes' logs must stay short.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from pathlib import Path
from typing import Any

import pytest

from ledger.genesis import load_genesis
from network import validators_from_genesis
from network.config import split_address
from node.ops import layout
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import (
    SENDERS,
    fund_senders,
    height,
    operator,
    signed_client,
    status,
    wait_until,
)
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

PARAMS = {"view_timeout_ms": 1000, "checkpoint_interval": 8, "batch_ms": 20}
# Per port: 16 sockets from one source, 2 from each of 64 more: 144, over the node's cap.
FLOOD_SOURCES = ["127.0.0.2"] * 16 + [f"127.0.0.{n}" for n in range(3, 67) for _ in range(2)]
# A socket that held a slot (until the node's deadline, say) is reopened at once, to take the
# slot again before anyone else can; one refused or evicted at once waits this long first.
REOPEN_PAUSE = 0.1
HELD = 1.0  # seconds: a socket open this long held a slot
FLOOD_SECONDS = 120.0  # the flood ends by itself after this, whatever the test does
FLOOD_MAX_OPENS = 300_000  # ...or after this many connections, over all ports
# The restarted validator must be back with all its peers before the flood has opened this
# many more connections: a measure of the attacker's effort, not of time, so it holds on a
# loaded machine. Measured: 130 to 330 with admission; with the old global cap the validator
# had 0 or 2 peers after 5,000 (it let one through by luck, now and then).
RECONNECT_BUDGET = 5_000


class SilentFlood:
    """Silent TCP sockets held open on some ports, from loopback sources only, in a thread.

    Each slot connects, sends nothing, waits until the node closes the socket, and reconnects:
    at once if the socket held a slot for a while, after `REOPEN_PAUSE` otherwise. While a
    port refuses connections (its node is stopped), only the first slot keeps trying; the
    others wait until it gets through.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.opened: collections.Counter[int] = collections.Counter()
        self.closed_by_node: collections.Counter[int] = collections.Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="silent-flood", daemon=True)

    def __enter__(self) -> SilentFlood:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            loop.call_soon_threadsafe(main.cancel)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the flood did not stop"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def total(self) -> int:
        return sum(self.opened.values())

    def _run(self) -> None:
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            asyncio.run(self._flood())

    async def _flood(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._main = asyncio.current_task()
        self._started.set()
        async with asyncio.timeout(FLOOD_SECONDS):
            async with asyncio.TaskGroup() as group:
                for port in self.ports:
                    reachable = asyncio.Event()
                    for slot, source in enumerate(FLOOD_SOURCES):
                        group.create_task(self._slot(port, source, reachable, scout=slot == 0))

    async def _slot(self, port: int, source: str, reachable: asyncio.Event, scout: bool) -> None:
        while self.total < FLOOD_MAX_OPENS:
            if not scout:
                await reachable.wait()
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", port, local_addr=(source, 0)
                )
            except OSError:
                reachable.clear()
                await asyncio.sleep(0.05)
                continue
            reachable.set()
            self.opened[port] += 1
            opened_at = asyncio.get_running_loop().time()
            try:
                with contextlib.suppress(OSError):
                    await reader.read(1)  # a node never speaks first: this returns on close
                self.closed_by_node[port] += 1
            finally:
                writer.transport.abort()
            if asyncio.get_running_loop().time() - opened_at < HELD:
                await asyncio.sleep(REOPEN_PAUSE)


def submit(net: dict[str, Any], api: str, count: int, turn: int) -> None:
    keys = [operator(net, org) for org in SENDERS]
    txs = [
        build_tx(
            keys[(turn + i) % len(keys)],
            net["chain"],
            "cash",
            "transfer",
            {"currency": "CNY", "to": SENDERS[(turn + i + 1) % len(keys)], "amount": 1},
            900,
        )
        for i in range(count)
    ]
    results = signed_client(api, timeout=60).submit(txs, wait=True)
    assert all(r["receipt"]["status"] == "ok" for r in results), results[:2]


def peers(api: str) -> int:
    answer = status(api)
    return -1 if answer is None else int(answer["peers"])


def handshake_log_lines(directory: Path, name: str) -> int:
    text = (directory / name / layout.LOG_FILE).read_text(errors="replace")
    return sum("inbound handshake" in line for line in text.splitlines())


def test_restarting_validator_gets_its_peers_back_through_a_silent_socket_flood(
    localnet: Any,
) -> None:
    net = localnet(nodes=4, params=PARAMS)
    directory = Path(net["dir"])
    apis = [entry["api"] for entry in net["nodes"]]
    names = [entry["name"] for entry in net["nodes"]]
    ports = [
        split_address(v.address)[1] for v in validators_from_genesis(load_genesis(net["genesis"]))
    ]
    fund_senders(net, apis[0], 10**9)

    # Validator 3 stops; the others commit past a checkpoint without it.
    localnet_module.stop_node(directory, names[3])
    for turn in range(10):
        submit(net, apis[turn % 3], 5, turn)
    assert height(apis[0]) > PARAMS["checkpoint_interval"]

    with SilentFlood(ports) as flood:
        # The flood holds every slot of the running nodes (each source got in at least once).
        wait_until(
            lambda: all(flood.opened[port] >= len(FLOOD_SOURCES) for port in ports[:3]),
            what="flood sockets open on every running node",
        )
        localnet_module.start_node(directory, names[3])  # returns once its API answers
        before_restart = {port: flood.opened[port] for port in ports}
        spent = flood.total
        wait_until(
            lambda: peers(apis[3]) == 3 or flood.total - spent > RECONNECT_BUDGET,
            60,
            "the restarted validator connected to all, or the flood's budget spent",
        )
        assert peers(apis[3]) == 3, f"cut off after {RECONNECT_BUDGET:,} flood connections"
        submit(net, apis[0], 5, 99)  # a new block, which the restarted node must reach too
        target = height(apis[0])
        wait_until(lambda: height(apis[3]) >= target, 45, "the restarted validator caught up")

        # All along the flood was held: the nodes kept closing its sockets and it reopened them.
        assert flood.running
        wait_until(
            lambda: all(flood.opened[port] > before_restart[port] for port in ports),
            30,
            "the flood reopening sockets on every node after the restart",
        )
        # The restarted node closes silent sockets after its handshake timeout, which on a
        # loaded machine may come after it caught up: wait for it, don't race it.
        wait_until(
            lambda: flood.closed_by_node[ports[3]] > 0, 30, "the restarted node closing a socket"
        )
        # Catch-up may end within a second or two: hold the flood until the nodes have refused
        # it by the thousand, then check they still serve their peers.
        wait_until(
            lambda: sum(flood.closed_by_node.values()) > 1000, 60, "a thousand flood sockets closed"
        )
        closed = sum(flood.closed_by_node.values())

    assert all(peers(api) == 3 for api in apis)
    # Thousands of failed handshakes, a few summary lines (one per interval) in each log.
    assert closed > 1000
    for name in names:
        assert handshake_log_lines(directory, name) <= 30, name
