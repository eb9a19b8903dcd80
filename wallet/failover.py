"""A client of several nodes of one consortium: when the node in use gives no answer, the next
one is asked, and the caller is told (issue 17).

Any validator serves the same reads once it has the block, and accepts the same writes, so a
client that knows the whole list need not fail while a quorum is up. Writes stay safe to resend:
a signed transaction is identified by the hash of its body (which carries a fresh nonce), and a
node that already holds that very transaction, pending or committed, answers `DUPLICATE_TX`;
`Client.commit` then waits for its receipt instead of reporting a refusal. Only a missing answer
(`NODE_UNREACHABLE`: refused, reset, timed out) moves on; a node's coded refusal is final,
401 included: a node that refuses the caller's signature is up, and so are the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ledger.errors import TallyError
from ledger.genesis import Genesis
from wallet.client import Client
from wallet.errors import NODE_UNREACHABLE, ApiError
from wallet.request_signing import RequestSigner

Notice = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class FailoverClient(Client):
    """A `Client` over `urls`, in order: the first that answers serves, and stays in use until it
    stops answering. `on_switch` hears one line each time another node is tried."""

    def __init__(
        self,
        urls: Sequence[str],
        timeout: float = 30.0,
        *,
        genesis: Genesis | None = None,
        on_switch: Notice = _quiet,
        request_signer: RequestSigner | None = None,
    ) -> None:
        """`request_signer` signs every request to whichever node is in use (DESIGN.md §9)."""
        if not urls:
            raise TallyError("NO_NODE", "no node to talk to")
        self.urls = tuple(url.rstrip("/") for url in urls)
        super().__init__(self.urls[0], timeout, genesis=genesis, request_signer=request_signer)
        self.on_switch = on_switch

    def _exchange(
        self, method: str, path: str, body: Any = None, accept: str = "application/json"
    ) -> bytes:
        """One request to the node in use; on no answer, the same request to the next node,
        round the list once from the node in use."""
        first = self.urls.index(self.url)
        missed: list[str] = []
        for step in range(len(self.urls)):
            url = self.urls[(first + step) % len(self.urls)]
            if url != self.url:
                self.on_switch(f"{self.url} gives no answer; trying {url}")
                self.url = url
            try:
                return super()._exchange(method, path, body, accept)
            except ApiError as error:
                if error.code != NODE_UNREACHABLE:
                    raise
                missed.append(error.message)
        if len(self.urls) == 1:
            raise ApiError(NODE_UNREACHABLE, missed[0])
        raise ApiError(
            NODE_UNREACHABLE, f"none of the {len(self.urls)} nodes answers: " + "; ".join(missed)
        )
