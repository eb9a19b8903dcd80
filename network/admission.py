"""Which inbound connections may wait for their handshake, so that a flood cannot take every slot.

Anyone can open a TCP connection to a validator's P2P port, and until the handshake is over the
node cannot tell a peer from a flood. The policy, as a pure state machine over opaque tickets
(the asyncio layer holds the sockets, this module only says which ones to close):

- An *unproved* connection (no valid hello yet) holds a slot among `max_pending`, at most
  `max_per_source` of them per source address. When a newcomer finds its source's share full,
  that source's oldest connection goes; when it finds all slots full, the oldest connection of
  the source holding the most goes. Nobody is refused at the door: a flood evicts its own
  oldest sockets first, and a source holding a single slot — a validator dialing in — is only
  reached once every source is down to one slot.
- A *proved* connection sent a hello signed by a validator's key for us (see `handshake.py`);
  it leaves the unproved slots and waits only for the last message. Unproved arrivals never
  evict it. At most `max_proved_per_peer` wait per validator key: a validator that dials again
  supersedes its own oldest attempt, as it does for links.

Memory is bounded by `max_pending + max_proved_per_peer * validators` connections, and the
asyncio layer closes each one at its handshake deadline in any case.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

Ticket = TypeVar("Ticket", bound=Hashable)


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    max_pending: int  # unproved connections, all sources together
    max_per_source: int  # unproved connections from one source address
    max_proved_per_peer: int  # proved connections waiting for their last message, per key

    def __post_init__(self) -> None:
        if min(self.max_pending, self.max_per_source, self.max_proved_per_peer) < 1:
            raise ValueError("admission limits must be positive")
        if self.max_per_source > self.max_pending:
            raise ValueError("max_per_source cannot exceed max_pending")


def source_of(peername: object) -> str:
    """The address a connection's slots are counted against.

    An IPv4 address as it is (an IPv4-mapped IPv6 one as IPv4); an IPv6 address by its /64,
    since one host commonly holds a whole /64 and could otherwise claim a share per address.
    """
    host = peername[0] if isinstance(peername, tuple) and peername else None
    if not isinstance(host, str):
        return "?"
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Admission(Generic[Ticket]):
    """The pending inbound handshakes and the eviction policy described in the module."""

    def __init__(self, limits: AdmissionLimits) -> None:
        self.limits = limits
        # Per source, its unproved tickets in arrival order, each with its arrival number.
        self._by_source: dict[str, dict[Ticket, int]] = {}
        self._source: dict[Ticket, str] = {}
        self._by_peer: dict[bytes, dict[Ticket, None]] = {}
        self._peer: dict[Ticket, bytes] = {}
        self._arrivals = 0

    @property
    def unproved(self) -> int:
        return len(self._source)

    @property
    def proved(self) -> int:
        return len(self._peer)

    @property
    def pending(self) -> int:
        return len(self._source) + len(self._peer)

    def holds(self, ticket: Ticket) -> bool:
        return ticket in self._source or ticket in self._peer

    def arrive(self, ticket: Ticket, source: str) -> list[Ticket]:
        """Admit a new connection; return the ones to close to make room for it (oldest first)."""
        if self.holds(ticket):
            raise ValueError("ticket is already pending")
        evicted: list[Ticket] = []
        bucket = self._by_source.get(source, {})
        while len(bucket) >= self.limits.max_per_source:
            evicted.append(self._evict_oldest(source))
            bucket = self._by_source.get(source, {})
        while len(self._source) >= self.limits.max_pending:
            evicted.append(self._evict_oldest(self._largest_source()))
        self._arrivals += 1
        self._by_source.setdefault(source, {})[ticket] = self._arrivals
        self._source[ticket] = source
        return evicted

    def prove(self, ticket: Ticket, peer: bytes) -> list[Ticket]:
        """`ticket` sent a valid hello from validator `peer`: protect it from unproved arrivals.

        Returns the connections to close: `peer`'s own oldest attempts beyond its share. A
        ticket no longer pending (evicted meanwhile) stays out and evicts nothing.
        """
        if ticket not in self._source:
            return []
        self._drop_unproved(ticket)
        attempts = self._by_peer.setdefault(peer, {})
        evicted: list[Ticket] = []
        while len(attempts) >= self.limits.max_proved_per_peer:
            oldest = next(iter(attempts))
            self._drop_proved(oldest)
            evicted.append(oldest)
            attempts = self._by_peer.setdefault(peer, {})
        attempts[ticket] = None
        self._peer[ticket] = peer
        return evicted

    def leave(self, ticket: Ticket) -> None:
        """The handshake ended (done, failed or closed); a ticket not pending is ignored."""
        if ticket in self._source:
            self._drop_unproved(ticket)
        elif ticket in self._peer:
            self._drop_proved(ticket)

    # ---- internals -------------------------------------------------------------------------

    def _largest_source(self) -> str:
        """The source holding the most unproved slots; of equals, the one waiting longest."""
        return max(
            self._by_source,
            key=lambda source: (
                len(self._by_source[source]),
                -next(iter(self._by_source[source].values())),
            ),
        )

    def _evict_oldest(self, source: str) -> Ticket:
        oldest = next(iter(self._by_source[source]))
        self._drop_unproved(oldest)
        return oldest

    def _drop_unproved(self, ticket: Ticket) -> None:
        source = self._source.pop(ticket)
        bucket = self._by_source[source]
        del bucket[ticket]
        if not bucket:
            del self._by_source[source]

    def _drop_proved(self, ticket: Ticket) -> None:
        peer = self._peer.pop(ticket)
        attempts = self._by_peer[peer]
        del attempts[ticket]
        if not attempts:
            del self._by_peer[peer]
