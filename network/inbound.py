"""The door of a validator's P2P port: who may wait for a handshake, and what failures cost.

The `Connector` (`connect.py`) takes a ticket (`Pending`) from the gate for every socket it
accepts, says when the peer proved its key and when the handshake ended, and reports each
failure. The gate applies the admission policy of `admission.py` — closing, at once, the
sockets it evicts — counts failures by code for `/metrics`, and logs inbound ones through a
`ThrottledLog`, so a flood costs a few lines per interval rather than one per socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

from network.admission import Admission, AdmissionLimits, source_of
from network.config import NetworkConfig
from network.errors import ProtocolError
from network.throttle import ThrottledLog

log = logging.getLogger("tally.network")


class Pending:
    """An inbound connection in its handshake, as the admission policy tracks it."""

    __slots__ = ("evicted", "remote", "source", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        peername = writer.get_extra_info("peername")
        self.source = source_of(peername)
        self.remote = _host_port(peername)
        self.evicted = False


def _host_port(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host = str(peername[0])
        return f"[{host}]:{peername[1]}" if ":" in host else f"{host}:{peername[1]}"
    return "?"


def failure_code(exc: BaseException, pending: Pending | None) -> str:
    """The stable code a failed handshake is counted and logged under."""
    if pending is not None and pending.evicted:
        return "EVICTED"
    if isinstance(exc, ProtocolError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "TIMEOUT"
    return "CONNECTION_LOST"


def failure_reason(code: str, exc: BaseException, handshake_timeout: float) -> str:
    """A few words on why a handshake failed, for its log line."""
    if code == "EVICTED":
        return "its slot went to a newer connection: pending handshakes are full"
    if code == "TIMEOUT":
        return f"no handshake within {handshake_timeout:g} s"
    return str(exc) or type(exc).__name__


class InboundGate:
    """Admission of inbound connections and the accounting of failed handshakes."""

    def __init__(self, index: int, config: NetworkConfig, notify: Callable[[], None]) -> None:
        self.admission: Admission[Pending] = Admission(
            AdmissionLimits(
                config.max_pending_handshakes,
                config.max_pending_per_source,
                config.max_proved_per_peer,
            )
        )
        self.failures: Counter[str] = Counter()  # failed handshakes by code, both directions
        self._notify = notify
        self._log = ThrottledLog(
            log,
            logging.WARNING,
            config.log_interval,
            f"validator {index}",
            "inbound handshakes failed",
            lambda: (
                f"; {self.admission.pending} pending now, "
                f"{sum(self.failures.values()):,} failed since start"
            ),
        )

    def arrive(self, writer: asyncio.StreamWriter) -> Pending:
        """A socket was accepted: give it a slot, closing whichever ones the policy evicts."""
        pending = Pending(writer)
        for victim in self.admission.arrive(pending, pending.source):
            self._evict(victim)
        return pending

    def proved(self, pending: Pending, peer: bytes) -> None:
        """Its hello was signed by validator `peer`: unproved arrivals can no longer evict it."""
        for victim in self.admission.prove(pending, peer):
            self._evict(victim)

    def leave(self, pending: Pending) -> None:
        self.admission.leave(pending)

    def _evict(self, victim: Pending) -> None:
        victim.evicted = True
        victim.writer.transport.abort()  # its task sees the close and reports EVICTED

    def failed(self, code: str, pending: Pending | None, claimed: bytes | None, why: str) -> None:
        """Count a failed handshake and log an inbound one (throttled); the caller logs ours."""
        self.failures[code] += 1
        if pending is not None:
            self._log.event(
                code,
                "inbound handshake from %s (key %s) failed: %s (%s)",
                pending.remote,
                claimed.hex()[:16] if claimed else "?",
                code,
                why,
            )
        self._notify()

    def close(self) -> None:
        self._log.close()
