"""Small helpers for tests that drive a running localnet: keys from localnet.json, polling,
reading a node's chain and balances."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wallet.client import ApiError, Client
from wallet.localnet_keys import localnet_key as operator
from wallet.txbuilder import build_tx

# The development consortium's enterprises: the senders of the load tests' transfers.
SENDERS = ["acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts"]


def status(api: str) -> dict[str, Any] | None:
    """The node's /v1/status, or None while it is down or not answering."""
    try:
        return Client(api, timeout=5).status()
    except ApiError:
        return None


def height(api: str) -> int:
    """The node's height, -1 while it does not answer."""
    answer = status(api)
    return -1 if answer is None else int(answer["height"])


def fund_senders(net: dict[str, Any], api: str, amount: int = 10**12) -> None:
    """Bank A issues `amount` CNY to each of SENDERS, committed before it returns."""
    bank = operator(net, "bank-a")
    args = [{"currency": "CNY", "to": org, "amount": amount} for org in SENDERS]
    issue = [build_tx(bank, net["chain"], "cash", "issue", a, 900) for a in args]
    results = Client(api, timeout=60).submit(issue, wait=True)
    assert all(r["receipt"]["status"] == "ok" for r in results), results[:2]


def wait_until(condition: Callable[[], Any], seconds: float = 60.0, what: str = "") -> Any:
    """Poll a condition of another process; the deadline is only a safety net."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached in {seconds} s: {what}"
        time.sleep(0.05)


def block_hashes(api: str, top: int) -> list[str]:
    """The hashes of blocks 1..top as the node at `api` lists them (fewer if it has fewer)."""
    client = Client(api, timeout=30)
    found: list[str] = []
    while len(found) < top:
        blocks = client.blocks(len(found) + 1, 100)
        if not blocks:
            break
        found.extend(block["hash"] for block in blocks if block["height"] <= top)
    return found


def balances_by_currency(api: str) -> dict[str, int]:
    """Each currency's balances summed over every organization the node lists."""
    client = Client(api, timeout=30)
    totals: dict[str, int] = {}
    after = ""
    while True:
        page = client.get(f"/v1/orgs?after={after}&limit=500")
        for org in page["orgs"]:
            for code, amount in org["balances"].items():
                totals[code] = totals.get(code, 0) + int(amount)
        if page["next"] is None:
            return totals
        after = page["next"]
