"""An independent RFC 9421 signer for the access tests: http-message-signatures, not our code.

The node's check (ledger/httpsig.py) and the SDK's signer share the signature base, so a test
signed only by the SDK could pass with both wrong in the same way. These helpers sign with a
different implementation of the RFC, over a `requests` prepared request.
"""

from __future__ import annotations

import datetime

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from ledger.crypto import Ed25519Key

COVERED = ("@method", "@path", "@query", "content-digest")


class _OneKey(HTTPSignatureKeyResolver):
    def __init__(self, key: Ed25519Key) -> None:
        self._private = Ed25519PrivateKey.from_private_bytes(key.seed)

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        return self._private

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey:
        return self._private.public_key()


def signed_request(
    key: Ed25519Key,
    method: str,
    url: str,
    body: bytes | None = None,
    created: datetime.datetime | None = None,
) -> requests.PreparedRequest:
    """`method url` with `body`, signed by `key` as DESIGN.md §9 asks, by the library."""
    prepared = requests.Request(method, url, data=body or b"").prepare()
    prepared.headers["Content-Type"] = "application/json"
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(key)).sign(
        prepared,
        key_id=key.public.hex(),
        created=created,
        covered_component_ids=COVERED,
        label="sig1",
        include_alg=True,
        body=body or b"",
    )
    return prepared


def send(prepared: requests.PreparedRequest, timeout: float = 30.0) -> requests.Response:
    with requests.Session() as session:
        return session.send(prepared, timeout=timeout)
