"""Small helpers for tests that drive a running localnet: keys from localnet.json, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ledger.crypto import Ed25519Key


def operator(net: dict[str, Any], org: str) -> Ed25519Key:
    """`org`'s operator key from localnet.json."""
    entry = next(o for o in net["orgs"] if o["id"] == org)
    seed = next(k["seed"] for k in entry["keys"] if k["role"] == "operator")
    return Ed25519Key.from_seed(bytes.fromhex(seed))


def wait_until(condition: Callable[[], Any], seconds: float = 60.0, what: str = "") -> Any:
    """Poll a condition of another process; the deadline is only a safety net."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {seconds} s: {what}"
        time.sleep(0.05)
