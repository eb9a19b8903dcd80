"""The admission policy for pending handshakes and the log throttle, driven without sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.admission import Admission, AdmissionLimits, source_of
from network.throttle import LogThrottle, describe_counts

LIMITS = AdmissionLimits(max_pending=8, max_per_source=3, max_proved_per_peer=2)
VALIDATOR = b"v" * 32


def admission(limits: AdmissionLimits = LIMITS) -> Admission[str]:
    return Admission(limits)


# ---- unproved connections ------------------------------------------------------------------


def test_connections_within_the_limits_evict_nothing() -> None:
    gate = admission()
    for n in range(8):
        assert gate.arrive(f"t{n}", f"10.0.0.{n % 3}") == []
    assert gate.pending == gate.unproved == 8


def test_a_source_over_its_share_loses_its_own_oldest_connection() -> None:
    gate = admission()
    assert gate.arrive("other", "10.0.0.9") == []
    for n in range(3):
        gate.arrive(f"flood{n}", "10.0.0.1")
    assert gate.arrive("flood3", "10.0.0.1") == ["flood0"]
    assert gate.arrive("flood4", "10.0.0.1") == ["flood1"]
    assert gate.holds("other") and gate.holds("flood4") and not gate.holds("flood0")


def test_when_all_slots_are_full_the_largest_source_gives_way() -> None:
    gate = admission()
    gate.arrive("lone", "10.0.0.9")  # the oldest of all
    for n in range(7):
        gate.arrive(f"f{n}", f"10.0.1.{n % 3}")  # sources holding 3, 2 and 2
    assert gate.arrive("new", "10.0.2.1") == ["f0"]  # the oldest of the source holding 3
    assert gate.holds("lone")


def test_of_equally_large_sources_the_one_waiting_longest_gives_way() -> None:
    gate = admission(AdmissionLimits(max_pending=4, max_per_source=4, max_proved_per_peer=1))
    for name, source in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B")]:
        gate.arrive(name, source)
    assert gate.arrive("c1", "C") == ["a1"]  # A and B hold 2 each; A's oldest came first
    assert gate.arrive("c2", "C") == ["b1"]  # now B holds 2, A, C 1


def test_a_lone_source_survives_a_flood_while_some_flooding_source_holds_two() -> None:
    """A validator dialing in holds one slot; 10,000 arrivals from 6 sources (fewer than the other
    seven slots, so one of them always holds two) never reach it."""
    gate = admission()
    gate.arrive("validator", "192.0.2.7")
    for n in range(10_000):
        gate.arrive(f"flood{n}", f"10.0.0.{n % 6}")
    assert gate.holds("validator")
    assert gate.unproved == LIMITS.max_pending


def test_a_flood_from_as_many_sources_as_slots_does_reach_an_unproved_lone_source() -> None:
    """The limit of the policy, as documented: with one slot per source, the oldest goes. (A
    validator proves itself with its first message, which the next test covers.)"""
    gate = admission()
    gate.arrive("validator", "192.0.2.7")
    evicted = [t for n in range(8) for t in gate.arrive(f"flood{n}", f"10.0.0.{n}")]
    assert evicted == ["validator"]


def test_a_newcomer_is_never_the_one_evicted() -> None:
    gate = admission(AdmissionLimits(max_pending=1, max_per_source=1, max_proved_per_peer=1))
    gate.arrive("first", "A")
    assert gate.arrive("second", "A") == ["first"]
    assert gate.arrive("third", "B") == ["second"]
    assert gate.holds("third")


# ---- proved connections --------------------------------------------------------------------


def test_a_proved_connection_is_never_evicted_by_unproved_ones() -> None:
    """While flooded, a validator that sent its signed hello completes its handshake."""
    gate = admission()
    gate.arrive("validator", "10.0.0.1")
    gate.arrive("flood-early", "10.0.0.1")
    assert gate.prove("validator", VALIDATOR) == []
    for n in range(1000):
        evicted = gate.arrive(f"flood{n}", "10.0.0.1")  # the validator's own source
        assert "validator" not in evicted
    assert gate.holds("validator")
    assert (gate.proved, gate.unproved) == (1, LIMITS.max_per_source)
    gate.leave("validator")  # its confirm arrived: the session starts
    assert not gate.holds("validator") and gate.proved == 0


def test_a_validator_dialing_again_supersedes_its_own_oldest_attempt() -> None:
    gate = admission()
    other = b"w" * 32
    for n, name in enumerate(["a1", "a2", "a3", "b1"]):
        gate.arrive(name, f"10.0.0.{n}")
    gate.prove("b1", other)
    assert gate.prove("a1", VALIDATOR) == []
    assert gate.prove("a2", VALIDATOR) == []
    assert gate.prove("a3", VALIDATOR) == ["a1"]
    assert gate.holds("a2") and gate.holds("a3") and gate.holds("b1")


def test_proving_a_connection_evicted_meanwhile_changes_nothing() -> None:
    gate = admission(AdmissionLimits(max_pending=1, max_per_source=1, max_proved_per_peer=1))
    gate.arrive("slow", "A")
    gate.arrive("fast", "A")  # evicts "slow"
    assert gate.prove("slow", VALIDATOR) == []
    assert not gate.holds("slow") and gate.proved == 0


def test_leave_is_idempotent_and_frees_the_slot() -> None:
    gate = admission()
    for n in range(3):
        gate.arrive(f"t{n}", "A")
    gate.leave("t0")
    gate.leave("t0")
    gate.leave("never-seen")
    assert gate.arrive("t3", "A") == []
    with pytest.raises(ValueError):
        gate.arrive("t3", "B")


def test_limits_must_be_positive_and_consistent() -> None:
    with pytest.raises(ValueError):
        AdmissionLimits(max_pending=0, max_per_source=1, max_proved_per_peer=1)
    with pytest.raises(ValueError):
        AdmissionLimits(max_pending=4, max_per_source=5, max_proved_per_peer=1)


_operation = st.tuples(
    st.sampled_from(["arrive", "prove", "leave"]),
    st.integers(0, 40),  # ticket
    st.integers(0, 5),  # source or peer
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_operation, max_size=200))
def test_the_bounds_hold_after_any_sequence_of_events(
    operations: list[tuple[str, int, int]],
) -> None:
    gate: Admission[int] = Admission(AdmissionLimits(6, 2, 2))
    sources: dict[int, str] = {}
    peers: dict[int, int] = {}
    for operation, ticket, which in operations:
        if operation == "arrive" and not gate.holds(ticket):
            evicted = gate.arrive(ticket, f"S{which}")
            assert ticket not in evicted and gate.holds(ticket)
            sources[ticket] = f"S{which}"
        elif operation == "prove":
            was_unproved = gate.holds(ticket) and ticket not in peers
            evicted = gate.prove(ticket, bytes([which]) * 32)
            assert ticket not in evicted
            if was_unproved:
                peers[ticket] = which
        else:
            gate.leave(ticket)
        for gone in [t for t in list(sources) + list(peers) if not gate.holds(t)]:
            sources.pop(gone, None)
            peers.pop(gone, None)
        unproved = [t for t in sources if t not in peers]
        assert gate.unproved == len(unproved) <= 6
        for source in {sources[t] for t in unproved}:
            assert sum(sources[t] == source for t in unproved) <= 2
        for peer in set(peers.values()):
            assert sum(p == peer for p in peers.values()) <= 2
        assert gate.proved == len(peers)


# ---- sources -------------------------------------------------------------------------------


def test_sources_are_addresses_and_ipv6_counts_per_64() -> None:
    assert source_of(("127.0.0.5", 4000)) == "127.0.0.5"
    assert source_of(("::ffff:10.1.2.3", 4000, 0, 0)) == "10.1.2.3"
    assert source_of(("2001:db8:1:2:aaaa::1", 1, 0, 0)) == "2001:db8:1:2::/64"
    assert source_of(("2001:db8:1:2:bbbb::9", 1, 0, 0)) == "2001:db8:1:2::/64"
    assert source_of(("fe80::1%eth0", 1, 0, 2)) == "fe80::/64"
    assert source_of(None) == "?"
    assert source_of("/tmp/socket") == "?"


# ---- the log throttle ----------------------------------------------------------------------


def test_the_first_event_is_logged_in_full_and_the_rest_summed_once_per_interval() -> None:
    throttle = LogThrottle(10.0)
    assert throttle.record(0.0, "TIMEOUT") is True
    assert throttle.report_at is None  # nothing to sum up yet
    full = [throttle.record(0.1 * n, "EVICTED" if n % 3 else "TIMEOUT") for n in range(1, 100)]
    assert not any(full)
    assert throttle.report_at == 10.0
    assert throttle.summary(10.0) == {"EVICTED": 66, "TIMEOUT": 33}
    # The flood goes on: still no full lines, one summary per interval.
    assert throttle.record(12.0, "TIMEOUT") is False
    assert throttle.report_at == 20.0
    assert throttle.summary(20.0) == {"TIMEOUT": 1}
    # An interval passes with nothing: the next event is news again.
    assert throttle.summary(30.0) is None
    assert throttle.record(45.0, "BAD_SIGNATURE") is True


def test_an_event_after_the_interval_but_before_the_summary_joins_it() -> None:
    throttle = LogThrottle(1.0)
    throttle.record(0.0, "A")
    throttle.record(0.5, "A")
    assert throttle.record(1.5, "B") is False  # the timer is late: still summed, not lost
    assert throttle.summary(1.6) == {"A": 1, "B": 1}


def test_flush_returns_what_waits_on_shutdown() -> None:
    throttle = LogThrottle(60.0)
    throttle.record(0.0, "A")
    assert throttle.flush() is None
    throttle.record(1.0, "A")
    throttle.record(2.0, "B")
    assert throttle.flush() == {"A": 1, "B": 1}
    assert throttle.flush() is None
    with pytest.raises(ValueError):
        LogThrottle(0)


def test_counts_are_described_largest_first() -> None:
    assert describe_counts({"TIMEOUT": 3, "EVICTED": 9, "CLOSED": 3}) == (
        "EVICTED: 9, CLOSED: 3, TIMEOUT: 3"
    )
    assert describe_counts({"X": 1234}) == "X: 1,234"
