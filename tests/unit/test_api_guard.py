"""The connection guard's rules (node/api/guard.py), with fake connections and a given clock."""

from __future__ import annotations

from dataclasses import dataclass

from node.api.guard import ConnectionGuard
from node.api.limits import ApiLimits

LIMITS = ApiLimits(
    max_connections=3, header_timeout_s=10, keepalive_timeout_s=30, send_timeout_s=20
)


@dataclass(eq=False)
class FakeConn:
    name: str
    unsent: int = 0
    closed: str = ""  # "idle" or "abort" once the guard closed it

    def unsent_bytes(self) -> int:
        return self.unsent

    def close_idle(self) -> None:
        self.closed = "idle"

    def abort(self) -> None:
        self.closed = "abort"


def _guard_with(*names: str, now: float = 0.0) -> tuple[ConnectionGuard, list[FakeConn]]:
    guard = ConnectionGuard(LIMITS)
    conns = [FakeConn(name) for name in names]
    for conn in conns:
        assert guard.admit(conn, now)
    return guard, conns


def _serve_one_request(guard: ConnectionGuard, conn: FakeConn, now: float) -> None:
    guard.received(conn, now)
    guard.request_started(conn)
    guard.request_finished(conn, now)


def test_a_silent_connection_is_closed_after_the_header_timeout() -> None:
    guard, (silent,) = _guard_with("silent")
    guard.sweep(9.9)
    assert not silent.closed
    guard.sweep(10.1)
    assert silent.closed == "idle" and guard.closed["HEADER_TIMEOUT"] == 1
    assert silent not in guard.conns


def test_a_trickled_head_is_timed_from_its_first_byte_not_its_last() -> None:
    guard, (slow,) = _guard_with("slow")
    _serve_one_request(guard, slow, now=1.0)
    for second in range(2, 12):  # a byte a second after the first answer
        guard.received(slow, float(second))
        guard.sweep(float(second))
    assert not slow.closed
    guard.sweep(12.5)  # 10.5 s after the first byte of the second head
    assert slow.closed == "idle" and guard.closed["HEADER_TIMEOUT"] == 1


def test_an_idle_keep_alive_connection_gets_the_keep_alive_timeout() -> None:
    guard, (client,) = _guard_with("client")
    _serve_one_request(guard, client, now=5.0)
    guard.sweep(20.0)  # past the header timeout, but it sent nothing new
    assert not client.closed
    guard.sweep(35.1)
    assert client.closed == "idle" and guard.closed["IDLE"] == 1


def test_a_busy_connection_has_no_idle_deadline() -> None:
    guard, (poll,) = _guard_with("long-poll")
    guard.received(poll, 0.0)
    guard.request_started(poll)
    guard.sweep(500.0)
    assert not poll.closed


def test_an_answer_that_does_not_shrink_is_aborted_but_a_slow_reader_is_not() -> None:
    guard, (stuck, slow) = _guard_with("stuck", "slow")
    for conn in (stuck, slow):
        guard.received(conn, 0.0)
        guard.request_started(conn)
        conn.unsent = 1_000_000
    guard.sweep(1.0)
    for second in range(2, 40):
        slow.unsent -= 10_000  # reads a little every second
        guard.sweep(float(second))
    assert stuck.closed == "abort" and guard.closed["SEND_TIMEOUT"] == 1
    assert not slow.closed


def test_the_answer_being_sent_delays_the_keep_alive_deadline() -> None:
    guard, (client,) = _guard_with("client")
    _serve_one_request(guard, client, now=0.0)
    client.unsent = 500
    guard.sweep(1.0)
    client.unsent = 0  # the last byte left at about 25 s
    guard.sweep(25.0)
    guard.sweep(50.0)
    assert not client.closed
    guard.sweep(55.1)
    assert client.closed == "idle"


def test_at_the_cap_the_oldest_never_served_connection_makes_room() -> None:
    guard, (served, silent_old, silent_new) = _guard_with("served", "old", "new")
    _serve_one_request(guard, served, now=0.0)
    newcomer = FakeConn("newcomer")
    assert guard.admit(newcomer, 1.0)
    assert silent_old.closed == "idle" and not silent_new.closed and not served.closed
    assert guard.closed["EVICTED"] == 1 and len(guard.conns) == LIMITS.max_connections


def test_at_the_cap_an_idle_keep_alive_connection_makes_room_when_no_silent_one_is_left() -> None:
    guard, (first, second, busy) = _guard_with("first", "second", "busy")
    _serve_one_request(guard, first, now=0.0)
    _serve_one_request(guard, second, now=0.0)
    guard.request_started(busy)
    assert guard.admit(FakeConn("newcomer"), 1.0)
    assert first.closed == "idle" and not second.closed and not busy.closed


def test_when_every_connection_serves_a_request_the_newcomer_is_refused() -> None:
    guard, conns = _guard_with("a", "b", "c")
    for conn in conns:
        guard.request_started(conn)
    conns[0].unsent = 10  # done serving, still sending: not idle either
    guard.request_finished(conns[0], 0.5)
    assert not guard.admit(FakeConn("newcomer"), 1.0)
    assert guard.refused == 1 and not any(conn.closed for conn in conns)
    guard.forget(conns[1])  # one leaves: there is room again
    assert guard.admit(FakeConn("later"), 2.0)
