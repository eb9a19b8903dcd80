"""Fast stand-ins for Ed25519 and BLS with the same interface, for most simulation seeds.

Signatures are hashes keyed by the signer's public key: unforgeable within the simulation
(no simulated node computes another's), and checked exactly like the real ones, so a wrong
signer, message or aggregate fails. The aggregate is the XOR of the members' signatures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def fake_ed25519_public(index: int) -> bytes:
    return hashlib.sha256(b"fake-ed25519/" + str(index).encode()).digest()


def fake_bls_public(index: int) -> bytes:
    return hashlib.sha256(b"fake-bls/" + str(index).encode()).digest() + bytes(16)


def _bls_sig(public: bytes, message: bytes) -> bytes:
    return hashlib.sha256(b"fake-bls-sig" + public + message).digest() * 3


def _xor(signatures: Sequence[bytes]) -> bytes:
    total = 0
    for signature in signatures:
        total ^= int.from_bytes(signature, "big")
    return total.to_bytes(96, "big")


def fake_aggregate_verify(publics: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """Drop-in for ledger.crypto.bls.fast_aggregate_verify (used with verify_certificate)."""
    if not publics or len(set(publics)) != len(publics):
        return False
    return _xor([_bls_sig(p, message) for p in publics]) == signature


class FakeCrypto:
    """`ReplicaCrypto` for validator `index` of `n`."""

    def __init__(self, index: int, n: int) -> None:
        self.index = index
        self.ed25519_publics = [fake_ed25519_public(i) for i in range(n)]
        self.bls_publics = [fake_bls_public(i) for i in range(n)]

    def _ed_sig(self, signer: int, digest: bytes) -> bytes:
        return hashlib.sha256(b"fake-ed-sig" + self.ed25519_publics[signer] + digest).digest() * 2

    def sign_message(self, digest: bytes) -> bytes:
        return self._ed_sig(self.index, digest)

    def verify_message(self, signer: int, digest: bytes, signature: bytes) -> bool:
        return 0 <= signer < len(self.ed25519_publics) and signature == self._ed_sig(signer, digest)

    def bls_sign(self, message: bytes) -> bytes:
        return _bls_sig(self.bls_publics[self.index], message)

    def bls_verify(self, signer: int, message: bytes, signature: bytes) -> bool:
        if not 0 <= signer < len(self.bls_publics):
            return False
        return signature == _bls_sig(self.bls_publics[signer], message)

    def bls_aggregate(self, signatures: Sequence[bytes]) -> bytes:
        return _xor(signatures)

    def bls_verify_aggregate(
        self, signers: Sequence[int], message: bytes, signature: bytes
    ) -> bool:
        if any(not 0 <= s < len(self.bls_publics) for s in signers):
            return False
        return fake_aggregate_verify([self.bls_publics[s] for s in signers], message, signature)
