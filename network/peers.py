"""The peer manager: a full mesh of authenticated TCP connections between validators.

A thin asyncio layer around the sans-IO `Connection`. Every validator listens and dials every
other one, redialing with jittered exponential backoff while a peer is unreachable. When two
connections to one peer exist at once (both sides dialed), both ends keep the same one: the
connection dialed by the lower validator index, or of two dialed by the same side the newer
one (the older is then stale: its dialer restarted or lost it).

A connection that is no longer a peer's current one is closed *gracefully*: its writer stops
taking messages, flushes what it wrote and half-closes; its reader delivers whatever the peer
had already sent until the peer half-closes too (or `drain_timeout` passes). So the switch to
a deduplicated connection loses nothing that was written. Delivery is otherwise best effort,
as consensus expects: in order and at most once within a connection; a message being written
when a connection breaks, or shed from a full queue, is gone.

Faults stay with the peer that caused them. A frame that is oversized, empty, forged or not a
valid envelope closes that one connection (abruptly), is logged and counted; the node and its
other peers carry on. Unauthenticated connections get tiny frames, a handshake deadline and a
cap on how many may be pending at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.genesis import DEFAULT_PARAMS, Genesis
from network.connection import ENVELOPE_OVERHEAD, Connection, Established, MessageReceived
from network.errors import HandshakeError, ProtocolError
from network.handshake import Role
from network.queue import SendQueue
from network.session import MAC_SIZE
from network.stats import NetworkStats, PeerStats

log = logging.getLogger("tally.network")

MessageHandler = Callable[[int, bytes], None]
PeerHandler = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class PeerAddress:
    """A validator as the network knows it: its index, genesis Ed25519 key and p2p address."""

    index: int
    ed25519: bytes
    address: str  # "host:port"


def validators_from_genesis(genesis: Genesis) -> list[PeerAddress]:
    return [
        PeerAddress(index, validator.ed25519, validator.p2p)
        for index, validator in enumerate(genesis.validators)
    ]


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Limits and timings. Seconds are floats here: this is I/O code, not consensus."""

    max_frame_bytes: int = DEFAULT_PARAMS["max_frame_bytes"]
    listen: str | None = None  # "host:port" to bind; default: our own validator address
    handshake_timeout: float = 5.0
    connect_timeout: float = 5.0
    ping_interval: float = 5.0  # a connection idle this long on our side gets a keepalive
    idle_timeout: float = 20.0  # silence this long from a peer means it is gone
    drain_timeout: float = 5.0  # how long a superseded connection may take to wind down
    reconnect_min: float = 0.1
    reconnect_max: float = 5.0
    queue_max_messages: int = 4096
    queue_max_bytes: int = 64 * 1024 * 1024
    max_pending_handshakes: int = 64
    read_chunk: int = 256 * 1024
    write_batch_bytes: int = 256 * 1024

    @staticmethod
    def from_genesis(genesis: Genesis, **overrides: Any) -> NetworkConfig:
        return NetworkConfig(max_frame_bytes=genesis.params["max_frame_bytes"], **overrides)


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host.strip("[]"), int(port)


class _Peer:
    """What we keep per remote validator, whether or not it is connected."""

    def __init__(self, address: PeerAddress, config: NetworkConfig) -> None:
        self.index = address.index
        self.public = address.ed25519
        self.host, self.port = _split_address(address.address)
        self.queue = SendQueue(config.queue_max_messages, config.queue_max_bytes)
        self.link: _Link | None = None
        self.down = asyncio.Event()
        self.down.set()
        self.bytes_in = self.bytes_out = self.messages_in = self.messages_out = 0
        self.faults = self.handshake_failures = self.connects = self.disconnects = 0
        self.last_fault: str | None = None


class _Link:
    """One authenticated TCP connection to a peer; `active` while it is the peer's current one."""

    def __init__(
        self,
        peer: _Peer,
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


def _prefer(new: _Link, old: _Link) -> bool:
    """Which of two connections to one peer both ends keep (they compute the same answer)."""
    if new.dialer == old.dialer:
        return True  # same dialer: it dialed again because the old one died on its side
    return new.dialer < old.dialer


class Network:
    """Authenticated, encrypted, deduplicated connections to every other validator.

    `on_message(peer_index, payload)` is called for each message, in order per connection,
    from the event loop; it should be quick (queue the work) — exceptions are logged and
    counted, never fatal. `on_peer_connected` / `on_peer_disconnected(peer_index)` report
    changes of reachability (not the replacement of one connection by another).
    """

    def __init__(
        self,
        *,
        chain: str,
        index: int,
        key: Ed25519Key,
        validators: Sequence[PeerAddress],
        on_message: MessageHandler,
        config: NetworkConfig | None = None,
        on_peer_connected: PeerHandler | None = None,
        on_peer_disconnected: PeerHandler | None = None,
    ) -> None:
        self.chain = chain
        self.index = index
        self.key = key
        self.config = config or NetworkConfig()
        self._on_message = on_message
        self._on_peer_connected = on_peer_connected
        self._on_peer_disconnected = on_peer_disconnected
        by_index = {v.index: v for v in validators}
        if len(by_index) != len(validators):
            raise ValueError("validator indices must be unique")
        if len({v.ed25519 for v in validators}) != len(validators):
            raise ValueError("validator keys must be unique")
        me = by_index.get(index)
        if me is None or me.ed25519 != key.public:
            raise ValueError(f"our key is not validator {index}'s key")
        self._listen = _split_address(self.config.listen or me.address)
        self._peers = {v.index: _Peer(v, self.config) for v in validators if v.index != index}
        self._index_of = {peer.public: peer.index for peer in self._peers.values()}
        self.max_message_bytes = self.config.max_frame_bytes - MAC_SIZE - ENVELOPE_OVERHEAD
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._pending_inbound = 0  # inbound connections still in their handshake
        self._handshake_failures = 0
        self._refused = 0
        self._callback_errors = 0
        self.listening: str | None = None

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured with port 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the network is not listening")
        return int(self._server.sockets[0].getsockname()[1])

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, then dial every other validator (and keep redialing until `close`)."""
        if self._server is not None or self._closing:
            raise RuntimeError("start() may be called once")
        host, port = self._listen
        self._server = await asyncio.start_server(self._accept, host, port)
        self.listening = f"{host}:{self.port}"
        log.info("validator %d: listening on %s", self.index, self.listening)
        for peer in self._peers.values():
            self._spawn(self._dial_loop(peer), f"dial-{self.index}-{peer.index}")

    async def close(self) -> None:
        """Stop listening, drop every connection and task, and wait until all are gone."""
        if self._closing:
            return
        self._closing = True
        if self._server is not None:
            self._server.close()
        for peer in self._peers.values():
            if peer.link is not None:
                peer.link.writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._notify()
        log.info("validator %d: network closed", self.index)

    async def __aenter__(self) -> Network:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._track(task)
        return task

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug in this module, not a peer's fault: say so loudly, keep the node running.
            log.error(
                "validator %d: task %s failed",
                self.index,
                task.get_name(),
                exc_info=task.exception(),
            )

    # ---- sending -------------------------------------------------------------------------

    def send(self, peer_index: int, payload: bytes) -> None:
        """Queue `payload` for one peer. Never blocks; a full queue sheds its oldest entry."""
        peer = self._peers.get(peer_index)
        if peer is None:
            raise ValueError(f"validator {peer_index} is not a peer of validator {self.index}")
        self._check_size(payload)
        self._enqueue(peer, bytes(payload))

    def broadcast(self, payload: bytes) -> None:
        """Queue `payload` for every other validator."""
        self._check_size(payload)
        payload = bytes(payload)
        for peer in self._peers.values():
            self._enqueue(peer, payload)

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self.max_message_bytes:
            raise ValueError(
                f"message of {len(payload)} bytes exceeds the limit of {self.max_message_bytes}"
            )

    def _enqueue(self, peer: _Peer, payload: bytes) -> None:
        if self._closing:
            return
        if peer.queue.push(payload):
            dropped = peer.queue.dropped
            if dropped & (dropped - 1) == 0 or dropped % 1000 == 0:  # 1, 2, 4, ... then per 1000
                log.warning(
                    "validator %d: send queue to %d full, %d messages dropped so far",
                    self.index,
                    peer.index,
                    dropped,
                )
            self._notify()
        if peer.link is not None:
            peer.link.wake.set()

    # ---- observing -----------------------------------------------------------------------

    def connected_peers(self) -> list[int]:
        return sorted(index for index, peer in self._peers.items() if peer.link is not None)

    def stats(self) -> NetworkStats:
        return NetworkStats(
            index=self.index,
            listening=self.listening,
            peers={index: self._peer_stats(peer) for index, peer in self._peers.items()},
            handshake_failures=self._handshake_failures,
            refused_connections=self._refused,
            callback_errors=self._callback_errors,
        )

    def _peer_stats(self, peer: _Peer) -> PeerStats:
        link = peer.link
        return PeerStats(
            index=peer.index,
            connected=link is not None,
            outbound=None if link is None else link.dialer == self.index,
            session=None if link is None else link.session,
            queue_messages=len(peer.queue),
            queue_bytes=peer.queue.bytes,
            write_buffer_bytes=0 if link is None else link.writer.transport.get_write_buffer_size(),
            dropped=peer.queue.dropped,
            bytes_in=peer.bytes_in,
            bytes_out=peer.bytes_out,
            messages_in=peer.messages_in,
            messages_out=peer.messages_out,
            faults=peer.faults,
            last_fault=peer.last_fault,
            handshake_failures=peer.handshake_failures,
            connects=peer.connects,
            disconnects=peer.disconnects,
        )

    async def wait_until(self, predicate: Callable[[NetworkStats], bool]) -> NetworkStats:
        """Wait until `predicate(stats)` holds, re-checked whenever the network's state changes
        (a peer connects or disconnects, a handshake fails, a fault, a drop, a write).

        Callers bound the wait themselves (`asyncio.timeout`).
        """
        while True:
            stats = self.stats()
            if predicate(stats) or self._closing:
                return stats
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    async def wait_connected(self, peers: Iterable[int] | None = None) -> None:
        """Wait until every given peer (default: all) is connected."""
        wanted = set(self._peers if peers is None else peers)
        await self.wait_until(lambda stats: wanted <= set(stats.connected))

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # ---- connecting ----------------------------------------------------------------------

    def _is_allowed(self, public: bytes) -> bool:
        return public in self._index_of

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, so restarted validators do not redial in lockstep."""
        ceiling = min(self.config.reconnect_max, self.config.reconnect_min * 2.0**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    async def _dial_loop(self, peer: _Peer) -> None:
        attempt = 0
        while not self._closing:
            await peer.down.wait()
            served = False
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    reader, writer = await asyncio.open_connection(peer.host, peer.port)
            except (OSError, TimeoutError) as exc:
                log.debug("validator %d: cannot reach %d: %r", self.index, peer.index, exc)
            else:
                served = await self._serve(reader, writer, peer)
            attempt = 0 if served else min(attempt + 1, 30)
            await asyncio.sleep(self._backoff(attempt))

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new inbound connection: serve it in a task of ours (so `close` can cancel it)."""
        if self._closing or self._pending_inbound >= self.config.max_pending_handshakes:
            self._refused += 1
            self._notify()
            self._spawn(self._discard(writer), f"refuse-{self.index}")
            return
        self._pending_inbound += 1  # until its handshake ends, in _authenticate
        self._spawn(self._serve(reader, writer, None), f"inbound-{self.index}")

    @staticmethod
    async def _discard(writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialed: _Peer | None,
    ) -> bool:
        """Run one connection from handshake to close; True if it served: it was adopted as the
        peer's link and the peer used it (a connection the peer refuses at once does not count,
        so redialing into a refusal backs off).

        Whatever happens — a fault, a lost peer, `close()` cancelling us — the socket is
        closed and its closing awaited here, so no transport outlives its task.
        """
        try:
            established, connection = await self._authenticate(reader, writer, dialed)
            if established is None:
                return False
            return await self._run_link(reader, writer, connection, established, dialed)
        finally:
            await self._discard(writer)

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialed: _Peer | None,
    ) -> tuple[Established | None, Connection]:
        connection = Connection(
            Role.INITIATOR if dialed else Role.RESPONDER,
            self.chain,
            self.key,
            self._is_allowed,
            self.config.max_frame_bytes,
            expected_peer=dialed.public if dialed else None,
        )
        try:
            async with asyncio.timeout(self.config.handshake_timeout):
                return await self._handshake(connection, reader, writer), connection
        except (ProtocolError, OSError, TimeoutError) as exc:
            self._handshake_failed(connection, dialed, writer.get_extra_info("peername"), exc)
            return None, connection
        finally:
            if dialed is None:
                self._pending_inbound -= 1

    async def _run_link(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: Connection,
        established: Established,
        dialed: _Peer | None,
    ) -> bool:
        """Carry an authenticated connection until it ends; True if it served (see `_serve`)."""
        peer = self._peers[self._index_of[established.peer_public]]
        dialer = self.index if dialed else peer.index
        link = _Link(peer, connection, reader, writer, dialer, established.session_id)
        adopted = self._adopt(link)
        writer_task = None
        if adopted:
            writer_task = self._spawn(self._write_loop(link), f"write-{self.index}-{peer.index}")
        else:
            self._supersede(link)
            with contextlib.suppress(OSError):
                writer.write_eof()
        graceful = False
        try:
            await self._read_loop(link)
            graceful = True
        except ProtocolError as exc:
            self._fault(peer, link, exc)
        except (OSError, TimeoutError) as exc:
            log.info(
                "validator %d: connection to %d (session %s) lost: %r",
                self.index,
                peer.index,
                link.session,
                exc,
            )
        finally:
            self._release(link)
            if writer_task is not None:
                # Let the writer flush and half-close, but not wait on a peer that stopped reading.
                if graceful:
                    await asyncio.wait({writer_task}, timeout=self.config.drain_timeout)
                writer_task.cancel()
                await asyncio.gather(writer_task, return_exceptions=True)
        return adopted and link.bytes_in > 0

    async def _handshake(
        self,
        connection: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> Established:
        """Exchange handshake frames until the peer is authenticated.

        Frames that arrived right behind the handshake stay buffered in `connection`: they
        belong to the session, and the read loop takes them first (so a fault in them counts
        against the now-known peer, not as a failed handshake).
        """
        while True:
            outgoing = connection.data_to_send()
            if outgoing:
                writer.write(outgoing)
                await writer.drain()
            data = await reader.read(self.config.read_chunk)
            if not data:
                raise HandshakeError("CLOSED", "the peer closed the connection mid-handshake")
            connection.receive_data(data)
            event = connection.next_event()
            if isinstance(event, Established):
                outgoing = connection.data_to_send()  # the initiator's confirm
                if outgoing:
                    writer.write(outgoing)
                    await writer.drain()
                return event
            if event is not None:  # the Connection yields nothing else before Established
                raise HandshakeError("UNEXPECTED_MESSAGE", "message before the handshake ended")

    def _handshake_failed(
        self, connection: Connection, dialed: _Peer | None, remote: object, exc: Exception
    ) -> None:
        self._handshake_failures += 1
        code = exc.code if isinstance(exc, ProtocolError) else type(exc).__name__
        claimed = connection.peer_claimed
        who = claimed.hex()[:16] if claimed else "?"
        if dialed is not None:
            dialed.handshake_failures += 1
            log.warning(
                "validator %d: handshake with %d at %s failed: %s (%s)",
                self.index,
                dialed.index,
                remote,
                code,
                exc,
            )
        else:
            log.warning(
                "validator %d: inbound handshake from %s (key %s) failed: %s (%s)",
                self.index,
                remote,
                who,
                code,
                exc,
            )
        self._notify()

    # ---- the life of a link --------------------------------------------------------------

    def _adopt(self, link: _Link) -> bool:
        """Make `link` its peer's current connection, unless the one it has is preferred."""
        peer = link.peer
        current = peer.link
        if current is not None and not _prefer(link, current):
            log.debug(
                "validator %d: keeping session %s to %d over %s",
                self.index,
                current.session,
                peer.index,
                link.session,
            )
            # The peer dialing us while we hold a connection it should prefer suggests it lost
            # that connection (say, its host rebooted). A keepalive now draws a reset from a
            # dead endpoint at once, instead of after the idle timeout.
            current.probe = True
            current.wake.set()
            return False
        if current is not None:
            self._supersede(current)
        peer.link = link
        link.active = True
        peer.down.clear()
        peer.connects += 1
        log.info(
            "validator %d: connected to %d (%s, session %s)",
            self.index,
            peer.index,
            "outbound" if link.dialer == self.index else "inbound",
            link.session,
        )
        if current is None and self._on_peer_connected is not None:
            self._callback(self._on_peer_connected, peer.index)
        self._notify()
        return True

    def _supersede(self, link: _Link) -> None:
        """Retire a link that is not (or no longer) its peer's current one: wind it down."""
        link.active = False
        link.wake.set()
        link.deadline = asyncio.get_running_loop().time() + self.config.drain_timeout
        if link.read_timeout is not None:
            when = link.read_timeout.when()
            if when is None or when > link.deadline:
                link.read_timeout.reschedule(link.deadline)

    def _release(self, link: _Link) -> None:
        """The link's reader ended; if it was the peer's current link, the peer is down."""
        link.active = False
        link.wake.set()
        peer = link.peer
        if peer.link is not link:
            return
        peer.link = None
        peer.down.set()
        peer.disconnects += 1
        log.info("validator %d: disconnected from %d", self.index, peer.index)
        if self._on_peer_disconnected is not None and not self._closing:
            self._callback(self._on_peer_disconnected, peer.index)
        self._notify()

    def _fault(self, peer: _Peer, link: _Link, exc: ProtocolError) -> None:
        peer.faults += 1
        peer.last_fault = exc.code
        log.warning(
            "validator %d: dropping connection to %d (session %s): %s",
            self.index,
            peer.index,
            link.session,
            exc,
        )
        self._notify()

    async def _read_loop(self, link: _Link) -> None:
        """Deliver the peer's messages until it half-closes; raise on faults and silence."""
        loop = asyncio.get_running_loop()
        peer, connection = link.peer, link.connection
        while True:
            while (event := connection.next_event()) is not None:
                if isinstance(event, MessageReceived):
                    self._deliver(peer, event.payload)
            deadline = loop.time() + self.config.idle_timeout
            if link.deadline is not None:
                deadline = min(deadline, link.deadline)
            try:
                async with asyncio.timeout_at(deadline) as link.read_timeout:
                    data = await link.reader.read(self.config.read_chunk)
            finally:
                link.read_timeout = None
            if not data:
                return
            peer.bytes_in += len(data)
            link.bytes_in += len(data)
            connection.receive_data(data)

    def _deliver(self, peer: _Peer, payload: bytes) -> None:
        if self._closing:
            return
        peer.messages_in += 1
        try:
            self._on_message(peer.index, payload)
        except Exception:
            self._callback_errors += 1
            log.exception(
                "validator %d: on_message failed for a message from %d", self.index, peer.index
            )

    def _callback(self, callback: PeerHandler, peer_index: int) -> None:
        try:
            callback(peer_index)
        except Exception:
            self._callback_errors += 1
            log.exception("validator %d: peer callback failed for %d", self.index, peer_index)

    def _write_ping(self, link: _Link) -> None:
        ping = link.connection.send_ping()
        link.writer.write(ping)
        link.peer.bytes_out += len(ping)

    async def _write_loop(self, link: _Link) -> None:
        """Write the peer's queue to this link while it is current; then flush and half-close."""
        peer, connection, writer = link.peer, link.connection, link.writer
        try:
            while link.active:
                if link.probe:
                    link.probe = False
                    self._write_ping(link)
                    await writer.drain()
                if not peer.queue:
                    link.wake.clear()
                    try:
                        async with asyncio.timeout(self.config.ping_interval):
                            await link.wake.wait()
                    except TimeoutError:
                        if link.active:
                            self._write_ping(link)
                            await writer.drain()
                    continue
                written = 0
                while link.active and written < self.config.write_batch_bytes:
                    payload = peer.queue.pop()
                    if payload is None:
                        break
                    frame = connection.send_message(payload)
                    writer.write(frame)
                    written += len(frame)
                    peer.messages_out += 1
                peer.bytes_out += written
                self._notify()
                await writer.drain()
            async with asyncio.timeout(self.config.drain_timeout):
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, TimeoutError) as exc:
            log.debug("validator %d: writing to %d failed: %r", self.index, peer.index, exc)
            writer.transport.abort()
