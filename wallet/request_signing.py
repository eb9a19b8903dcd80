"""Signing API requests as an organization (DESIGN.md §9): the SDK's half of `api.access`.

A `RequestSigner` wraps any `Signer` (wallet/signer.py): a keystore key in this process, or a
callable in front of an HSM. The clients call `headers` once per request, over the exact bytes
and request target they send, so the node's check (ledger/httpsig.py) sees what was signed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ledger.crypto import Ed25519Key
from ledger.httpsig import sign_headers
from wallet.signer import Signer, as_signer


@dataclass(frozen=True, slots=True)
class RequestSigner:
    """Signs requests as the organization that holds `signer`'s key."""

    signer: Signer
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @staticmethod
    def of(signer: Signer | Ed25519Key) -> RequestSigner:
        return RequestSigner(as_signer(signer))

    @staticmethod
    def of_keystore(path: str | Path, passphrase: str) -> RequestSigner:
        from wallet.keystore import load_keystore

        return RequestSigner.of(load_keystore(path, passphrase))

    @staticmethod
    def of_localnet(net: dict[str, Any], org: str, role: str = "operator") -> RequestSigner:
        """A development network's organization, from the seeds its localnet.json keeps."""
        from wallet.localnet_keys import localnet_key

        return RequestSigner.of(localnet_key(net, org, role))

    @property
    def public_key(self) -> bytes:
        return self.signer.public_key

    def headers(self, method: str, url: str, body: bytes = b"") -> dict[str, str]:
        """`Content-Digest`, `Signature-Input` and `Signature` for one request to `url`."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return sign_headers(
            self.signer.public_key, self.signer.sign, method, target, body, int(self.clock())
        )


def signed_headers(
    signer: RequestSigner | None, method: str, url: str, body: bytes = b""
) -> dict[str, str]:
    """The signing headers of a request, or none for a client of an open API."""
    return {} if signer is None else signer.headers(method, url, body)
