"""Snapshots of the transport's counters, for `/metrics`, `/v1/status` and tests.

Plain frozen values taken at one instant: the node may keep or export them without holding
any reference into the live network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PeerStats:
    """One peer, as seen from this node. Counters are totals since the network started."""

    index: int
    connected: bool
    outbound: bool | None  # did we dial the current connection? None when not connected
    session: str | None  # hex prefix of the session id, identical on both ends' logs
    queue_messages: int  # waiting in our send queue
    queue_bytes: int
    write_buffer_bytes: int  # handed to the socket, not yet accepted by the kernel
    dropped: int  # oldest messages shed because the queue was full
    bytes_in: int
    bytes_out: int
    messages_in: int
    messages_out: int
    faults: int  # connections closed because the peer broke the protocol
    last_fault: str | None  # the code of the latest fault, e.g. "BAD_CIPHERTEXT"
    handshake_failures: int  # failed handshakes on connections we dialed to it
    connects: int
    disconnects: int


@dataclass(frozen=True, slots=True)
class NetworkStats:
    index: int
    listening: str | None  # "host:port" actually bound, once started
    peers: Mapping[int, PeerStats] = field(hash=False)
    handshake_failures: int  # every failed handshake, inbound from anyone included
    # The same by code: TIMEOUT, EVICTED (slot given to a newer connection), CLOSED,
    # CONNECTION_LOST, NOT_A_VALIDATOR, BAD_SIGNATURE, WRONG_CHAIN, ... (network/errors codes)
    handshake_failures_by_code: Mapping[str, int] = field(hash=False)
    pending_handshakes: int  # inbound connections now in their handshake
    accept_errors: int  # accept() calls on our port that failed for lack of fds or memory
    callback_errors: int  # exceptions raised by on_message (logged, then ignored)

    @property
    def connected(self) -> tuple[int, ...]:
        return tuple(index for index, peer in self.peers.items() if peer.connected)

    @property
    def dropped(self) -> int:
        return sum(peer.dropped for peer in self.peers.values())

    @property
    def faults(self) -> int:
        return sum(peer.faults for peer in self.peers.values())
