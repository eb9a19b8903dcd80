"""Building and signing transactions (DESIGN.md §5) for any contract call."""

from __future__ import annotations

import secrets
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.types import SignedTx, TxBody

DEFAULT_VALIDITY = 500


def build_tx(
    key: Ed25519Key,
    chain: str,
    contract: str,
    method: str,
    args: dict[str, Any],
    valid_until: int,
) -> SignedTx:
    """A signed call; the nonce is drawn fresh here so equal calls stay distinct."""
    body = TxBody(
        chain=chain,
        sender=key.public,
        contract=contract,
        method=method,
        args=args,
        nonce=secrets.randbits(64),
        valid_until=valid_until,
    )
    return SignedTx.create(body, key)
