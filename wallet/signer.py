"""Who signs a transaction (issue 17): anything with a public key that signs a message.

A keystore key signs in this process (`KeySigner`); a bank's HSM or a cloud KMS signs
elsewhere, behind a function (`CallableSigner`). The transaction builder and `Client.call`
take any `Signer`, and check each signature it returns before anything is sent, so a device
that signs with another key, or returns garbage, is caught here with a coded error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ledger.crypto import ED25519_PUBLIC_SIZE, Ed25519Key
from ledger.errors import TallyError


@runtime_checkable
class Signer(Protocol):
    """An Ed25519 signer: its 32-byte public key, and `sign(message)` -> a 64-byte signature."""

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class KeySigner:
    """A key held in this process (a keystore's, a localnet's) as a `Signer`."""

    key: Ed25519Key

    @property
    def public_key(self) -> bytes:
        return self.key.public

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)


@dataclass(frozen=True, slots=True)
class CallableSigner:
    """A signer elsewhere (an HSM, a KMS): `sign_with(message)` returns its signature."""

    public: bytes
    sign_with: Callable[[bytes], bytes]

    def __post_init__(self) -> None:
        if len(self.public) != ED25519_PUBLIC_SIZE:
            raise TallyError("BAD_KEY", "an Ed25519 public key is 32 bytes")

    @property
    def public_key(self) -> bytes:
        return self.public

    def sign(self, message: bytes) -> bytes:
        return bytes(self.sign_with(message))


def as_signer(signer: Signer | Ed25519Key) -> Signer:
    """A `Signer` for either a key (wrapped) or a signer (as it is)."""
    return KeySigner(signer) if isinstance(signer, Ed25519Key) else signer
