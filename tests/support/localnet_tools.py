"""Small helpers for tests that drive a running localnet: keys from localnet.json, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wallet.localnet_keys import localnet_key as operator  # noqa: F401  (re-exported)


def wait_until(condition: Callable[[], Any], seconds: float = 60.0, what: str = "") -> Any:
    """Poll a condition of another process; the deadline is only a safety net."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {seconds} s: {what}"
        time.sleep(0.05)
