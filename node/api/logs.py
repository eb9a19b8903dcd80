"""Log lines for events a stranger can cause at will, at most one per interval.

A flood of malformed requests logged a traceback each, and a process at its file limit logged
"socket.accept() out of system resource" 134,000 times in a minute (asyncio logs it once per
connection it could not accept, up to the backlog, every retry): 64 MB of log that buried
everything else (issue 11, finding 8). `LogEvery` writes the first event in full and then one
line per interval, carrying how many more came meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

ACCEPT_FAILED = "socket.accept() out of system resource"


class LogEvery:
    """The first event, then at most one line per `interval` seconds, with the count skipped."""

    __slots__ = ("_logger", "_next_at", "interval", "skipped", "total")

    def __init__(self, logger: logging.Logger, interval: float) -> None:
        self._logger = logger
        self.interval = interval
        self._next_at = float("-inf")
        self.skipped = 0
        self.total = 0

    def event(self, now: float, message: str, *args: Any) -> bool:
        """Count one event; log it if the interval has passed. True if it was logged."""
        self.total += 1
        if now < self._next_at:
            self.skipped += 1
            return False
        if self.skipped:
            message += f" ({self.skipped:,} more like it since the last such line)"
        self._logger.warning(message, *args)
        self.skipped = 0
        self._next_at = now + self.interval
        return True


def throttle_accept_errors(loop: asyncio.AbstractEventLoop, interval: float = 10.0) -> LogEvery:
    """Route asyncio's accept-failure reports on `loop` through a `LogEvery` (no traceback:
    the cause is the file limit, named in the line); every other report goes on as before."""
    previous = loop.get_exception_handler()
    limiter = LogEvery(logging.getLogger("node.accept"), interval)

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_FAILED:
            error = context.get("exception")
            limiter.event(
                loop.time(),
                "cannot accept connections: %s (the listener retries each second)",
                error,
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    return limiter
