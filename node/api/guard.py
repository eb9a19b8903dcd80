"""Which HTTP connections the node keeps: a cap on how many, and deadlines for each phase.

A socket that never sends a request, or sends its head a byte a second, or stops reading its
answer, held a file descriptor forever; 21,000 of them took the node to its fd limit (issue 11,
finding 8). The rules, checked once a second (`sweep`) and when a connection arrives (`admit`):

- a new connection must send a complete request head within `header_timeout_s`; so must an
  idle one from the first byte of its next request (silent sockets, slowloris);
- an idle keep-alive connection is closed after `keepalive_timeout_s`;
- a connection whose unsent answer has not shrunk for `send_timeout_s` is aborted (the answer
  is dropped: a client that stops reading holds no memory);
- at `max_connections`, the oldest connection that never completed a request, else the oldest
  idle one, is closed to make room; if every connection is serving a request, the newcomer is
  refused (503 BUSY). So a flood of idle sockets cannot lock out a real client.

The body of a request has its own deadline where it is read (node/api/params.py). The guard
knows a connection only through `Conn` and is given the time, so it is tested without sockets.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from node.api.limits import ApiLimits


class Conn(Protocol):
    """What the guard needs of a connection."""

    def unsent_bytes(self) -> int: ...
    def close_idle(self) -> None: ...
    def abort(self) -> None: ...


@dataclass(slots=True)
class ConnState:
    opened_at: float
    idle_since: float
    busy: bool = False
    requests: int = 0
    head_started_at: float | None = None  # first byte after going idle
    unsent: int = 0
    progress_at: float = 0.0  # when the unsent answer last shrank, or began to wait


class ConnectionGuard:
    """The open connections, oldest first, and the counts of what was closed and why."""

    def __init__(self, limits: ApiLimits) -> None:
        self.limits = limits
        self.conns: dict[Conn, ConnState] = {}
        self.closed: Counter[str] = Counter()  # reason -> connections closed by the guard
        self.refused = 0

    def admit(self, conn: Conn, now: float) -> bool:
        """Track `conn`; False if it must be refused (every connection is serving)."""
        if len(self.conns) >= self.limits.max_connections:
            victim = self._eviction_candidate()
            if victim is None:
                self.refused += 1
                return False
            self._close(victim, "EVICTED")
        self.conns[conn] = ConnState(opened_at=now, idle_since=now, progress_at=now)
        return True

    def _eviction_candidate(self) -> Conn | None:
        idle = [
            (state.requests > 0, conn)
            for conn, state in self.conns.items()
            if not state.busy and conn.unsent_bytes() == 0
        ]
        # dicts keep insertion order, so the first of each kind is the oldest
        for never_served in (False, True):
            for served, conn in idle:
                if served == never_served:
                    return conn
        return None

    def forget(self, conn: Conn) -> None:
        self.conns.pop(conn, None)

    def received(self, conn: Conn, now: float) -> None:
        """Bytes arrived: if the connection was idle, the head of a request has begun."""
        state = self.conns.get(conn)
        if state is not None and not state.busy and state.head_started_at is None:
            state.head_started_at = now

    def request_started(self, conn: Conn) -> None:
        state = self.conns.get(conn)
        if state is not None:
            state.busy = True
            state.head_started_at = None

    def request_finished(self, conn: Conn, now: float) -> None:
        state = self.conns.get(conn)
        if state is not None:
            state.busy = False
            state.requests += 1
            state.idle_since = now

    def sweep(self, now: float) -> None:
        """Close every connection past one of its deadlines."""
        for conn, state in list(self.conns.items()):
            reason = self._overdue(conn, state, now)
            if reason is not None:
                self._close(conn, reason)

    def _overdue(self, conn: Conn, state: ConnState, now: float) -> str | None:
        limits = self.limits
        unsent = conn.unsent_bytes()
        if unsent < state.unsent or (unsent and not state.unsent):
            state.progress_at = now  # the answer shrank (or was sent whole), or began
        state.unsent = unsent
        if unsent and now - state.progress_at > limits.send_timeout_s:
            return "SEND_TIMEOUT"
        if state.busy or unsent:
            return None
        idle_since = max(state.idle_since, state.progress_at if state.requests else 0.0)
        if state.head_started_at is not None:
            late = now - state.head_started_at > limits.header_timeout_s
        elif state.requests == 0:
            late = now - state.opened_at > limits.header_timeout_s
        else:
            return "IDLE" if now - idle_since > limits.keepalive_timeout_s else None
        return "HEADER_TIMEOUT" if late else None

    def _close(self, conn: Conn, reason: str) -> None:
        self.conns.pop(conn, None)
        self.closed[reason] += 1
        if reason == "SEND_TIMEOUT":
            conn.abort()
        else:
            conn.close_idle()
