"""Building and signing transactions (DESIGN.md §5) for any contract call.

Building and signing are separate steps so they can happen on different machines (offline
signing, wallet/offline_tx.py): `unsigned_body` needs the chain and a height, `sign_body` needs
only the body and a `Signer` (wallet/signer.py).
"""

from __future__ import annotations

import secrets
from typing import Any

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.types import SignedTx, TxBody, tx_id, tx_signing_digest
from wallet.signer import Signer, as_signer

DEFAULT_VALIDITY = 500


def unsigned_body(
    sender: bytes, chain: str, contract: str, method: str, args: dict[str, Any], valid_until: int
) -> TxBody:
    """A call not yet signed; the nonce is drawn fresh here so equal calls stay distinct."""
    return TxBody(
        chain=chain,
        sender=sender,
        contract=contract,
        method=method,
        args=args,
        nonce=secrets.randbits(64),
        valid_until=valid_until,
    )


def sign_body(body: TxBody, signer: Signer | Ed25519Key) -> SignedTx:
    """`body` signed by `signer`, whose key must be the body's sender; the signature is checked
    here (BAD_SIGNATURE) so a signing device's fault is never sent to a node."""
    signing = as_signer(signer)
    if bytes(signing.public_key) != body.sender:
        raise TallyError(
            "WRONG_SIGNER",
            f"the tx is from {body.sender.hex()} but the signer's key is "
            f"{bytes(signing.public_key).hex()}",
        )
    body_bytes = body.encode()
    body_id = tx_id(body_bytes)
    signed = SignedTx(body_bytes, signing.sign(tx_signing_digest(body_id)), body, body_id)
    if len(signed.sig) != 64 or not signed.signature_valid():
        raise TallyError("BAD_SIGNATURE", "the signer returned a signature that does not verify")
    return signed


def build_tx(
    key: Signer | Ed25519Key,
    chain: str,
    contract: str,
    method: str,
    args: dict[str, Any],
    valid_until: int,
) -> SignedTx:
    """A signed call by `key` (a key or any `Signer`)."""
    signer = as_signer(key)
    body = unsigned_body(bytes(signer.public_key), chain, contract, method, args, valid_until)
    return sign_body(body, signer)
