"""A node that is not in the validator set in force follows the chain without voting.

That is a validator governance has not added yet (or whose addition is not in force yet), or
one it removed. Its replica is a `Bystander` (node/runtime/membership.py), so nothing asks for
blocks on its behalf: this loop does. While the node is a bystander and a peer is connected
it first restores the state by snapshot if the peers are far ahead (once), then fetches
certified blocks above its tip through state transfer (each checked against the set in force
at its height), every `FOLLOW_INTERVAL_S`. When a committed block puts a set in force that
names this node's key, the driver replaces the bystander by a voting replica and the loop ends.

Peers admit the node once its addition is committed (node/runtime/roster.py), so an empty
node started before governance approves it waits here, refused, until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ledger.errors import TallyError
from node.runtime.driver import Driver
from node.runtime.membership import Bystander
from node.runtime.statesync import MAX_SERVE_BLOCKS, StateSync
from node.runtime.transport import PeerTransport

log = logging.getLogger(__name__)

FOLLOW_INTERVAL_S = 0.5


class Follower:
    def __init__(
        self,
        transport: PeerTransport,
        statesync: StateSync,
        driver: Driver,
        snapshot: Callable[[Driver], Awaitable[bool]],
    ) -> None:
        self.transport = transport
        self.statesync = statesync
        self.driver = driver
        self.snapshot = snapshot
        self.snapshot_tried = False
        self._task: asyncio.Task[None] | None = None

    @property
    def following(self) -> bool:
        return isinstance(self.driver.replica, Bystander)

    def start(self) -> None:
        """Follow the chain until the node is a voting validator (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="follower")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        log.info("not in the validator set in force: following the chain without voting")
        while self.driver.running and self.following:
            peers = sorted(self.transport.connected())
            if peers and not self.statesync.active:
                if not self.snapshot_tried:
                    self.snapshot_tried = True
                    try:
                        await self.snapshot(self.driver)
                    except TallyError as error:  # e.g. ANCHOR_UNKNOWN: replay blocks instead
                        log.error("snapshot sync while following: %s", error.message)
                    continue
                tip = self.driver.executor.tip.height
                await self.statesync.follow(tip + MAX_SERVE_BLOCKS, peers)
            await asyncio.sleep(FOLLOW_INTERVAL_S)
        if self.driver.running:
            log.info("in the validator set in force: no longer following, voting")
