"""The peer manager: a full mesh of authenticated TCP connections between validators.

A thin asyncio layer around the sans-IO `Connection`, and the one object the node holds:
`Network` owns the listener, the tasks and the counters, and puts together the parts that do
the work, each in its own module —

- `peer_table.py`: each peer's state and send queue, and the rule that keeps one connection
  per peer when both sides dialed (both ends keep the same one, and the other winds down
  without losing what it wrote);
- `connect.py`: dialing every other validator (redialing with jittered exponential backoff)
  and serving each socket, dialed or accepted, from handshake to close;
- `inbound.py` and `admission.py`: the door of the P2P port, so a flood of strangers cannot
  keep validators apart;
- `link.py`: one connection's two pumps, socket → node and queue → socket.

Delivery is best effort, as consensus expects: in order and at most once within a connection;
a message being written when a connection breaks, or shed from a full queue, is gone. Faults
stay with the peer that caused them: a frame that is oversized, empty, forged or not a valid
envelope closes that one connection (abruptly), is logged and counted; the node and its other
peers carry on. What strangers can cause at will — failed handshakes, faults, accept() errors
— is logged once per interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from ledger.crypto import Ed25519Key
from network.accept_errors import AcceptErrors, listening_address
from network.config import NetworkConfig, PeerAddress, split_address
from network.connect import Connector
from network.connection import ENVELOPE_OVERHEAD
from network.inbound import InboundGate
from network.peer_table import MessageHandler, PeerHandler, PeerTable
from network.session import MAC_SIZE
from network.stats import NetworkStats

log = logging.getLogger("tally.network")


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
        by_index = {v.index: v for v in validators}
        if len(by_index) != len(validators):
            raise ValueError("validator indices must be unique")
        if len({v.ed25519 for v in validators}) != len(validators):
            raise ValueError("validator keys must be unique")
        me = by_index.get(index)
        if me is not None and me.ed25519 != key.public:
            raise ValueError(f"our key is not validator {index}'s key")
        if me is None and not self.config.listen:
            # a node governance has not added yet (a follower) listens where it is told
            raise ValueError(f"validator {index} is not in the set: give the address to listen on")
        self._listen = split_address(self.config.listen or (me.address if me else ""))
        # Not (yet) a validator: only accept the validators' dials, so every connection's
        # dialer has an index both ends agree on (ours is not known to us until we are added).
        self.follower = me is None
        self._table = PeerTable(
            index,
            validators,
            self.config,
            self._notify,
            on_message,
            on_peer_connected,
            on_peer_disconnected,
        )
        self.max_message_bytes = self.config.max_frame_bytes - MAC_SIZE - ENVELOPE_OVERHEAD
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed: asyncio.Event | None = None
        self._gate = InboundGate(index, self.config, self._notify)
        self._connector = Connector(
            chain=chain,
            key=key,
            config=self.config,
            table=self._table,
            gate=self._gate,
            spawn=self._spawn,
            notify=self._notify,
        )
        self._accept_errors: AcceptErrors | None = None
        self._listening_addresses: set[str] = set()
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
        if self._server is not None or self._table.closing:
            raise RuntimeError("start() may be called once")
        host, port = self._listen
        self._accept_errors = AcceptErrors.acquire(self.config.log_interval, self._notify)
        try:
            self._server = await asyncio.start_server(self._connector.accept, host, port)
        except BaseException:
            self._accept_errors.release(self._notify)
            self._accept_errors = None
            raise
        self.listening = f"{host}:{self.port}"
        self._listening_addresses = {listening_address(s) for s in self._server.sockets}
        log.info("validator %d: listening on %s", self.index, self.listening)
        if self.follower:
            return
        for peer in self._table.peers.values():
            self._spawn(self._connector.dial_loop(peer), f"dial-{self.index}-{peer.index}")

    async def close(self) -> None:
        """Stop listening, drop every connection and task, and wait until all are gone."""
        if self._table.closing:
            return
        self._table.closing = True
        if self._accept_errors is not None:
            loop = asyncio.get_running_loop()
            retried = self._accept_errors.retries_done_at(self._listening_addresses)
            if retried > loop.time():  # only within a second of running out of descriptors
                await asyncio.sleep(retried - loop.time())
        if self._server is not None:
            self._server.close()
        for peer in self._table.peers.values():
            if peer.link is not None:
                peer.link.writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._gate.close()
        self._table.close()
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
            # A bug in this package, not a peer's fault: say so loudly, keep the node running.
            log.error(
                "validator %d: task %s failed",
                self.index,
                task.get_name(),
                exc_info=task.exception(),
            )

    def update_peers(self, validators: Sequence[PeerAddress], index: int | None = None) -> None:
        """From now on admit and dial exactly `validators` (governance changed the set): new
        ones are dialed, removed ones disconnected at once and never redialed; a peer in both
        keeps its connection and queue. The node passes the set in; indices never change
        meaning (a removed validator's index is not reused). `index`: ours, once a follower
        learns it was added (it then dials every peer, as validators do)."""
        if self._table.closing:
            return
        promoted = self.follower and index is not None
        if promoted and index is not None:
            self.index = self._table.index = self._connector.index = index
            self.follower = False
        added, removed = self._table.replace(validators)
        for peer in removed:
            log.info(
                "validator %d: %d left the validator set, disconnecting", self.index, peer.index
            )
            peer.down.set()  # its dial loop wakes and ends
            if peer.link is not None:
                peer.link.writer.transport.abort()
        if self._server is None or self.follower:
            return  # start() dials whoever is in the table then; a follower never dials
        for peer in self._table.peers.values() if promoted else added:
            log.info("validator %d: %d joined the validator set, dialing", self.index, peer.index)
            self._spawn(self._connector.dial_loop(peer), f"dial-{self.index}-{peer.index}")

    # ---- sending -------------------------------------------------------------------------

    def send(self, peer_index: int, payload: bytes) -> None:
        """Queue `payload` for one peer. Never blocks; a full queue sheds its oldest entry."""
        peer = self._table.peers.get(peer_index)
        if peer is None:
            raise ValueError(f"validator {peer_index} is not a peer of validator {self.index}")
        self._check_size(payload)
        self._table.enqueue(peer, bytes(payload))

    def broadcast(self, payload: bytes) -> None:
        """Queue `payload` for every other validator."""
        self._check_size(payload)
        payload = bytes(payload)
        for peer in self._table.peers.values():
            self._table.enqueue(peer, payload)

    def _check_size(self, payload: bytes) -> None:
        if len(payload) > self.max_message_bytes:
            raise ValueError(
                f"message of {len(payload)} bytes exceeds the limit of {self.max_message_bytes}"
            )

    # ---- observing -----------------------------------------------------------------------

    def connected_peers(self) -> list[int]:
        return self._table.connected()

    def stats(self) -> NetworkStats:
        return NetworkStats(
            index=self.index,
            listening=self.listening,
            peers=self._table.stats(),
            handshake_failures=sum(self._gate.failures.values()),
            handshake_failures_by_code=dict(self._gate.failures),
            pending_handshakes=self._gate.admission.pending,
            accept_errors=(
                0
                if self._accept_errors is None
                else self._accept_errors.count_for(self._listening_addresses)
            ),
            callback_errors=self._table.callback_errors,
        )

    async def wait_until(self, predicate: Callable[[NetworkStats], bool]) -> NetworkStats:
        """Wait until `predicate(stats)` holds, re-checked whenever the network's state changes
        (a peer connects or disconnects, a handshake fails, a fault, a drop, a write).

        Callers bound the wait themselves (`asyncio.timeout`).
        """
        while True:
            stats = self.stats()
            if predicate(stats) or self._table.closing:
                return stats
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    async def wait_connected(self, peers: Iterable[int] | None = None) -> None:
        """Wait until every given peer (default: all) is connected."""
        wanted = set(self._table.peers if peers is None else peers)
        await self.wait_until(lambda stats: wanted <= set(stats.connected))

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()
