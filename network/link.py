"""One authenticated connection's state and its two pumps: socket → node, queue → socket.

Before them, `exchange_handshake` runs the handshake over the socket. The reader delivers
messages until the peer half-closes, faults, or falls silent for `idle_timeout`. The writer
drains the peer's queue while the link is the peer's current one, keeps an idle link alive with
pings, and once superseded flushes what it wrote and half-closes, so that nothing already
written is lost when the mesh swaps a duplicate connection away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from network.config import NetworkConfig, PeerAddress, split_address
from network.connection import Connection, Established, MessageReceived
from network.errors import HandshakeError
from network.queue import SendQueue

log = logging.getLogger("tally.network")


class PeerState:
    """What we keep per remote validator, whether or not it is connected."""

    def __init__(self, address: PeerAddress, config: NetworkConfig) -> None:
        self.index = address.index
        self.public = address.ed25519
        self.host, self.port = split_address(address.address)
        self.queue = SendQueue(config.queue_max_messages, config.queue_max_bytes)
        self.link: Link | None = None
        self.down = asyncio.Event()
        self.down.set()
        self.bytes_in = self.bytes_out = self.messages_in = self.messages_out = 0
        self.faults = self.handshake_failures = self.connects = self.disconnects = 0
        self.last_fault: str | None = None
        self.removed = False  # governance took it out of the set: no more dialing


class Link:
    """One authenticated TCP connection to a peer; `active` while it is the peer's current one."""

    def __init__(
        self,
        peer: PeerState,
        connection: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialer: int,
        session_id: bytes,
    ) -> None:
        self.peer = peer
        self.connection = connection
        self.reader = reader
        self.writer = writer
        self.dialer = dialer
        self.session = session_id.hex()[:16]
        self.active = False
        self.wake = asyncio.Event()  # the writer has something to do
        self.bytes_in = 0
        self.probe = False  # send a keepalive now: a rival connection hints this one is stale
        self.deadline: float | None = None  # set once superseded: drain by then
        self.read_timeout: asyncio.Timeout | None = None


async def exchange_handshake(
    connection: Connection,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    read_chunk: int,
    on_proved: Callable[[bytes], None] | None = None,
) -> Established:
    """Exchange handshake frames until the peer is authenticated; the caller sets the deadline.

    `on_proved(key)` is called once the peer signed a handshake message (an inbound hello), so
    the admission policy protects the connection before our reply is even written. Frames that
    arrived right behind the handshake stay buffered in `connection`: they belong to the
    session, and the read loop takes them first (so a fault in them counts against the
    now-known peer, not as a failed handshake).
    """
    while True:
        outgoing = connection.data_to_send()
        if outgoing:
            writer.write(outgoing)
            await writer.drain()
        data = await reader.read(read_chunk)
        if not data:
            raise HandshakeError("CLOSED", "the peer closed the connection mid-handshake")
        connection.receive_data(data)
        event = connection.next_event()
        proved = connection.peer_proved
        if on_proved is not None and proved is not None:
            on_proved(proved)
        if isinstance(event, Established):
            outgoing = connection.data_to_send()  # the initiator's confirm
            if outgoing:
                writer.write(outgoing)
                await writer.drain()
            return event
        if event is not None:  # the Connection yields nothing else before Established
            raise HandshakeError("UNEXPECTED_MESSAGE", "message before the handshake ended")


def prefer(new: Link, old: Link) -> bool:
    """Which of two connections to one peer both ends keep (they compute the same answer)."""
    if new.dialer == old.dialer:
        return True  # same dialer: it dialed again because the old one died on its side
    return new.dialer < old.dialer


def supersede(link: Link, drain_timeout: float) -> None:
    """Retire a link that is not (or no longer) its peer's current one: wind it down."""
    link.active = False
    link.wake.set()
    link.deadline = asyncio.get_running_loop().time() + drain_timeout
    if link.read_timeout is not None:
        when = link.read_timeout.when()
        if when is None or when > link.deadline:
            link.read_timeout.reschedule(link.deadline)


async def read_loop(
    link: Link, config: NetworkConfig, deliver: Callable[[PeerState, bytes], None]
) -> None:
    """Deliver the peer's messages until it half-closes; raise on faults and silence."""
    loop = asyncio.get_running_loop()
    peer, connection = link.peer, link.connection
    while True:
        while (event := connection.next_event()) is not None:
            if isinstance(event, MessageReceived):
                deliver(peer, event.payload)
        deadline = loop.time() + config.idle_timeout
        if link.deadline is not None:
            deadline = min(deadline, link.deadline)
        try:
            async with asyncio.timeout_at(deadline) as link.read_timeout:
                data = await link.reader.read(config.read_chunk)
        finally:
            link.read_timeout = None
        if not data:
            return
        peer.bytes_in += len(data)
        link.bytes_in += len(data)
        connection.receive_data(data)


def write_ping(link: Link) -> None:
    ping = link.connection.send_ping()
    link.writer.write(ping)
    link.peer.bytes_out += len(ping)


async def write_loop(link: Link, config: NetworkConfig, progress: Callable[[], None]) -> None:
    """Write the peer's queue to this link while it is current; then flush and half-close."""
    peer, connection, writer = link.peer, link.connection, link.writer
    try:
        while link.active:
            if link.probe:
                link.probe = False
                write_ping(link)
                await writer.drain()
            if not peer.queue:
                link.wake.clear()
                try:
                    async with asyncio.timeout(config.ping_interval):
                        await link.wake.wait()
                except TimeoutError:
                    if link.active:
                        write_ping(link)
                        await writer.drain()
                continue
            written = 0
            while link.active and written < config.write_batch_bytes:
                payload = peer.queue.pop()
                if payload is None:
                    break
                frame = connection.send_message(payload)
                writer.write(frame)
                written += len(frame)
                peer.messages_out += 1
            peer.bytes_out += written
            progress()
            await writer.drain()
        async with asyncio.timeout(config.drain_timeout):
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, TimeoutError) as exc:
        log.debug("writing to %d (session %s) failed: %r", peer.index, link.session, exc)
        writer.transport.abort()
