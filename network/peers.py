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
other peers carry on. Unauthenticated connections get tiny frames, a handshake deadline and
slots under the admission policy of `admission.py` (per source and in all, the oldest evicted,
a validator's signed hello protected), so a flood cannot keep validators apart; what strangers
can cause at will — failed handshakes, faults, accept() errors — is logged once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine, Iterable, Sequence
from functools import partial
from typing import Any

from ledger.crypto import Ed25519Key
from network.accept_errors import AcceptErrors, listening_address
from network.config import NetworkConfig, PeerAddress, split_address
from network.connection import ENVELOPE_OVERHEAD, Connection, Established
from network.errors import ProtocolError
from network.handshake import Role
from network.inbound import InboundGate, Pending, failure_code, failure_reason
from network.link import (
    Link,
    PeerState,
    exchange_handshake,
    prefer,
    read_loop,
    supersede,
    write_loop,
)
from network.session import MAC_SIZE
from network.stats import NetworkStats, PeerStats
from network.throttle import ThrottledLog

log = logging.getLogger("tally.network")

MessageHandler = Callable[[int, bytes], None]
PeerHandler = Callable[[int], None]


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
        self._listen = split_address(self.config.listen or me.address)
        self._peers = {v.index: PeerState(v, self.config) for v in validators if v.index != index}
        self._index_of = {peer.public: peer.index for peer in self._peers.values()}
        self.max_message_bytes = self.config.max_frame_bytes - MAC_SIZE - ENVELOPE_OVERHEAD
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed: asyncio.Event | None = None
        self._closing = False
        self._gate = InboundGate(index, self.config, self._notify)
        self._faults_log = ThrottledLog(
            log, logging.WARNING, self.config.log_interval, f"validator {index}", "peer faults"
        )
        self._accept_errors: AcceptErrors | None = None
        self._listening_addresses: set[str] = set()
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
        self._accept_errors = AcceptErrors.acquire(self.config.log_interval, self._notify)
        try:
            self._server = await asyncio.start_server(self._accept, host, port)
        except BaseException:
            self._accept_errors.release(self._notify)
            self._accept_errors = None
            raise
        self.listening = f"{host}:{self.port}"
        self._listening_addresses = {listening_address(s) for s in self._server.sockets}
        log.info("validator %d: listening on %s", self.index, self.listening)
        for peer in self._peers.values():
            self._spawn(self._dial_loop(peer), f"dial-{self.index}-{peer.index}")

    async def close(self) -> None:
        """Stop listening, drop every connection and task, and wait until all are gone."""
        if self._closing:
            return
        self._closing = True
        if self._accept_errors is not None:
            loop = asyncio.get_running_loop()
            retried = self._accept_errors.retries_done_at(self._listening_addresses)
            if retried > loop.time():  # only within a second of running out of descriptors
                await asyncio.sleep(retried - loop.time())
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
        self._gate.close()
        self._faults_log.close()
        if self._accept_errors is not None:
            self._accept_errors.release(self._notify)
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

    def _enqueue(self, peer: PeerState, payload: bytes) -> None:
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
            handshake_failures=sum(self._gate.failures.values()),
            handshake_failures_by_code=dict(self._gate.failures),
            pending_handshakes=self._gate.admission.pending,
            accept_errors=(
                0
                if self._accept_errors is None
                else self._accept_errors.count_for(self._listening_addresses)
            ),
            callback_errors=self._callback_errors,
        )

    def _peer_stats(self, peer: PeerState) -> PeerStats:
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

    async def _dial_loop(self, peer: PeerState) -> None:
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
        """A new inbound connection: a slot from the gate (which may evict an older one), then
        a task of ours to serve it (so `close` can cancel it)."""
        if self._closing:
            writer.transport.abort()
            return
        pending = self._gate.arrive(writer)  # until its handshake ends, in _authenticate
        self._spawn(self._serve(reader, writer, None, pending), f"inbound-{self.index}")

    @staticmethod
    async def _discard(writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialed: PeerState | None,
        pending: Pending | None = None,
    ) -> bool:
        """Run one connection from handshake to close; True if it served: it was adopted as the
        peer's link and the peer used it (a connection the peer refuses at once does not count,
        so redialing into a refusal backs off).

        Whatever happens — a fault, a lost peer, `close()` cancelling us — the socket is
        closed and its closing awaited here, so no transport outlives its task.
        """
        try:
            established, connection = await self._authenticate(reader, writer, dialed, pending)
            if established is None:
                return False
            return await self._run_link(reader, writer, connection, established, dialed)
        finally:
            await self._discard(writer)

    async def _authenticate(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        dialed: PeerState | None,
        pending: Pending | None,
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
                on_proved = None if pending is None else partial(self._gate.proved, pending)
                established = await exchange_handshake(
                    connection, reader, writer, self.config.read_chunk, on_proved
                )
                return established, connection
        except (ProtocolError, OSError, TimeoutError) as exc:
            self._handshake_failed(connection, dialed, pending, writer, exc)
            return None, connection
        finally:
            if pending is not None:
                self._gate.leave(pending)

    async def _run_link(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        connection: Connection,
        established: Established,
        dialed: PeerState | None,
    ) -> bool:
        """Carry an authenticated connection until it ends; True if it served (see `_serve`)."""
        peer = self._peers[self._index_of[established.peer_public]]
        dialer = self.index if dialed else peer.index
        link = Link(peer, connection, reader, writer, dialer, established.session_id)
        adopted = self._adopt(link)
        writer_task = None
        if adopted:
            writer_task = self._spawn(
                write_loop(link, self.config, self._notify), f"write-{self.index}-{peer.index}"
            )
        else:
            supersede(link, self.config.drain_timeout)
            with contextlib.suppress(OSError):
                writer.write_eof()
        graceful = False
        try:
            await read_loop(link, self.config, self._deliver)
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

    def _handshake_failed(
        self,
        connection: Connection,
        dialed: PeerState | None,
        pending: Pending | None,
        writer: asyncio.StreamWriter,
        exc: Exception,
    ) -> None:
        code = failure_code(exc, pending)
        why = failure_reason(code, exc, self.config.handshake_timeout)
        if dialed is not None:
            # Our own dials: at most one per peer per backoff step, so each one is logged.
            dialed.handshake_failures += 1
            log.warning(
                "validator %d: handshake with %d at %s failed: %s (%s)",
                self.index,
                dialed.index,
                writer.get_extra_info("peername"),
                code,
                why,
            )
        self._gate.failed(code, pending, connection.peer_claimed, why)

    # ---- the life of a link --------------------------------------------------------------

    def _adopt(self, link: Link) -> bool:
        """Make `link` its peer's current connection, unless the one it has is preferred."""
        peer = link.peer
        current = peer.link
        if current is not None and not prefer(link, current):
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
            supersede(current, self.config.drain_timeout)
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

    def _release(self, link: Link) -> None:
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

    def _fault(self, peer: PeerState, link: Link, exc: ProtocolError) -> None:
        peer.faults += 1
        peer.last_fault = exc.code
        # A faulty validator can reconnect and fault again as fast as it can handshake.
        self._faults_log.event(
            f"{exc.code} from {peer.index}",
            "dropping connection to %d (session %s): %s",
            peer.index,
            link.session,
            exc,
        )
        self._notify()

    def _deliver(self, peer: PeerState, payload: bytes) -> None:
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
