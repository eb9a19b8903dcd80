"""Real sockets on 127.0.0.1: a mesh of Network instances, rogue peers, restarts, slow readers.

Synchronisation is by events and state changes (`Network.wait_until`, inbox queues); the
timeouts below are safety nets so a bug fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import resource
import socket
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from ledger.crypto import Ed25519Key
from network import Network, NetworkConfig, NetworkStats, PeerAddress
from network.connection import Connection
from network.framing import encode_frame
from network.handshake import Role

CHAIN = "tally-net-test"
SAFETY = 20.0  # seconds; never reached when things work
KEYS = [Ed25519Key.from_seed(bytes([n + 1]) * 32) for n in range(4)]
FAST = NetworkConfig(
    max_frame_bytes=1024 * 1024,
    reconnect_min=0.02,
    reconnect_max=0.2,
    handshake_timeout=2.0,
    drain_timeout=2.0,
)


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """pytest-asyncio is not a dependency: each test runs its own loop, bounded in time."""

    async def bounded() -> None:
        async with asyncio.timeout(SAFETY * 2):
            await coroutine
        # Clean shutdown means nothing of the network is left running.
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert leftover == [], leftover

    asyncio.run(bounded())


def free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Node:
    """A Network plus an inbox the test can await."""

    def __init__(
        self, index: int, validators: list[PeerAddress], config: NetworkConfig = FAST
    ) -> None:
        self.validators = validators
        self.config = config
        self.inbox: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self.events: list[tuple[str, int]] = []
        self.crash_on: bytes | None = None  # a payload that makes on_message raise
        self.network = Network(
            chain=CHAIN,
            index=index,
            key=KEYS[index],
            validators=validators,
            on_message=self.on_message,
            config=config,
            on_peer_connected=lambda peer: self.events.append(("up", peer)),
            on_peer_disconnected=lambda peer: self.events.append(("down", peer)),
        )

    def on_message(self, peer: int, payload: bytes) -> None:
        if payload == self.crash_on:
            raise RuntimeError("a bug in the node")
        self.inbox.put_nowait((peer, payload))

    async def receive(self, count: int) -> list[tuple[int, bytes]]:
        async with asyncio.timeout(SAFETY):
            return [await self.inbox.get() for _ in range(count)]


def addresses(count: int) -> list[PeerAddress]:
    return [
        PeerAddress(index, KEYS[index].public, f"127.0.0.1:{port}")
        for index, port in enumerate(free_ports(count))
    ]


@contextlib.asynccontextmanager
async def mesh(running: int, total: int | None = None, **config: Any) -> AsyncIterator[list[Node]]:
    """Start validators 0..running-1 of a `total`-validator set; always close them."""
    validators = addresses(total or running)
    cfg = dataclasses.replace(FAST, **config)
    nodes = [Node(index, validators, cfg) for index in range(running)]
    try:
        for node in nodes:
            await node.network.start()
        yield nodes
    finally:
        for node in nodes:
            await node.network.close()


async def until(network: Network, predicate: Callable[[NetworkStats], bool]) -> NetworkStats:
    async with asyncio.timeout(SAFETY):
        return await network.wait_until(predicate)


async def connected(nodes: list[Node], peers: list[int] | None = None) -> None:
    async with asyncio.timeout(SAFETY):
        for node in nodes:
            wanted = [n.network.index for n in nodes if n is not node] if peers is None else peers
            await node.network.wait_connected([p for p in wanted if p != node.network.index])


async def settled(nodes: list[Node]) -> None:
    """Every pair holds exactly one connection, the same one at both ends."""

    def agree() -> bool:
        stats = {node.network.index: node.network.stats() for node in nodes}
        return all(
            stats[a].peers[b].session is not None
            and stats[a].peers[b].session == stats[b].peers[a].session
            for a in stats
            for b in stats
            if a != b
        )

    async with asyncio.timeout(SAFETY):
        while not agree():
            waiters = [asyncio.ensure_future(next_change(node.network)) for node in nodes]
            _, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


async def next_change(network: Network) -> None:
    before = network.stats()
    await network.wait_until(lambda now: now != before)


async def rogue_session(
    port: int, key: Ed25519Key, server: Ed25519Key, max_frame: int = FAST.max_frame_bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Connection]:
    """Complete a real handshake by hand, as validator `key`, so the test can misbehave after."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    connection = Connection(
        Role.INITIATOR, CHAIN, key, lambda _: True, max_frame, expected_peer=server.public
    )
    writer.write(connection.data_to_send())
    while not connection.established:
        data = await reader.read(65536)
        assert data, "server closed during the handshake"
        connection.receive_data(data)
        while connection.next_event() is not None:
            pass
    writer.write(connection.data_to_send())
    await writer.drain()
    return reader, writer, connection


async def closed_by_server(reader: asyncio.StreamReader) -> None:
    async with asyncio.timeout(SAFETY):
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass


# ---- the mesh ------------------------------------------------------------------------------


def test_four_validators_form_a_full_mesh_and_exchange_messages() -> None:
    async def scenario() -> None:
        async with mesh(4) as nodes:
            await connected(nodes)
            for node in nodes:
                node.network.broadcast(b"hello from %d" % node.network.index)
            for node in nodes:
                received = await node.receive(3)
                assert sorted(received) == sorted(
                    (other.network.index, b"hello from %d" % other.network.index)
                    for other in nodes
                    if other is not node
                )
            # Point to point, and many messages in order.
            for n in range(200):
                nodes[1].network.send(3, b"seq %d" % n)
            assert await nodes[3].receive(200) == [(1, b"seq %d" % n) for n in range(200)]
            stats = nodes[1].network.stats()
            assert stats.connected == (0, 2, 3)
            assert stats.peers[3].messages_out >= 201 and stats.peers[3].bytes_out > 0
            assert stats.dropped == 0 and stats.faults == 0

    run(scenario())


def test_simultaneous_dials_settle_on_one_connection_per_pair() -> None:
    async def scenario() -> None:
        async with mesh(4) as nodes:
            await settled(nodes)
            for node in nodes:
                for peer in node.network.stats().peers.values():
                    assert peer.connected

    run(scenario())


def test_large_messages_up_to_the_limit_are_delivered() -> None:
    async def scenario() -> None:
        async with mesh(2) as nodes:
            await connected(nodes)
            biggest = os.urandom(nodes[0].network.max_message_bytes)
            nodes[0].network.send(1, biggest)
            assert await nodes[1].receive(1) == [(0, biggest)]
            with pytest.raises(ValueError):
                nodes[0].network.send(1, biggest + b"!")

    run(scenario())


def test_messages_queued_before_a_peer_is_up_are_delivered_when_it_connects() -> None:
    async def scenario() -> None:
        validators = addresses(2)
        first, second = Node(0, validators), Node(1, validators)
        try:
            await first.network.start()
            first.network.send(1, b"early")
            await second.network.start()
            assert await second.receive(1) == [(0, b"early")]
        finally:
            await first.network.close()
            await second.network.close()

    run(scenario())


# ---- who may connect -----------------------------------------------------------------------


def test_an_unknown_key_cannot_connect() -> None:
    async def scenario() -> None:
        async with mesh(2) as nodes:
            await connected(nodes)
            stranger = Ed25519Key.from_seed(b"\x77" * 32)
            reader, writer = await asyncio.open_connection("127.0.0.1", nodes[0].network.port)
            connection = Connection(
                Role.INITIATOR, CHAIN, stranger, lambda _: True, 4096, KEYS[0].public
            )
            writer.write(connection.data_to_send())
            await closed_by_server(reader)
            writer.close()
            assert not connection.established
            stats = await until(nodes[0].network, lambda s: s.handshake_failures >= 1)
            assert stats.connected == (1,)
            assert nodes[0].inbox.empty()

    run(scenario())


def test_a_validator_of_another_chain_cannot_connect() -> None:
    async def scenario() -> None:
        async with mesh(2) as nodes:
            reader, writer = await asyncio.open_connection("127.0.0.1", nodes[0].network.port)
            connection = Connection(
                Role.INITIATOR, "other-chain", KEYS[1], lambda _: True, 4096, KEYS[0].public
            )
            writer.write(connection.data_to_send())
            await closed_by_server(reader)
            writer.close()
            await until(nodes[0].network, lambda s: s.handshake_failures >= 1)

    run(scenario())


def test_a_silent_connection_is_dropped_at_the_handshake_deadline() -> None:
    async def scenario() -> None:
        async with mesh(1, total=4, handshake_timeout=0.3) as nodes:
            reader, writer = await asyncio.open_connection("127.0.0.1", nodes[0].network.port)
            await closed_by_server(reader)  # we sent nothing at all
            writer.close()
            await until(nodes[0].network, lambda s: s.handshake_failures >= 1)

    run(scenario())


# ---- floods --------------------------------------------------------------------------------


class Silent:
    """Connections that never send a byte, held open (a dropped writer would close them)."""

    def __init__(self) -> None:
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def open(self, port: int, sources: list[str]) -> None:
        """One connection from each source address (loopback only)."""
        for source in sources:
            self.streams.append(
                await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
            )

    async def closed_by_server(self) -> None:
        for reader, writer in self.streams:
            await closed_by_server(reader)
            writer.close()


def network_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "tally.network" and text in r.getMessage()
    ]


def summed(lines: list[str]) -> int:
    """Events a set of throttled lines accounts for: 1 per full line, N per "N more" line."""
    total = 0
    for line in lines:
        more = re.search(r": ([0-9,]+) more ", line)
        total += int(more.group(1).replace(",", "")) if more else 1
    return total


def test_a_flood_of_silent_sockets_is_closed_at_the_deadline_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """60 silent sockets from 10 sources (within every cap): each is closed when the handshake
    deadline passes; the log holds one full line and, at close, one summary of the rest."""
    caplog.set_level(logging.INFO, logger="tally.network")
    sources = [f"127.0.0.{2 + n % 10}" for n in range(60)]

    async def scenario() -> None:
        async with mesh(1, total=4, handshake_timeout=0.3, log_interval=60.0) as nodes:
            network = nodes[0].network
            silent = Silent()
            await silent.open(network.port, sources)
            await silent.closed_by_server()
            stats = await until(network, lambda s: s.handshake_failures >= 60)
            assert stats.handshake_failures_by_code == {"TIMEOUT": 60}
            assert stats.pending_handshakes == 0
            assert len(network_lines(caplog, "inbound handshake")) == 1
        lines = network_lines(caplog, "inbound handshake")
        assert len(lines) == 2
        assert "failed: TIMEOUT (no handshake within 0.3 s)" in lines[0]
        assert "59 more inbound handshakes failed" in lines[1] and "(TIMEOUT: 59)" in lines[1]

    run(scenario())


def test_every_failed_handshake_is_accounted_for_in_the_throttled_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Silent sockets, evictions, garbage and another chain's hellos, with a short interval:
    however the lines fall, full lines plus the summaries' counts add up to the failures."""
    caplog.set_level(logging.INFO, logger="tally.network")

    async def scenario() -> None:
        # The deadline is long enough for all 30 to arrive first, so exactly 26 are evicted.
        async with mesh(1, total=4, log_interval=0.05, max_pending_per_source=4) as nodes:
            network = nodes[0].network
            silent = Silent()
            await silent.open(network.port, ["127.0.0.2"] * 30)  # 26 of them evicted
            other_chain = Connection(
                Role.INITIATOR, "other-chain", KEYS[1], lambda _: True, 4096, KEYS[0].public
            )
            for payload in [os.urandom(300)] * 5 + [other_chain.data_to_send()] * 5:
                await silent.open(network.port, ["127.0.0.3"])
                silent.streams[-1][1].write(payload)
            await silent.closed_by_server()
            stats = await until(network, lambda s: s.handshake_failures >= 40)
            assert stats.handshake_failures_by_code["EVICTED"] == 26
            assert stats.handshake_failures_by_code["WRONG_CHAIN"] == 5
        assert summed(network_lines(caplog, "inbound handshake")) == stats.handshake_failures

    run(scenario())


def test_a_validator_finishes_its_handshake_while_a_flood_from_its_address_evicts_the_rest() -> (
    None
):
    """Validator 3's hello proves its key; 200 silent sockets from the same address then evict
    every unproved slot many times over, and its confirm, sent last, still opens the session."""

    async def scenario() -> None:
        # A deadline beyond the test's, so a slow machine cannot time the validator out.
        async with mesh(1, total=4, handshake_timeout=SAFETY * 2) as nodes:
            network = nodes[0].network
            reader, writer = await asyncio.open_connection("127.0.0.1", network.port)
            connection = Connection(
                Role.INITIATOR, CHAIN, KEYS[3], lambda _: True, FAST.max_frame_bytes, KEYS[0].public
            )
            writer.write(connection.data_to_send())  # the signed hello
            while not connection.established:  # until the accept arrived
                data = await reader.read(65536)
                assert data, "closed during the handshake"
                connection.receive_data(data)
                while connection.next_event() is not None:
                    pass
            flood = Silent()
            await flood.open(network.port, ["127.0.0.1"] * 200)
            evicted = 200 - FAST.max_pending_per_source
            stats = await until(network, lambda s: s.handshake_failures >= evicted)
            assert stats.handshake_failures_by_code == {"EVICTED": evicted}
            assert stats.connected == ()
            writer.write(connection.data_to_send())  # the confirm, held back until now
            writer.write(connection.send_message(b"made it"))
            assert await nodes[0].receive(1) == [(3, b"made it")]
            assert (await until(network, lambda s: 3 in s.connected)).peers[3].connects == 1
            writer.close()
            for _, flood_writer in flood.streams:
                flood_writer.close()

    run(scenario())


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_accept_errors_at_the_descriptor_limit_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With every file descriptor of the process in use, accept() fails on the P2P port:
    the node counts each failure, logs one line (asyncio logs none), and serves on after."""
    caplog.set_level(logging.INFO)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    async def scenario() -> None:
        async with mesh(1, total=4, log_interval=60.0) as nodes:
            network = nodes[0].network
            clients: list[socket.socket] = []
            resource.setrlimit(resource.RLIMIT_NOFILE, (open_descriptors() + 12, hard))
            try:
                with contextlib.suppress(OSError):
                    while True:  # until no descriptor is left, for us or for the server
                        clients.append(socket.create_connection(("127.0.0.1", network.port)))
                await until(network, lambda s: s.accept_errors >= 1)
            finally:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            assert len(network_lines(caplog, "accept() on")) == 1
            assert "EMFILE" in network_lines(caplog, "accept() on")[0]
            # Descriptors are back: asyncio retries, and the waiting connections get their turn.
            await until(
                network, lambda s: s.pending_handshakes + s.handshake_failures == len(clients)
            )
            for client in clients:
                client.close()
            errors = network.stats().accept_errors
        lines = network_lines(caplog, "accept()")
        assert summed(lines) == errors
        assert len(lines) == (1 if errors == 1 else 2)
        assert not [r for r in caplog.records if r.name == "asyncio"]

    run(scenario())


def test_the_accept_error_handler_passes_everything_else_on_and_is_removed_at_close() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        def ours(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            seen.append(context["message"])

        loop.set_exception_handler(ours)
        async with mesh(2):
            assert loop.get_exception_handler() is not ours
            loop.call_exception_handler({"message": "something else went wrong"})
        assert seen == ["something else went wrong"]
        assert loop.get_exception_handler() is ours

    run(scenario())


# ---- faults cost the peer, not the node ----------------------------------------------------


def test_a_peer_sending_garbage_is_dropped_and_the_node_serves_others() -> None:
    async def scenario() -> None:
        # Validators 0-2 run; the test plays validator 3, who holds a real key but misbehaves.
        async with mesh(3, total=4) as nodes:
            await connected(nodes, [0, 1, 2])
            port = nodes[0].network.port
            reader, writer, _ = await rogue_session(port, KEYS[3], KEYS[0])
            await until(nodes[0].network, lambda s: 3 in s.connected)
            writer.write(encode_frame(os.urandom(100)))  # not a box sealed with our key
            await closed_by_server(reader)
            writer.close()
            stats = await until(nodes[0].network, lambda s: s.peers[3].faults == 1)
            assert stats.peers[3].last_fault == "BAD_CIPHERTEXT"
            assert 3 not in stats.connected
            # The node still talks to everybody else.
            nodes[1].network.send(0, b"still there?")
            nodes[0].network.send(2, b"yes")
            assert await nodes[0].receive(1) == [(1, b"still there?")]
            assert await nodes[2].receive(1) == [(0, b"yes")]

    run(scenario())


def test_an_oversized_frame_closes_only_that_connection() -> None:
    async def scenario() -> None:
        async with mesh(2, total=4) as nodes:
            await connected(nodes, [0, 1])
            reader, writer, connection = await rogue_session(
                nodes[0].network.port, KEYS[3], KEYS[0]
            )
            writer.write(connection.send_message(b"one good message"))
            assert await nodes[0].receive(1) == [(3, b"one good message")]
            # Only the header: the node refuses before a byte of the body is buffered.
            writer.write((FAST.max_frame_bytes + 1).to_bytes(4, "big"))
            await closed_by_server(reader)
            writer.close()
            stats = await until(nodes[0].network, lambda s: s.peers[3].faults == 1)
            assert stats.peers[3].last_fault == "FRAME_TOO_LARGE"
            nodes[0].network.send(1, b"unaffected")
            assert await nodes[1].receive(1) == [(0, b"unaffected")]

    run(scenario())


def test_a_replayed_frame_closes_the_connection() -> None:
    async def scenario() -> None:
        async with mesh(1, total=4) as nodes:
            reader, writer, connection = await rogue_session(
                nodes[0].network.port, KEYS[3], KEYS[0]
            )
            frame = connection.send_message(b"pay 100")
            writer.write(frame + frame)
            assert await nodes[0].receive(1) == [(3, b"pay 100")]
            await closed_by_server(reader)
            writer.close()
            stats = await until(nodes[0].network, lambda s: s.peers[3].faults == 1)
            assert stats.peers[3].messages_in == 1

    run(scenario())


def test_an_exception_in_on_message_is_logged_not_fatal() -> None:
    async def scenario() -> None:
        async with mesh(2) as nodes:
            await connected(nodes)
            nodes[1].crash_on = b"boom"
            nodes[0].network.send(1, b"boom")
            nodes[0].network.send(1, b"after")
            assert await nodes[1].receive(1) == [(0, b"after")]
            assert nodes[1].network.stats().callback_errors == 1
            assert nodes[1].network.stats().connected == (0,)

    run(scenario())


# ---- restarts ------------------------------------------------------------------------------


def test_a_peer_that_goes_away_and_comes_back_is_reconnected() -> None:
    async def scenario() -> None:
        async with mesh(3) as nodes:
            await connected(nodes)
            await nodes[2].network.close()
            for node in nodes[:2]:
                await until(node.network, lambda s: 2 not in s.connected)
                assert ("down", 2) in node.events
            # Messages sent while it is away wait in the (bounded) queue.
            nodes[0].network.send(2, b"while you were out")
            restarted = Node(2, nodes[2].validators, nodes[2].config)
            nodes[2] = restarted
            await restarted.network.start()
            await connected(nodes)
            assert await restarted.receive(1) == [(0, b"while you were out")]
            restarted.network.broadcast(b"back")
            assert await nodes[0].receive(1) == [(2, b"back")]
            assert await nodes[1].receive(1) == [(2, b"back")]
            assert nodes[0].network.stats().peers[2].connects >= 2

    run(scenario())


def test_a_dead_peer_is_noticed_by_its_silence() -> None:
    async def scenario() -> None:
        async with mesh(1, total=4, ping_interval=0.05, idle_timeout=0.3) as nodes:
            _, writer, _ = await rogue_session(nodes[0].network.port, KEYS[3], KEYS[0])
            await until(nodes[0].network, lambda s: 3 in s.connected)
            # The rogue neither reads nor pings, as a frozen or unplugged host would.
            await until(nodes[0].network, lambda s: 3 not in s.connected)
            writer.close()

    run(scenario())


def test_a_stale_preferred_connection_gives_way_to_the_restarted_peer() -> None:
    """Validator 0 holds the connection it dialed (the preferred one) to a peer that froze.

    The peer's replacement dials in; 0 keeps its connection, which it prefers, until the
    frozen one falls silent past the idle timeout — then the two connect.
    """

    async def scenario() -> None:
        validators = addresses(2)
        config = dataclasses.replace(FAST, ping_interval=0.05, idle_timeout=0.5)
        release = asyncio.Event()

        async def frozen_validator_1(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            connection = Connection(Role.RESPONDER, CHAIN, KEYS[1], lambda _: True, 4096)
            while not connection.established:
                connection.receive_data(await reader.read(65536))
                while connection.next_event() is not None:
                    pass
                writer.write(connection.data_to_send())
            await release.wait()  # alive but mute, as a hung process would be
            writer.close()

        port = int(validators[1].address.rpartition(":")[2])
        fake = await asyncio.start_server(frozen_validator_1, "127.0.0.1", port)
        zero, one = Node(0, validators, config), Node(1, validators, config)
        try:
            await zero.network.start()
            stats = await until(zero.network, lambda s: 1 in s.connected)
            assert stats.peers[1].outbound
            fake.close()
            await fake.wait_closed()
            await one.network.start()
            await settled([zero, one])  # 0 is "connected" all along, to the frozen peer
            zero.network.send(1, b"welcome back")
            assert await one.receive(1) == [(0, b"welcome back")]
        finally:
            release.set()
            await zero.network.close()
            await one.network.close()
            fake.close()

    run(scenario())


# ---- a slow peer ---------------------------------------------------------------------------


def test_a_slow_peer_cannot_make_memory_grow_past_the_queue_bound() -> None:
    queue_messages, queue_bytes = 16, 256 * 1024
    message = os.urandom(32 * 1024)

    async def scenario() -> None:
        async with mesh(
            2,
            total=4,
            queue_max_messages=queue_messages,
            queue_max_bytes=queue_bytes,
            idle_timeout=SAFETY * 3,
        ) as nodes:
            await connected(nodes, [0, 1])
            # Validator 3 completes the handshake, then never reads a byte.
            _, writer, _ = await rogue_session(nodes[0].network.port, KEYS[3], KEYS[0])
            network = nodes[0].network
            await until(network, lambda s: 3 in s.connected)
            # Our writer hands the socket at most a batch past asyncio's 64 KiB high-water mark.
            buffer_bound = network.config.write_batch_bytes + 64 * 1024 + len(message) + 64
            worst_queue = worst_buffer = 0
            async with asyncio.timeout(SAFETY):
                while True:
                    network.send(3, message)
                    await asyncio.sleep(0)  # a turn for the writer, not a wait for time
                    peer = network.stats().peers[3]
                    worst_queue = max(worst_queue, peer.queue_bytes)
                    worst_buffer = max(worst_buffer, peer.write_buffer_bytes)
                    if peer.dropped >= 500 and peer.write_buffer_bytes > 0:
                        break
            assert worst_queue <= queue_bytes
            assert worst_buffer <= buffer_bound
            assert peer.queue_messages <= queue_messages
            # The stalled peer costs only itself: others are served at once.
            nodes[0].network.send(1, b"not stuck")
            assert await nodes[1].receive(1) == [(0, b"not stuck")]
            assert network.stats().connected == (1, 3)
            writer.close()

    run(scenario())


def test_close_is_idempotent_and_leaves_nothing_running() -> None:
    async def scenario() -> None:
        async with mesh(3) as nodes:
            await connected(nodes)
            for node in nodes:
                await node.network.close()
                await node.network.close()
            node = nodes[0]
            node.network.send(1, b"ignored after close")  # must not raise or spawn anything

    run(scenario())


def test_a_validator_added_by_governance_is_admitted_and_a_removed_one_dropped() -> None:
    """The node passes the set in (network/ never reads the chain): a key the others do not
    list cannot connect; once they admit it, it is connected; once it learns its index it
    dials like the others, still one connection per pair; a removed validator is
    disconnected at once and refused from then on."""

    async def scenario() -> None:
        everyone = addresses(3)
        first_set = everyone[:2]
        a, b = Node(0, first_set), Node(1, first_set)
        joiner = Node(2, first_set, dataclasses.replace(FAST, listen=everyone[2].address))
        nodes = [a, b, joiner]
        try:
            for node in nodes:
                await node.network.start()
            await connected([a, b])
            assert joiner.network.follower and joiner.network.connected_peers() == []
            for node in (a, b):
                node.network.update_peers(everyone)
            await connected(nodes)
            joiner.network.update_peers(everyone, index=2)
            assert not joiner.network.follower
            await settled(nodes)
            kept = [everyone[0], everyone[2]]
            for node in (a, joiner):
                node.network.update_peers(kept)
            await until(b.network, lambda stats: not stats.connected)
            await until(b.network, lambda stats: stats.peers[0].handshake_failures >= 2)
            assert 1 not in a.network.stats().peers and b.network.connected_peers() == []
            with pytest.raises(ValueError):
                a.network.send(1, b"to a removed validator")
            a.network.send(2, b"to the one added")
            assert await joiner.receive(1) == [(0, b"to the one added")]
        finally:
            for node in nodes:
                await node.network.close()

    run(scenario())
