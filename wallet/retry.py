"""When the SDK asks a node again (issue 17): bounded retries with backoff.

A request is retried when the node is busy (HTTP 503: BUSY, SYNCING), after the node's
`Retry-After` when it gives one, else after a pause that doubles from `base_pause`; and when no
answer came (NODE_UNREACHABLE: refused, reset, timed out). Only reads and tx submission are
retried: a read changes nothing, and a signed tx is identified by its body's hash, so a second
submission of it is answered DUPLICATE_TX, which `Client.commit` takes as "already there".
Any other refusal is final and raised at once. `attempts` bounds the tries (1: no retry).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from wallet.errors import NODE_UNREACHABLE, ApiError

T = TypeVar("T")
BUSY_STATUS = 503


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries, and the pauses between them (seconds)."""

    attempts: int = 3
    base_pause: float = 0.25
    max_pause: float = 10.0  # also the most of a node's Retry-After that is waited

    def pause(self, attempt: int, error: ApiError) -> float | None:
        """The pause before try `attempt + 1` after `error` (try `attempt` failed), or None
        when `error` is final or the tries are spent."""
        if attempt >= self.attempts:
            return None
        if error.status == BUSY_STATUS:
            told = error.retry_after
            backoff = self.base_pause * 2.0 ** (attempt - 1)
            return min(told if told is not None else backoff, self.max_pause)
        if error.code == NODE_UNREACHABLE:
            return min(self.base_pause * 2.0 ** (attempt - 1), self.max_pause)
        return None


NO_RETRY = RetryPolicy(attempts=1)


def retrying(
    policy: RetryPolicy, attempt_once: Callable[[], T], sleep: Callable[[float], None] | None = None
) -> T:
    """`attempt_once()`, tried again as `policy` says (pausing with `sleep`, default
    time.sleep); the last error when all tries fail."""
    attempt = 1
    while True:
        try:
            return attempt_once()
        except ApiError as error:
            pause = policy.pause(attempt, error)
            if pause is None:
                raise
        (sleep or time.sleep)(pause)
        attempt += 1


async def retrying_async(
    policy: RetryPolicy,
    attempt_once: Callable[[], Awaitable[T]],
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> T:
    """`retrying` for the asyncio client: `await attempt_once()`, tried again as `policy`
    says, pausing with `sleep` (default asyncio.sleep)."""
    attempt = 1
    while True:
        try:
            return await attempt_once()
        except ApiError as error:
            pause = policy.pause(attempt, error)
            if pause is None:
                raise
        await (sleep or asyncio.sleep)(pause)
        attempt += 1


def retry_after_seconds(header: str | None) -> float | None:
    """A `Retry-After` header's delay in seconds (the delay-seconds form; dates are ignored)."""
    if header is None:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
