"""An independent RFC 9421 signer for the access tests: http-message-signatures, not our code.

The node's check (ledger/httpsig.py) and the SDK's signer share the signature base, so a test
signed only by the SDK could pass with both wrong in the same way. These helpers sign with a
different implementation of the RFC, over a `requests` prepared request.
"""

from __future__ import annotations

import datetime

import requests
import requests.auth
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


def sign(
    key: Ed25519Key, prepared: requests.PreparedRequest, created: datetime.datetime | None = None
) -> requests.PreparedRequest:
    """Add the signature headers DESIGN.md §9 asks for to `prepared`, by the library."""
    body = prepared.body or b""
    if not isinstance(body, (bytes, str)):
        raise TypeError("sign a request whose body is bytes or text, not a stream")
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_OneKey(key)).sign(
        prepared,
        key_id=key.public.hex(),
        created=created,
        covered_component_ids=COVERED,
        label="sig1",
        include_alg=True,
        body=body.encode() if isinstance(body, str) else body,
    )
    return prepared


class SignedBy(requests.auth.AuthBase):
    """`requests` auth that signs every request as `key` (for tools that send their own,
    e.g. schemathesis)."""

    def __init__(self, key: Ed25519Key) -> None:
        self.key = key

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        return sign(self.key, prepared)


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
    return sign(key, prepared, created)


def send(prepared: requests.PreparedRequest, timeout: float = 30.0) -> requests.Response:
    with requests.Session() as session:
        return session.send(prepared, timeout=timeout)
