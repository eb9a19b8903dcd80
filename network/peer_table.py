"""The peer table: every other validator's state, its send queue, and its current connection.

Both ends must keep the same one connection to each other whichever side dialed, and the node
must hear of a peer's reachability once, not once per connection. So every authenticated link,
dialed or accepted, is handed to this table, and only here does a link become or stop being its
peer's current one (`adopt`, `release`). When two connections to one peer exist at once (both
sides dialed), both ends keep the connection dialed by the lower validator index, or of two
dialed by the same side the newer one (the older is then stale: its dialer restarted or lost
it); the other is superseded — wound down gracefully by its pumps in `link.py`, so the switch
loses nothing already written.

The table is also where the node's callbacks run (`on_message`, reachability), guarded so a
failing callback is logged and counted, never fatal, and where a peer's faults are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from network.config import NetworkConfig, PeerAddress
from network.errors import ProtocolError
from network.link import Link, PeerState, prefer, supersede
from network.stats import PeerStats
from network.throttle import ThrottledLog

log = logging.getLogger("tally.network")

MessageHandler = Callable[[int, bytes], None]
PeerHandler = Callable[[int], None]


class PeerTable:
    """The other validators by index and by key, and what happens to their links.

    `closing` is set once by `Network.close`: from then on nothing is queued or delivered, and
    a lost link no longer reports its peer disconnected. `notify` is called on every change
    that `Network.wait_until` may be waiting for.
    """

    def __init__(
        self,
        index: int,
        validators: Sequence[PeerAddress],
        config: NetworkConfig,
        notify: Callable[[], None],
        on_message: MessageHandler,
        on_peer_connected: PeerHandler | None = None,
        on_peer_disconnected: PeerHandler | None = None,
    ) -> None:
        self.index = index
        self.config = config
        self.peers = {v.index: PeerState(v, config) for v in validators if v.index != index}
        self._index_of = {peer.public: peer.index for peer in self.peers.values()}
        self.closing = False
        self.callback_errors = 0
        self._notify = notify
        self._on_message = on_message
        self._on_peer_connected = on_peer_connected
        self._on_peer_disconnected = on_peer_disconnected
        self._faults_log = ThrottledLog(
            log, logging.WARNING, config.log_interval, f"validator {index}", "peer faults"
        )

    def close(self) -> None:
        self._faults_log.close()

    def replace(self, validators: Sequence[PeerAddress]) -> tuple[list[PeerState], list[PeerState]]:
        """Make `validators` (ours left out) the peers from now on, as governance changed the
        set (DESIGN.md §7): (the peers added, the peers removed). A kept peer keeps its state,
        queue and link; a removed one is marked so its dial loop ends, its queue is dropped."""
        wanted = {v.index: v for v in validators if v.index != self.index}
        removed = [peer for index, peer in self.peers.items() if index not in wanted]
        for peer in removed:
            peer.removed = True
            peer.queue.clear()
            del self.peers[peer.index]
        added = [PeerState(v, self.config) for i, v in wanted.items() if i not in self.peers]
        for peer in added:
            self.peers[peer.index] = peer
        self._index_of = {peer.public: peer.index for peer in self.peers.values()}
        self._notify()
        return added, removed

    # ---- looking up ----------------------------------------------------------------------

    def is_allowed(self, public: bytes) -> bool:
        """Whether `public` is another validator's key (the handshake refuses anyone else)."""
        return public in self._index_of

    def of_key(self, public: bytes) -> PeerState | None:
        """The peer an authenticated connection proved to be (None: removed meanwhile)."""
        index = self._index_of.get(public)
        return None if index is None else self.peers[index]

    def connected(self) -> list[int]:
        return sorted(index for index, peer in self.peers.items() if peer.link is not None)

    def stats(self) -> dict[int, PeerStats]:
        return {index: self._peer_stats(peer) for index, peer in self.peers.items()}

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

    # ---- sending -------------------------------------------------------------------------

    def enqueue(self, peer: PeerState, payload: bytes) -> None:
        """Queue `payload` for `peer` (shedding the oldest when full) and wake its writer."""
        if self.closing:
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

    # ---- the life of a link --------------------------------------------------------------

    def adopt(self, link: Link) -> bool:
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

    def release(self, link: Link) -> None:
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
        if self._on_peer_disconnected is not None and not self.closing:
            self._callback(self._on_peer_disconnected, peer.index)
        self._notify()

    def fault(self, peer: PeerState, link: Link, exc: ProtocolError) -> None:
        """Count a protocol fault of `peer`; the caller drops the connection."""
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

    def deliver(self, peer: PeerState, payload: bytes) -> None:
        """Hand one message of `peer` to the node's `on_message`."""
        if self.closing:
            return
        peer.messages_in += 1
        try:
            self._on_message(peer.index, payload)
        except Exception:
            self.callback_errors += 1
            log.exception(
                "validator %d: on_message failed for a message from %d", self.index, peer.index
            )

    def _callback(self, callback: PeerHandler, peer_index: int) -> None:
        try:
            callback(peer_index)
        except Exception:
            self.callback_errors += 1
            log.exception("validator %d: peer callback failed for %d", self.index, peer_index)
