"""The SDK's checkpointed event subscription against four real validators (issue 17).

While clients send transfers through random nodes, two consumers read every committed event:
one with the synchronous `Client` (a `FailoverClient` over the four nodes), one with the
`AsyncClient` (`nodes=` the four). Each restarts itself now and then from the checkpoint it
saved, as a consumer process would after a crash. Meanwhile the node each consumer's live stream
is on is taken down (kill -9 for the sync one, SIGTERM for the async one) and restarted. Once the
load stops, each consumer must hold exactly the event list a live node serves: every committed
event once, in order, no gap; and both nodes asked must serve the same list.

The same file shows the timeout model: `wait_for_receipt` with a timeout past the node's 120 s
cap on one long poll, across several polls (made short for the test) while no quorum commits.

    .venv/bin/python -m pytest -s tests/integration/test_subscription_e2e.py
    TALLY_LONG=1 ...    # eight faults: consumers' nodes, others, two at once, all four
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.chaos import Cluster, Traffic, fund_payers
from tests.support.localnet_tools import reader_of, wait_until
from tests.support.subscribers import (
    AsyncConsumer,
    SyncConsumer,
    event_list,
    mismatch,
)
from wallet.async_client import AsyncClient
from wallet.client import Client
from wallet.localnet_keys import localnet_key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

PARAMS = {"view_timeout_ms": 1000, "checkpoint_interval": 8, "batch_ms": 20}
LONG = os.environ.get("TALLY_LONG") == "1"
SEED = 17
LEAD_ACKS = 8  # acknowledged txs of load before each fault
HOLD_BLOCKS = 3  # blocks the others commit while a node is down
DEADLINE_S = 60.0  # safety nets only: each wait ends as soon as its condition holds


@pytest.fixture(scope="module")
def net(module_localnet: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return module_localnet(4, params=PARAMS)


class Faults:
    """Takes nodes down and back, and waits for the chain to go on meanwhile."""

    def __init__(self, cluster: Cluster, traffic: Traffic) -> None:
        self.cluster = cluster
        self.traffic = traffic
        self.by_url = {api: name for name, api in cluster.apis.items()}
        self.done: list[str] = []

    def lead_in(self) -> None:
        goal = self.traffic.count() + LEAD_ACKS
        wait_until(lambda: self.traffic.count() >= goal, DEADLINE_S, f"{goal} acks")

    def node_of(self, consumer: SyncConsumer | AsyncConsumer) -> str:
        url = wait_until(consumer.live_node, DEADLINE_S, "a consumer's live stream")
        return self.by_url[url]

    def down_and_back(self, names: list[str], how: str, quorum: bool = True) -> None:
        """`how` ("SIGKILL" or "SIGTERM") `names`; with a quorum left, let the others commit
        HOLD_BLOCKS blocks, then restart them and wait until they are at the others' height."""
        others = [name for name in self.cluster.names if name not in names]
        began = time.monotonic()
        self.cluster.take_down(names, how)
        stopped = time.monotonic() - began
        if quorum:
            target = self.cluster.top(others) + HOLD_BLOCKS
            wait_until(lambda: self.cluster.top(others) >= target, DEADLINE_S, "commits")
        if len(names) == len(self.cluster.names):
            self.cluster.start_all()
        else:
            for name in names:
                self.cluster.start(name)
        top = self.cluster.top(others) if others else 0
        for name in names:
            wait_until(lambda n=name: self.cluster.height(n) >= top, DEADLINE_S, f"{name} back")
        self.done.append(
            f"{how} {'+'.join(names)} (down in {stopped:.1f} s, "
            f"back in {time.monotonic() - began:.1f} s)"
        )


def _schedule(faults: Faults, sync: SyncConsumer, aio: AsyncConsumer) -> None:
    """The consumers' own nodes, each once (the `make test` run); TALLY_LONG=1 adds more."""
    faults.lead_in()
    faults.down_and_back([faults.node_of(sync)], "SIGKILL")
    faults.lead_in()
    faults.down_and_back([faults.node_of(aio)], "SIGTERM")
    if not LONG:
        return
    rng = random.Random(SEED)
    names = faults.cluster.names
    for _ in range(6):
        faults.lead_in()
        kind = rng.choice(("sync", "async", "other", "two", "all"))
        how = rng.choice(("SIGKILL", "SIGTERM"))
        if kind == "sync":
            faults.down_and_back([faults.node_of(sync)], how)
        elif kind == "async":
            faults.down_and_back([faults.node_of(aio)], how)
        elif kind == "other":
            mine = {faults.node_of(sync), faults.node_of(aio)}
            spare = [name for name in names if name not in mine] or names
            faults.down_and_back([rng.choice(spare)], how)
        elif kind == "two":
            faults.down_and_back(rng.sample(names, 2), how, quorum=False)
        else:
            faults.down_and_back(list(names), how, quorum=False)


def test_consumers_get_every_committed_event_once_in_order_through_node_faults(
    net: dict[str, Any],
) -> None:
    cluster = Cluster(net)
    urls = [cluster.apis[name] for name in cluster.names]
    fund_payers(net, urls[0])
    traffic = Traffic(net, cluster, SEED)
    traffic.tip = cluster.top()
    sync = SyncConsumer(urls, restart_every=23)
    aio = AsyncConsumer(urls[2:] + urls[:2], restart_every=31)
    faults = Faults(cluster, traffic)
    sync.start()
    aio.start()
    try:
        with traffic:
            _schedule(faults, sync, aio)
            # Enough events for each consumer to restart from its checkpoint twice, however
            # fast the nodes got through the schedule (fewer made this test flaky).
            enough = 2 * max(sync.restart_every, aio.restart_every) + 1
            wait_until(lambda: len(event_list(urls[0])) >= enough, DEADLINE_S, f"{enough} events")
        top = cluster.top()
        wait_until(lambda: all(cluster.height(n) >= top for n in cluster.names), DEADLINE_S)
        final = event_list(urls[0])
        assert final == event_list(urls[3]), "two live nodes serve different event lists"
        for consumer in (sync, aio):
            wait_until(
                lambda c=consumer: c.error is not None or c.last_seq() >= final[-1].seq,
                DEADLINE_S,
                f"a consumer at event {final[-1].seq}",
            )
    finally:
        sync.stop()
        aio.stop()
    report = f"faults {faults.done}, {traffic.count()} acked txs, {len(final)} events"
    for name, consumer in (("sync", sync), ("async", aio)):
        assert consumer.error is None, f"{name} consumer failed: {consumer.error!r} ({report})"
        assert mismatch(consumer.events, final) is None, (name, mismatch(consumer.events, final))
        assert consumer.restarts >= 2, f"{name} consumer never resumed from its checkpoint"
        assert consumer.switches, f"{name} consumer's node went down, yet it never switched"
    assert [event.seq for event in final] == list(range(1, len(final) + 1))
    assert len(final) > 5 * LEAD_ACKS, report
    print(f"\n{report}; sync switches {len(sync.switches)}, async {len(aio.switches)}")


# -- the timeout model: a wait longer than the node's cap on one long poll -------------------


class CountingClient(Client):
    """Counts the long polls `wait_for_receipt` makes (a real client otherwise)."""

    polls = 0

    def get(self, path: str) -> Any:
        if "wait=commit" in path:
            self.polls += 1
        return super().get(path)


class CountingAsyncClient(AsyncClient):
    polls = 0

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> Any:
        if "wait=commit" in path:
            self.polls += 1
        return await super().request(method, path, body, timeout)


@pytest.fixture
def no_quorum(net: dict[str, Any]) -> Iterator[Cluster]:
    """Two of the four validators paused (SIGSTOP: nothing commits) until the test resumes
    them."""
    cluster = Cluster(net)
    for name in cluster.names[2:]:
        cluster.pause(name)
    try:
        yield cluster
    finally:
        cluster.resume_all()


def test_wait_for_receipt_outlasts_the_nodes_poll_cap(
    no_quorum: Cluster, net: dict[str, Any]
) -> None:
    api = no_quorum.apis[no_quorum.names[0]]
    sync = CountingClient(api, timeout=1.5, request_signer=reader_of(api))  # polls of 0.75 s
    bank = localnet_key(net, "bank-a")
    tx = build_tx(
        bank, net["chain"], "cash", "issue", {"currency": "CNY", "to": "bigauto", "amount": 7},
        sync.height() + 500,
    )  # fmt: skip
    (accepted,) = sync.submit([tx])
    assert accepted["accepted"], accepted
    receipts: dict[str, Any] = {}

    def wait_sync() -> None:
        receipts["sync"] = sync.wait_for_receipt(tx.id.hex(), timeout=600)  # > 120 s: allowed

    aio = CountingAsyncClient(api, timeout=5, request_signer=reader_of(api))
    aio.max_poll_s = 0.5  # the node's cap made short, to cross it cheaply

    def wait_async() -> None:
        async def wait() -> None:
            async with aio:
                receipts["async"] = await aio.wait_for_receipt(tx.id.hex(), timeout=600)

        asyncio.run(wait())

    waiters = [threading.Thread(target=wait_sync), threading.Thread(target=wait_async)]
    for waiter in waiters:
        waiter.start()
    wait_until(lambda: sync.polls >= 3 and aio.polls >= 3, DEADLINE_S, "three polls each")
    no_quorum.resume_all()
    for waiter in waiters:
        waiter.join(DEADLINE_S)
    assert receipts.get("sync", {}).get("status") == "ok", receipts
    assert receipts.get("async") == receipts["sync"]
    assert sync.polls >= 3 and aio.polls >= 3
    assert sync.wait_for_receipt(tx.id.hex(), timeout=10**6)["status"] == "ok"  # no 400
