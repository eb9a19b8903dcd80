"""Ed25519 (pynacl) and BLS12-381 (IETF ciphersuite with proof of possession).

BLS has two backends of the same ciphersuite, `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`:
blspy (~1 ms a verification) and py-ecc, the pure-Python reference (~0.3 s), used only when
blspy is missing or when TALLY_BLS_BACKEND=py_ecc. Both take and give the same bytes.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nacl.exceptions
import nacl.signing

ED25519_PUBLIC_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
BLS_PUBLIC_SIZE = 48
BLS_SIGNATURE_SIZE = 96


@dataclass(frozen=True, slots=True)
class Ed25519Key:
    """A signing key; `seed` is the 32-byte secret, `public` the 32-byte verify key."""

    seed: bytes
    public: bytes

    @staticmethod
    def generate() -> Ed25519Key:
        return Ed25519Key.from_seed(secrets.token_bytes(32))

    @staticmethod
    def from_seed(seed: bytes) -> Ed25519Key:
        signing = nacl.signing.SigningKey(seed)
        return Ed25519Key(seed=bytes(seed), public=bytes(signing.verify_key))

    def sign(self, message: bytes) -> bytes:
        return bytes(nacl.signing.SigningKey(self.seed).sign(message).signature)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is `public`'s signature of `message`; never raises on bad input."""
    if len(public) != ED25519_PUBLIC_SIZE or len(signature) != ED25519_SIGNATURE_SIZE:
        return False
    try:
        nacl.signing.VerifyKey(public).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        return False
    return True


class BlsBackend(Protocol):
    name: str

    def public_key(self, secret: int) -> bytes: ...
    def sign(self, secret: int, message: bytes) -> bytes: ...
    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool: ...
    def aggregate(self, signatures: Sequence[bytes]) -> bytes: ...
    def fast_aggregate_verify(
        self, publics: Sequence[bytes], message: bytes, signature: bytes
    ) -> bool: ...
    def pop_prove(self, secret: int) -> bytes: ...
    def pop_verify(self, public: bytes, proof: bytes) -> bool: ...


class PyEccBackend:
    """The reference implementation, pure Python."""

    name = "py_ecc"

    def __init__(self) -> None:
        from py_ecc.bls import ciphersuites

        self._scheme: Any = ciphersuites.G2ProofOfPossession

    def public_key(self, secret: int) -> bytes:
        return bytes(self._scheme.SkToPk(secret))

    def sign(self, secret: int, message: bytes) -> bytes:
        return bytes(self._scheme.Sign(secret, message))

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        try:
            return bool(self._scheme.Verify(public, message, signature))
        except Exception:  # py-ecc raises assorted errors on malformed points
            return False

    def aggregate(self, signatures: Sequence[bytes]) -> bytes:
        return bytes(self._scheme.Aggregate(list(signatures)))

    def fast_aggregate_verify(
        self, publics: Sequence[bytes], message: bytes, signature: bytes
    ) -> bool:
        try:
            return bool(self._scheme.FastAggregateVerify(list(publics), message, signature))
        except Exception:
            return False

    def pop_prove(self, secret: int) -> bytes:
        return bytes(self._scheme.PopProve(secret))

    def pop_verify(self, public: bytes, proof: bytes) -> bool:
        try:
            return bool(self._scheme.PopVerify(public, proof))
        except Exception:
            return False


class BlspyBackend:
    """chia's blspy `PopSchemeMPL`: the same ciphersuite in C++."""

    name = "blspy"

    def __init__(self) -> None:
        import blspy

        self._blspy = blspy
        self._scheme = blspy.PopSchemeMPL

    def _secret(self, secret: int) -> object:
        return self._blspy.PrivateKey.from_bytes(secret.to_bytes(32, "big"))

    def _public(self, public: bytes) -> object:
        return self._blspy.G1Element.from_bytes(public)

    def _signature(self, signature: bytes) -> object:
        return self._blspy.G2Element.from_bytes(signature)

    def public_key(self, secret: int) -> bytes:
        return bytes(self._secret(secret).get_g1())  # type: ignore[attr-defined]

    def sign(self, secret: int, message: bytes) -> bytes:
        return bytes(self._scheme.sign(self._secret(secret), message))

    def verify(self, public: bytes, message: bytes, signature: bytes) -> bool:
        try:
            return bool(
                self._scheme.verify(self._public(public), message, self._signature(signature))
            )
        except (ValueError, RuntimeError):
            return False

    def aggregate(self, signatures: Sequence[bytes]) -> bytes:
        return bytes(self._scheme.aggregate([self._signature(s) for s in signatures]))

    def fast_aggregate_verify(
        self, publics: Sequence[bytes], message: bytes, signature: bytes
    ) -> bool:
        try:
            return bool(
                self._scheme.fast_aggregate_verify(
                    [self._public(p) for p in publics], message, self._signature(signature)
                )
            )
        except (ValueError, RuntimeError):
            return False

    def pop_prove(self, secret: int) -> bytes:
        return bytes(self._scheme.pop_prove(self._secret(secret)))

    def pop_verify(self, public: bytes, proof: bytes) -> bool:
        try:
            return bool(self._scheme.pop_verify(self._public(public), self._signature(proof)))
        except (ValueError, RuntimeError):
            return False


def _load_backend() -> BlsBackend:
    if os.environ.get("TALLY_BLS_BACKEND") == "py_ecc":
        return PyEccBackend()
    try:
        return BlspyBackend()
    except ImportError:
        return PyEccBackend()


bls: BlsBackend = _load_backend()

# The order of the BLS12-381 scalar field; secrets are taken modulo it.
BLS_CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


@dataclass(frozen=True, slots=True)
class BlsKey:
    """A validator's BLS secret and its 48-byte public key."""

    secret: int
    public: bytes

    @staticmethod
    def from_secret(secret: int) -> BlsKey:
        if not 0 < secret < BLS_CURVE_ORDER:
            raise ValueError("BLS secret out of range")
        return BlsKey(secret=secret, public=bls.public_key(secret))

    @staticmethod
    def generate() -> BlsKey:
        return BlsKey.from_secret(1 + secrets.randbelow(BLS_CURVE_ORDER - 1))

    @staticmethod
    def from_bytes(raw: bytes) -> BlsKey:
        return BlsKey.from_secret(int.from_bytes(raw, "big"))

    def secret_bytes(self) -> bytes:
        return self.secret.to_bytes(32, "big")

    def sign(self, message: bytes) -> bytes:
        return bls.sign(self.secret, message)

    def proof_of_possession(self) -> bytes:
        return bls.pop_prove(self.secret)
