"""The signatures a replica makes and checks, behind one small interface.

The replica never touches keys itself: it is handed a `ReplicaCrypto`. The node uses
`ValidatorCrypto` (Ed25519 via pynacl, BLS via ledger.crypto's backend); the simulator swaps in
a fast fake for most seeds and keeps this real one for a few.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.crypto import BlsKey, Ed25519Key, bls, ed25519_verify
from ledger.genesis import Genesis


class ReplicaCrypto(Protocol):
    """Signing with this validator's keys and checking any validator's signatures."""

    def sign_message(self, digest: bytes) -> bytes:
        """Ed25519-sign an envelope digest with this validator's key."""
        ...

    def verify_message(self, signer: int, digest: bytes, signature: bytes) -> bool:
        """True when `signature` is validator `signer`'s Ed25519 signature of `digest`."""
        ...

    def bls_sign(self, message: bytes) -> bytes:
        """BLS-sign `message` (a commit digest) with this validator's key."""
        ...

    def bls_verify(self, signer: int, message: bytes, signature: bytes) -> bool: ...

    def bls_aggregate(self, signatures: Sequence[bytes]) -> bytes: ...

    def bls_verify_aggregate(
        self, signers: Sequence[int], message: bytes, signature: bytes
    ) -> bool:
        """True when `signature` aggregates the signers' BLS signatures of one `message`."""
        ...


class ValidatorCrypto:
    """The real thing: this validator's keys and every validator's public keys from genesis."""

    def __init__(
        self,
        ed25519_key: Ed25519Key,
        bls_key: BlsKey,
        ed25519_publics: Sequence[bytes],
        bls_publics: Sequence[bytes],
    ) -> None:
        self._ed25519_key = ed25519_key
        self._bls_key = bls_key
        self._ed25519_publics = tuple(ed25519_publics)
        self._bls_publics = tuple(bls_publics)

    @staticmethod
    def from_genesis(genesis: Genesis, ed25519_key: Ed25519Key, bls_key: BlsKey) -> ValidatorCrypto:
        return ValidatorCrypto(
            ed25519_key,
            bls_key,
            [v.ed25519 for v in genesis.validators],
            [v.bls for v in genesis.validators],
        )

    def sign_message(self, digest: bytes) -> bytes:
        return self._ed25519_key.sign(digest)

    def verify_message(self, signer: int, digest: bytes, signature: bytes) -> bool:
        if not 0 <= signer < len(self._ed25519_publics):
            return False
        return ed25519_verify(self._ed25519_publics[signer], digest, signature)

    def bls_sign(self, message: bytes) -> bytes:
        return self._bls_key.sign(message)

    def bls_verify(self, signer: int, message: bytes, signature: bytes) -> bool:
        if not 0 <= signer < len(self._bls_publics):
            return False
        return bls.verify(self._bls_publics[signer], message, signature)

    def bls_aggregate(self, signatures: Sequence[bytes]) -> bytes:
        return bls.aggregate(signatures)

    def bls_verify_aggregate(
        self, signers: Sequence[int], message: bytes, signature: bytes
    ) -> bool:
        if not signers or any(not 0 <= s < len(self._bls_publics) for s in signers):
            return False
        publics = [self._bls_publics[s] for s in signers]
        return bls.fast_aggregate_verify(publics, message, signature)
