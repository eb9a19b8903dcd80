"""Who a localnet's own tools sign their API requests as (DESIGN.md §9: localnets run
`members`, so every request but /healthz and /metrics is signed by an organization's key).

Reads (readiness, `tally localnet status`, the load generator's checks) are the auditor's, which
the read policy lets read everything; a tool that signs a transaction signs its requests with
the same key. The seeds come from localnet.json, as every development key does.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import TallyError
from wallet.client import Client
from wallet.localnet_keys import localnet_auditor, localnet_key
from wallet.request_signing import RequestSigner


def localnet_reader(info: dict[str, Any]) -> RequestSigner | None:
    """The localnet's auditor as a request signer; None for a localnet.json that lists none
    (one laid out by hand: its nodes must run `open` for unsigned tools)."""
    try:
        return RequestSigner.of_localnet(info, localnet_auditor(info))
    except TallyError:
        return None


def localnet_client(
    info: dict[str, Any],
    url: str | None = None,
    *,
    org: str | None = None,
    role: str = "operator",
    timeout: float = 30.0,
) -> Client:
    """A client of `url` (default: the first node) signing as `org`'s `role` key, or, with no
    `org`, as the auditor."""
    signer = (
        localnet_reader(info) if org is None else RequestSigner.of(localnet_key(info, org, role))
    )
    return Client(url or info["nodes"][0]["api"], timeout, request_signer=signer)
