"""Event consumers for the subscription tests (issue 17): each runs in its own thread, keeps
every event it is given and the checkpoint it would persist, and now and then restarts from
that saved checkpoint (a new subscription, as a consumer process that died and came back).

`SyncConsumer` reads through a `FailoverClient`, `AsyncConsumer` through an `AsyncClient` with
`nodes=`; both record the failover notices they hear.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from tests.support.localnet_tools import reader_of, signed_client
from wallet import routes
from wallet.async_client import AsyncClient
from wallet.async_subscription import AsyncSubscription
from wallet.checkpoint import Checkpoint, Event
from wallet.failover import FailoverClient
from wallet.subscription import Subscription

JOIN_S = 15.0


def event_list(api: str) -> list[Event]:
    """Every committed event the node at `api` holds, read page by page (not by the SDK's
    subscription: this is what it is compared with)."""
    client = signed_client(api, timeout=30)
    found: list[Event] = []
    while True:
        after = found[-1].seq if found else 0
        page = client.get_list(routes.events(after, 1000), "events")
        if not page:
            return found
        found.extend(Event.of(record) for record in page)


class _Consumer:
    def __init__(self, restart_every: int) -> None:
        self.restart_every = restart_every
        self.events: list[Event] = []
        self.saved = Checkpoint().encode()  # what a real consumer would have on disk
        self.switches: list[str] = []
        self.restarts = 0
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def last_seq(self) -> int:
        with self.lock:
            return self.events[-1].seq if self.events else 0

    def _take(self, event: Event) -> bool:
        """Keep `event` and its checkpoint; True when it is time to restart."""
        with self.lock:
            self.events.append(event)
            self.saved = event.checkpoint.encode()
            return len(self.events) % self.restart_every == 0

    def _main(self) -> None:
        try:
            self._run()
        except BaseException as error:  # reported by the test, which checks `error` first
            self.error = error

    def _run(self) -> None:
        raise NotImplementedError


class SyncConsumer(_Consumer):
    def __init__(self, urls: Sequence[str], restart_every: int) -> None:
        super().__init__(restart_every)
        self.client = FailoverClient(
            urls, timeout=5, on_switch=self.switches.append, request_signer=reader_of(urls[0])
        )
        self.subscription: Subscription | None = None

    def live_node(self) -> str | None:
        with self.lock:
            return None if self.subscription is None else self.subscription.live_node

    def _run(self) -> None:
        while True:
            with self.lock:
                if self.stopping:
                    return
                resumed = Checkpoint.decode(self.saved)
                self.subscription = Subscription(
                    self.client, resumed, on_switch=self.switches.append
                )
            for event in self.subscription:
                if self._take(event):
                    self.restarts += 1
                    break

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            if self.subscription is not None:
                self.subscription.close()
        self.thread.join(JOIN_S)


class AsyncConsumer(_Consumer):
    def __init__(self, urls: Sequence[str], restart_every: int) -> None:
        super().__init__(restart_every)
        self.urls = list(urls)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscription: AsyncSubscription | None = None

    def live_node(self) -> str | None:
        with self.lock:
            return None if self.subscription is None else self.subscription.live_node

    def _run(self) -> None:
        asyncio.run(self._consume())

    async def _consume(self) -> None:
        self.loop = asyncio.get_running_loop()
        signer = reader_of(self.urls[0])
        async with AsyncClient(self.urls[0], timeout=5, request_signer=signer) as client:
            while True:
                with self.lock:
                    if self.stopping:
                        return
                    resumed = Checkpoint.decode(self.saved)
                    self.subscription = client.subscribe(
                        resumed, nodes=self.urls, on_switch=self.switches.append
                    )
                async for event in self.subscription:
                    if self._take(event):
                        self.restarts += 1
                        self.subscription.close()  # an async generator left early stays open
                        break

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            subscription, loop = self.subscription, self.loop
        if subscription is not None and loop is not None:
            loop.call_soon_threadsafe(subscription.close)
        self.thread.join(JOIN_S)


def mismatch(got: list[Event], want: list[Event]) -> dict[str, Any] | None:
    """None when `got` is exactly `want`; else where they first differ (for the message)."""
    for place, (mine, theirs) in enumerate(zip(got, want, strict=False)):
        if mine != theirs:
            return {"at": place, "got": mine, "want": theirs}
    if len(got) != len(want):
        return {"lengths": (len(got), len(want)), "seqs_got_tail": [e.seq for e in got[-5:]]}
    return None
