"""The dashboard's live stream ends when the explorer shuts down, so a graceful shutdown does
not wait on a browser's open EventSource."""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from explorer.app import make_app
from explorer.live import CLOSING, ChainFollower
from tests.unit.test_explorer_handlers import GENESIS, _run_isolated, fake_node


def test_a_full_subscriber_queue_still_gets_the_end() -> None:
    async def main() -> list[int]:
        follower = ChainFollower(None)  # type: ignore[arg-type]  # no view: nothing is followed
        queue = follower.subscribe()
        for version in range(queue.maxsize):
            queue.put_nowait(version)
        follower.end_subscriptions()
        return [queue.get_nowait() for _ in range(queue.qsize())]

    assert _run_isolated(main())[-1] == CLOSING


def test_an_open_live_stream_does_not_hold_up_the_shutdown() -> None:
    async def main() -> bytes:
        node = TestServer(fake_node())
        await node.start_server()
        app = make_app(str(node.make_url("")), GENESIS, genesis_verified=True, follow=False)
        explorer = TestServer(app)
        await explorer.start_server()
        async with ClientSession() as session:
            response = await session.get(explorer.make_url("/live/events"))
            first = await response.content.readline()
            await asyncio.wait_for(explorer.close(), 5.0)  # would wait on the open stream
            rest = await asyncio.wait_for(response.content.read(), 5.0)
        await node.close()
        return first + rest

    assert _run_isolated(main()).startswith(b"data: ")
