"""Who may talk to the API at all: the RFC 9421 signature check of `api.access = "members"`.

DESIGN.md §9: in `members` mode every request but the probes carries a signature by an Ed25519
key the registry holds for some organization (any role). This middleware checks it
(ledger/httpsig.py), looks the key up in the committed state and stores the `Caller` that the
read policy (node/api/access_check.py) then consults. The lookup is made per request, so a key
that governance or its organization removed fails from the next block on. `open` mode (for
development, and stated in /v1/status) skips all of it: there is no caller and every read is
the first release's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from contracts.registry import KEY_PREFIX, org_key
from ledger.chain import ChainStore
from ledger.httpsig import UNAUTHENTICATED, SignatureRefused, accept_signature, verify_request
from node.api.caller import CALLER_KEY, Caller
from node.api.context import NODE, STORE
from node.api.params import read_body
from node.api.responses import HttpError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AccessMode = Literal["members", "open"]
ACCESS_MODES: tuple[AccessMode, ...] = ("members", "open")

# Liveness and scraping; a config may close them too (`api.open_probes = false`).
PROBES = frozenset({"/healthz", "/metrics"})


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """`[api] access` and `open_probes` of the node config."""

    mode: AccessMode = "members"
    open_probes: bool = True

    def needs_signature(self, request: web.Request) -> bool:
        if self.mode == "open":
            return False
        return not (self.open_probes and request.method == "GET" and request.path in PROBES)


MEMBERS_ACCESS = ApiAccess()
OPEN_ACCESS = ApiAccess(mode="open")
ACCESS: web.AppKey[ApiAccess] = web.AppKey("access", ApiAccess)


def _unauthenticated(code: str, message: str) -> HttpError:
    return HttpError(401, code, message, {"Accept-Signature": accept_signature()})


def caller_of_key(chain: ChainStore, public: bytes) -> Caller | None:
    """The organization the registry holds `public` for, as a `Caller` (None: no such key)."""
    entry = chain.state(KEY_PREFIX + public.hex())
    if entry is None:
        return None
    record = chain.state(org_key(str(entry["org"])))
    if record is None:
        return None
    return Caller(
        org=str(entry["org"]), kind=str(record["kind"]), key=public.hex(), role=str(entry["role"])
    )


@web.middleware
async def signature_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the request is signed by a registered key; else the `Caller` is stored."""
    if not request.app[ACCESS].needs_signature(request):
        return await handler(request)
    body = await read_body(request)  # bounded by client_max_size (413) and body_timeout_s (408)
    try:
        signed = verify_request(
            request.method, request.raw_path, request.headers, body, time.time()
        )
    except SignatureRefused as refusal:
        raise _unauthenticated(refusal.code, refusal.message) from None
    caller = caller_of_key(request.app[STORE], signed.public)
    if caller is None:
        if request.app[NODE].snapshot() is not None:  # a registry only partly restored
            raise HttpError(
                503,
                "SYNCING",
                "this node cannot check keys until its snapshot sync ends; ask another node",
                {"Retry-After": "5"},
            )
        raise _unauthenticated(
            UNAUTHENTICATED, f"key {signed.public.hex()[:16]}… is registered to no organization"
        )
    request[CALLER_KEY] = caller
    return await handler(request)
