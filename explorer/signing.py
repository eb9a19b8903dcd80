"""The explorer signed in as one organization: every request it makes carries that
organization's RFC 9421 signature (DESIGN.md §9, `api.access = "members"`).

The SDK's sync `Client` takes a `RequestSigner`; its asyncio client does not, so the explorer
gives its aiohttp session a client middleware that signs each request over the exact target
and body aiohttp sends: page reads, raw blocks, the live stream and the index's follower all go
through it. Whom the explorer reads as, said on every page, is explorer/sign_in.py's.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.client_middlewares import ClientHandlerType

from wallet.async_client import AsyncClient
from wallet.request_signing import RequestSigner


def signing_middleware(signer: RequestSigner) -> Any:
    """An aiohttp client middleware that adds `signer`'s signature headers to each request."""

    async def sign(
        request: aiohttp.ClientRequest, handler: ClientHandlerType
    ) -> aiohttp.ClientResponse:
        body = await request.body.as_bytes() if request.body else b""
        target = f"{request.url.origin()}{request.url.raw_path_qs}"
        request.headers.update(signer.headers(request.method, target, body))
        return await handler(request)

    return sign


class SignedAsyncClient(AsyncClient):
    """The SDK's asyncio client whose session signs every request as `request_signer`
    (none: an unsigned client of an open API)."""

    def __init__(
        self, url: str, request_signer: RequestSigner | None = None, **options: Any
    ) -> None:
        """`options`: the SDK client's (`timeout`, `genesis`, ...)."""
        super().__init__(url, **options)
        self.request_signer = request_signer

    def _client_session(self) -> aiohttp.ClientSession:
        if self._session is None:  # made lazily: a session belongs to a running loop
            signer = self.request_signer
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"Accept": "application/json"},
                middlewares=() if signer is None else (signing_middleware(signer),),
            )
            self._owns_session = True
        return self._session
