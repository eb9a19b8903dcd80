"""Small helpers for tests that drive a running localnet: keys from localnet.json, polling,
reading a node's chain and balances, and signed clients of its nodes.

Localnets run `members` (DESIGN.md §9): every request is signed. `remember(net)` (the
integration fixtures call it for each localnet they start) notes who reads each of its API URLs
(its auditor), so `signed_client(api)` signs without the test handing the localnet around."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ledger.genesis import Genesis
from node.ops.localnet_access import localnet_client, localnet_reader
from wallet.client import ApiError, Client
from wallet.localnet_keys import localnet_key as operator
from wallet.request_signing import RequestSigner, signed_headers
from wallet.txbuilder import build_tx

# The development consortium's enterprises: the senders of the load tests' transfers.
SENDERS = ["acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts"]

_READERS: dict[str, RequestSigner | None] = {}  # API URL -> the auditor of the localnet there


def remember(net: dict[str, Any]) -> dict[str, Any]:
    """Note `net`'s auditor as the reader of each of its nodes' API URLs; `net` as it is."""
    reader = localnet_reader(net)
    for entry in net["nodes"]:
        _READERS[entry["api"].rstrip("/")] = reader
    return net


def reader_of(api: str) -> RequestSigner | None:
    """The signer of reads from `api` (None for a node of no remembered localnet)."""
    return _READERS.get(api.rstrip("/"))


def signed_client(api: str, timeout: float = 30.0, *, genesis: Genesis | None = None) -> Client:
    """A `Client` of `api` signing as its localnet's auditor."""
    return Client(api, timeout, genesis=genesis, request_signer=reader_of(api))


def sign_request(url: str, method: str = "GET", body: bytes = b"") -> dict[str, str]:
    """The signature headers of a hand-made request to `url`, as its localnet's auditor."""
    parts = urlsplit(url)
    return signed_headers(reader_of(f"{parts.scheme}://{parts.netloc}"), method, url, body)


def org_client(net: dict[str, Any], org: str, api: str | None = None) -> Client:
    """A `Client` of `api` (default: the first node) signing as `org`'s operator key."""
    return localnet_client(net, api, org=org)


def status(api: str) -> dict[str, Any] | None:
    """The node's /v1/status, or None while it is down or not answering."""
    try:
        return signed_client(api, timeout=5).status()
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
    results = signed_client(api, timeout=60).submit(issue, wait=True)
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
    reader = signed_client(api, timeout=30)
    found: list[str] = []
    while len(found) < top:
        blocks = reader.blocks(len(found) + 1, 100)
        if not blocks:
            break
        found.extend(block["hash"] for block in blocks if block["height"] <= top)
    return found


def balances_by_currency(api: str) -> dict[str, int]:
    """Each currency's balances summed over every organization the node lists."""
    reader = signed_client(api, timeout=30)
    totals: dict[str, int] = {}
    after = ""
    while True:
        page = reader.get(f"/v1/orgs?after={after}&limit=500")
        for org in page["orgs"]:
            for code, amount in org["balances"].items():
                totals[code] = totals.get(code, 0) + int(amount)
        if page["next"] is None:
            return totals
        after = page["next"]
