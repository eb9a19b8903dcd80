"""Who signed a request: the one fact the access check hands to the read policy.

The signature check (RFC 9421, DESIGN.md §9) runs as middleware and stores a `Caller` on the
request; the read policy and the handlers read it through `caller_of`. `None` means the node's
API is `open` (development only): every caller reads everything, as in the first release.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True, slots=True)
class Caller:
    """The organization behind a verified request signature, as the ledger knew it then."""

    org: str  # organization id, e.g. "acme-steel"
    kind: str  # its kind: "bank" | "enterprise" | "auditor" | "regulator"
    key: str  # the signing Ed25519 public key (hex)
    role: str  # that key's role: "admin" | "operator" | "viewer"


CALLER_KEY: web.RequestKey[Caller] = web.RequestKey("caller", Caller)


def caller_of(request: web.Request) -> Caller | None:
    """The verified caller of `request`, or None while the API is open."""
    return request.get(CALLER_KEY)
