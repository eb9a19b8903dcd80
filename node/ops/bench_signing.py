"""What signing API requests costs (DESIGN.md §9, issue 15): measured on this machine, once,
beside the load, so `tally bench` can say it without slowing the load it measures.

Each `POST /v1/txs` of the load carries one RFC 9421 signature over a `Content-Digest` of its
body: the client hashes and signs once per request, the node hashes and verifies once per
request, against the one Ed25519 verification per transaction inside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ledger.crypto import Ed25519Key
from ledger.httpsig import verify_request
from wallet.request_signing import RequestSigner

SAMPLES = 200
TARGET = "/v1/txs?wait=commit"


@dataclass(frozen=True, slots=True)
class SigningCost:
    """Microseconds per request: to sign it (client) and to check it (node)."""

    sign_us: float
    check_us: float


def request_signing_cost(body_bytes: int, samples: int = SAMPLES) -> SigningCost:
    """Sign and check `samples` requests with a body of `body_bytes` (a batch's size)."""
    signer = RequestSigner.of(Ed25519Key.generate())
    body = b"x" * body_bytes
    url = "http://127.0.0.1" + TARGET
    started = time.perf_counter()
    signed = [signer.headers("POST", url, body) for _ in range(samples)]
    signing = time.perf_counter() - started
    now = time.time()
    started = time.perf_counter()
    for headers in signed:
        verify_request("POST", TARGET, headers, body, now)
    checking = time.perf_counter() - started
    return SigningCost(
        sign_us=round(signing / samples * 1e6, 1), check_us=round(checking / samples * 1e6, 1)
    )
