"""asyncio's "socket.accept() out of system resource" errors: counted, and logged once per interval.

At the file-descriptor limit every `accept()` fails with EMFILE. asyncio reports each failure to
the loop's exception handler, which by default logs it with a traceback — and on Python 3.11 it
goes on trying the rest of its accept batch (up to 100 a tick) and schedules a retry for each,
so one listener at the limit logged 134,000 errors in a minute (issue 11). Those errors are the
symptom, not the fault: nothing is wrong with the node but its limit, and the connections it has
go on. So this handler, installed in front of the loop's own, counts them per listening address
and logs them through a `ThrottledLog`; every other context goes to the previous handler.

One instance per event loop, shared by whatever listens on it (several `Network`s in a test, the
HTTP server of a node too) and removed when its last user releases it.
"""

from __future__ import annotations

import asyncio
import asyncio.constants as asyncio_constants
import errno
import logging
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from network.throttle import ThrottledLog

log = logging.getLogger("tally.network")

ACCEPT_ERROR_MESSAGE = "socket.accept() out of system resource"
# After such an error asyncio stops reading the listener and re-arms it this much later.
RETRY_DELAY = float(getattr(asyncio_constants, "ACCEPT_RETRY_DELAY", 1.0))
_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AcceptErrors] = (
    weakref.WeakKeyDictionary()
)


def listening_address(sock: Any) -> str:
    """The "host:port" of a listening socket: the key of the accept-error counts."""
    try:
        name = sock.getsockname()
    except (OSError, AttributeError):
        return "?"
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)


class AcceptErrors:
    """The loop's exception handler while installed: counts and throttles accept errors."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self.loop = loop
        self.counts: Counter[str] = Counter()  # failed accept() calls, by listening address
        self.last_error: dict[str, float] = {}  # loop time of the latest, by listening address
        self._previous = loop.get_exception_handler()
        self._log = ThrottledLog(
            log,
            logging.ERROR,
            interval,
            "listeners",
            "accept() calls failed for lack of resources",
            lambda: f"; {sum(self.counts.values()):,} in all",
        )
        self._listeners: list[Callable[[], None]] = []

    @staticmethod
    def acquire(interval: float, on_error: Callable[[], None]) -> AcceptErrors:
        """The running loop's instance, installed on first use; `on_error()` is called after
        each accept error is counted. Pair with `release(on_error)`."""
        loop = asyncio.get_running_loop()
        errors = _BY_LOOP.get(loop)
        if errors is None:
            errors = _BY_LOOP[loop] = AcceptErrors(loop, interval)
            loop.set_exception_handler(errors.handle)
        errors._listeners.append(on_error)
        return errors

    def release(self, on_error: Callable[[], None]) -> None:
        """One user is done; the last one puts the previous handler back."""
        self._listeners.remove(on_error)
        if self._listeners:
            return
        self._log.close()
        if _BY_LOOP.get(self.loop) is self:
            del _BY_LOOP[self.loop]
        if self.loop.get_exception_handler() == self.handle:  # not replaced by someone since
            self.loop.set_exception_handler(self._previous)

    def count_for(self, addresses: set[str]) -> int:
        return sum(self.counts[address] for address in addresses)

    def retries_done_at(self, addresses: set[str]) -> float:
        """Loop time by which asyncio has re-armed these listeners after their latest error.

        A listener closed before that makes asyncio's retry fail on the closed socket (an
        "Exception in callback" traceback at shutdown), so `Network.close` waits for it.
        """
        errors = [self.last_error[address] for address in addresses if address in self.last_error]
        return max(errors) + RETRY_DELAY + 0.05 if errors else 0.0

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_ERROR_MESSAGE:
            if self._previous is not None:
                self._previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        address = listening_address(context.get("socket"))
        self.counts[address] += 1
        self.last_error[address] = loop.time()
        exc = context.get("exception")
        number = getattr(exc, "errno", None)
        code = errno.errorcode.get(number, "OSError") if isinstance(number, int) else "OSError"
        self._log.event(
            code,
            "accept() on %s failed: %s (%s); the node keeps serving the connections it has and "
            "retries in a second",
            address,
            code,
            exc,
        )
        for listener in list(self._listeners):
            listener()
