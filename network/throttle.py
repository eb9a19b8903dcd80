"""One log line per interval for events a stranger can cause at will.

A flood of silent sockets fails thousands of handshakes a second, and a process at its file
limit fails `accept()` as often; logging each one fills the disk and buries everything else
(issue 11 saw 64 MB of log in a minute). So the first event after a quiet interval is logged in
full — one stranger knocking, or a misconfigured validator, stays easy to diagnose — and while
more keep coming, the caller writes one summary line per interval with the counts by code.

`LogThrottle` is the pure rule (the caller passes the time); `ThrottledLog` runs it on the
event loop, with the timer that writes the summary when the interval ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable


class LogThrottle:
    """Decides which events of one kind are logged in full, and sums up the rest."""

    __slots__ = ("_suppressed", "_window_end", "interval")

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self._window_end: float | None = None
        self._suppressed: Counter[str] = Counter()

    @property
    def report_at(self) -> float | None:
        """When the caller should call `summary`: the end of the interval, if events wait."""
        return self._window_end if self._suppressed else None

    def record(self, now: float, code: str) -> bool:
        """Count one event; True if it should be logged in full, False if it joins the summary."""
        quiet = self._window_end is None or now >= self._window_end
        if quiet and not self._suppressed:
            self._window_end = now + self.interval
            return True
        self._suppressed[code] += 1
        return False

    def summary(self, now: float) -> dict[str, int] | None:
        """The counts to report (call it at `report_at`), or None if none waits.

        Reporting opens a new interval: events keep being summed, one line per interval, until
        an interval passes with none.
        """
        if not self._suppressed:
            return None
        counts = dict(self._suppressed)
        self._suppressed.clear()
        self._window_end = now + self.interval
        return counts

    def flush(self) -> dict[str, int] | None:
        """Whatever waits, at once (on shutdown), so no count is lost."""
        if not self._suppressed:
            return None
        counts = dict(self._suppressed)
        self._suppressed.clear()
        return counts


def describe_counts(counts: dict[str, int]) -> str:
    """`{"TIMEOUT": 3, "EVICTED": 9}` as "EVICTED: 9, TIMEOUT: 3": the largest first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{code}: {count:,}" for code, count in ordered)


class ThrottledLog:
    """Log lines for one kind of event, throttled by a `LogThrottle` on the running loop.

    `event(code, message, *args)` logs the message in full or counts it; the summary line
    reads "<prefix>: <n> more <what> in the last <s> s (<counts>)<status()>", where <s> is the
    time since the previous line (about one interval, less for the last one at shutdown).
    """

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval: float,
        prefix: str,
        what: str,
        status: Callable[[], str] = lambda: "",
    ) -> None:
        self._logger = logger
        self._level = level
        self._throttle = LogThrottle(interval)
        self._prefix = prefix
        self._what = what
        self._status = status
        self._timer: asyncio.TimerHandle | None = None
        self._last_line = 0.0  # loop time of the previous line

    def event(self, code: str, message: str, *args: object) -> None:
        loop = asyncio.get_running_loop()
        if self._throttle.record(loop.time(), code):
            self._last_line = loop.time()
            self._logger.log(
                self._level,
                "%s: " + message + "; more of these are summed up every %g s",
                self._prefix,
                *args,
                self._throttle.interval,
            )
            return
        if self._timer is None and (when := self._throttle.report_at) is not None:
            self._timer = loop.call_at(when, self._report, loop)

    def close(self) -> None:
        """Cancel the timer and write what is still counted (on shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._write(self._throttle.flush(), asyncio.get_running_loop().time())

    def _report(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._write(self._throttle.summary(loop.time()), loop.time())

    def _write(self, counts: dict[str, int] | None, now: float) -> None:
        if not counts:
            return
        self._logger.log(
            self._level,
            "%s: %s more %s in the last %.0f s (%s)%s",
            self._prefix,
            f"{sum(counts.values()):,}",
            self._what,
            now - self._last_line,
            describe_counts(counts),
            self._status(),
        )
        self._last_line = now
