"""Dialing every peer and serving every socket, dialed or accepted, from handshake to close.

A socket we dialed and one we accepted take the same path once open — handshake, then the
peer table decides whether the link becomes the peer's current one, then the pumps of `link.py`
— so one `Connector` runs both, and the differences stay at the edges: a dial loop that redials
with jittered exponential backoff while a peer is unreachable, and, for an accepted socket, a
slot from the inbound gate (`inbound.py`) that it holds until its handshake ends.

Faults stay with the connection that caused them: a failed handshake is counted and logged
(throttled, for strangers), a protocol fault closes that one link abruptly, and whatever
happens the socket is closed and its closing awaited before its task ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from ledger.crypto import Ed25519Key
from network.config import NetworkConfig
from network.connection import Connection, Established
from network.errors import ProtocolError
from network.handshake import Role
from network.inbound import InboundGate, Pending, failure_code, failure_reason
from network.link import Link, PeerState, exchange_handshake, read_loop, supersede, write_loop
from network.peer_table import PeerTable

log = logging.getLogger("tally.network")

Spawn = Callable[[Coroutine[Any, Any, Any], str], asyncio.Task[Any]]


def redial_delay(config: NetworkConfig, attempt: int) -> float:
    """Exponential backoff with jitter, so restarted validators do not redial in lockstep."""
    ceiling = min(config.reconnect_max, config.reconnect_min * 2.0**attempt)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def discard(writer: asyncio.StreamWriter) -> None:
    """Close a socket at once and wait until it is closed."""
    writer.transport.abort()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Connector:
    """Opens and serves the connections of one validator; `spawn` runs tasks `Network` owns."""

    def __init__(
        self,
        *,
        chain: str,
        key: Ed25519Key,
        config: NetworkConfig,
        table: PeerTable,
        gate: InboundGate,
        spawn: Spawn,
        notify: Callable[[], None],
    ) -> None:
        self.chain = chain
        self.key = key
        self.config = config
        self.index = table.index
        self._table = table
        self._gate = gate
        self._spawn = spawn
        self._notify = notify

    async def dial_loop(self, peer: PeerState) -> None:
        """Keep one connection to `peer` dialed by us, redialing whenever it is down."""
        attempt = 0
        while not self._table.closing and not peer.removed:
            await peer.down.wait()
            if peer.removed:
                return
            served = False
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    reader, writer = await asyncio.open_connection(peer.host, peer.port)
            except (OSError, TimeoutError) as exc:
                log.debug("validator %d: cannot reach %d: %r", self.index, peer.index, exc)
            else:
                served = await self._serve(reader, writer, peer)
            attempt = 0 if served else min(attempt + 1, 30)
            await asyncio.sleep(redial_delay(self.config, attempt))

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new inbound connection: a slot from the gate (which may evict an older one), then
        a task of ours to serve it (so `close` can cancel it)."""
        if self._table.closing:
            writer.transport.abort()
            return
        pending = self._gate.arrive(writer)  # until its handshake ends, in _authenticate
        self._spawn(self._serve(reader, writer, None, pending), f"inbound-{self.index}")

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
            await discard(writer)

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
            self._table.is_allowed,
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
        peer = self._table.of_key(established.peer_public)
        if peer is None or peer.removed or (dialed is not None and dialed is not peer):
            return False  # taken out of the set while its handshake ran
        dialer = self.index if dialed else peer.index
        link = Link(peer, connection, reader, writer, dialer, established.session_id)
        adopted = self._table.adopt(link)
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
            await read_loop(link, self.config, self._table.deliver)
            graceful = True
        except ProtocolError as exc:
            self._table.fault(peer, link, exc)
        except (OSError, TimeoutError) as exc:
            log.info(
                "validator %d: connection to %d (session %s) lost: %r",
                self.index,
                peer.index,
                link.session,
                exc,
            )
        finally:
            self._table.release(link)
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
