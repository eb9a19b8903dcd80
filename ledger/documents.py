"""Confidential invoice documents: one envelope per document, only its hash on the ledger.

A document (PDF, XML e-invoice: any bytes) is encrypted once with a fresh random 32-byte data
key (XChaCha20-Poly1305, the AEAD bound to the document's hash), and the data key is wrapped
with an X25519 sealed box for every key of every organization entitled to read it. The node
keeps the envelope beside the chain and checks only its shape; it never sees a data key.

Organizations' X25519 keys are not registered: each is derived from a registered Ed25519 key
(the birational map of RFC 7748 §4.1, libsodium's `crypto_sign_ed25519_pk_to_curve25519`), so a
member reads documents with the key it already signs with. Caveats (docs/receivables.md): the
same secret then serves signing and decryption (sound for Ed25519/X25519, as Thormarker's
analysis shows, but a key that only an HSM can sign with cannot unwrap); removing a key from an
organization does not take back the documents already wrapped for it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.signing

from ledger import codec
from ledger.errors import DecodeError, TallyError
from ledger.hashing import sha256

DATA_KEY_SIZE = 32
NONCE_SIZE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
TAG_SIZE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES  # 16
SEALED_KEY_SIZE = DATA_KEY_SIZE + nacl.bindings.crypto_box_SEALBYTES  # 32 + 48
MAX_RECIPIENT_KEYS = 64  # wrapped keys one envelope may carry (every key of every reader)
_AAD_TAG = b"tally/document/v1"
_ORG_MAX = 64


class DocumentError(TallyError):
    """A document that cannot be sealed, opened or stored; the code says why."""


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """The data key sealed to one Ed25519 key (`public`) of organization `org`."""

    org: str
    public: bytes
    sealed: bytes

    def to_value(self) -> dict[str, object]:
        return {"org": self.org, "public": self.public, "sealed": self.sealed}


@dataclass(frozen=True, slots=True)
class Envelope:
    """A document encrypted under its data key, and the data key wrapped for each reader."""

    doc_hash: bytes
    nonce: bytes
    ciphertext: bytes
    keys: tuple[WrappedKey, ...]

    def to_value(self) -> dict[str, object]:
        return {
            "ciphertext": self.ciphertext,
            "doc_hash": self.doc_hash,
            "keys": [key.to_value() for key in self.keys],
            "nonce": self.nonce,
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def decode(data: bytes) -> Envelope:
        value = codec.decode(data)
        if not isinstance(value, dict):
            raise DecodeError("BAD_ENVELOPE", "an envelope is a map")
        return envelope_from_value(value, max_document_bytes=len(data))

    def orgs(self) -> tuple[str, ...]:
        """The organizations the data key is wrapped for, sorted, each once."""
        return tuple(sorted({key.org for key in self.keys}))

    def with_keys(self, added: Sequence[WrappedKey]) -> Envelope:
        """This envelope with `added` wrapped keys, sorted by (org, key) like every envelope."""
        merged = {(key.org, key.public): key for key in (*self.keys, *added)}
        return Envelope(self.doc_hash, self.nonce, self.ciphertext, _sorted(merged.values()))

    def only_for(self, org: str) -> Envelope:
        """The envelope as one organization may see it: only the keys wrapped for it."""
        keys = tuple(key for key in self.keys if key.org == org)
        return Envelope(self.doc_hash, self.nonce, self.ciphertext, keys)


def _sorted(keys: Iterable[WrappedKey]) -> tuple[WrappedKey, ...]:
    return tuple(sorted(keys, key=lambda key: (key.org, key.public)))


def _bytes(value: object, name: str, size: int | None = None, most: int | None = None) -> bytes:
    if not isinstance(value, bytes):
        raise DocumentError("BAD_ENVELOPE", f"{name} must be bytes")
    if size is not None and len(value) != size:
        raise DocumentError("BAD_ENVELOPE", f"{name} must be {size} bytes, not {len(value)}")
    if most is not None and len(value) > most:
        raise DocumentError("DOCUMENT_TOO_LARGE", f"{name} is larger than {most} bytes")
    return value


def wrapped_key_from_value(value: object) -> WrappedKey:
    """One wrapped key of an envelope, its shape checked (sizes, an org id)."""
    if not isinstance(value, dict) or set(value) != {"org", "public", "sealed"}:
        raise DocumentError("BAD_ENVELOPE", "a wrapped key is {org, public, sealed}")
    org = value["org"]
    if not isinstance(org, str) or not 0 < len(org) <= _ORG_MAX:
        raise DocumentError("BAD_ENVELOPE", "a wrapped key's org is an organization id")
    public = _bytes(value["public"], "public", 32)
    return WrappedKey(org, public, _bytes(value["sealed"], "sealed", SEALED_KEY_SIZE))


def wrapped_keys_from_values(values: object) -> tuple[WrappedKey, ...]:
    """A list of wrapped keys, at most MAX_RECIPIENT_KEYS, no (org, key) twice, sorted."""
    if not isinstance(values, list) or len(values) > MAX_RECIPIENT_KEYS:
        raise DocumentError("BAD_ENVELOPE", f"keys is a list of at most {MAX_RECIPIENT_KEYS}")
    keys = [wrapped_key_from_value(value) for value in values]
    if len({(key.org, key.public) for key in keys}) != len(keys):
        raise DocumentError("BAD_ENVELOPE", "a key is wrapped twice for one organization")
    return _sorted(keys)


def envelope_from_value(value: Mapping[str, object], max_document_bytes: int) -> Envelope:
    """An envelope from its map form, every field's shape and size checked (not its contents:
    only a reader can open it). The ciphertext is the document and its 16-byte tag."""
    if set(value) != {"ciphertext", "doc_hash", "keys", "nonce"}:
        raise DocumentError("BAD_ENVELOPE", "an envelope is {doc_hash, nonce, ciphertext, keys}")
    ciphertext = _bytes(value["ciphertext"], "ciphertext", most=max_document_bytes + TAG_SIZE)
    if len(ciphertext) < TAG_SIZE:
        raise DocumentError("BAD_ENVELOPE", "the ciphertext is shorter than its tag")
    return Envelope(
        doc_hash=_bytes(value["doc_hash"], "doc_hash", 32),
        nonce=_bytes(value["nonce"], "nonce", NONCE_SIZE),
        ciphertext=ciphertext,
        keys=wrapped_keys_from_values(value["keys"]),
    )


# -- the cryptography ------------------------------------------------------------------------


def x25519_public(ed25519_public: bytes) -> bytes:
    """The X25519 key an Ed25519 verify key maps to: what a data key is sealed to."""
    try:
        return bytes(nacl.signing.VerifyKey(ed25519_public).to_curve25519_public_key())
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise DocumentError("BAD_KEY", "not an Ed25519 public key") from None


def x25519_private(ed25519_seed: bytes) -> nacl.public.PrivateKey:
    """The X25519 secret of an Ed25519 seed (the keystore's key): what unwraps a data key."""
    return nacl.signing.SigningKey(ed25519_seed).to_curve25519_private_key()


def wrap_key(data_key: bytes, org: str, ed25519_public: bytes) -> WrappedKey:
    """`data_key` sealed to one key of `org` (an anonymous sender: nothing to sign it with)."""
    recipient = nacl.public.PublicKey(x25519_public(ed25519_public))
    sealed = bytes(nacl.public.SealedBox(recipient).encrypt(data_key))
    return WrappedKey(org, bytes(ed25519_public), sealed)


def _aad(doc_hash: bytes) -> bytes:
    return _AAD_TAG + doc_hash


def seal_document(
    document: bytes, readers: Mapping[str, Sequence[bytes]]
) -> tuple[Envelope, bytes]:
    """`document` encrypted under a fresh data key wrapped for every key of every reader
    (org -> its Ed25519 public keys); the envelope and the data key (for later grants)."""
    data_key = secrets.token_bytes(DATA_KEY_SIZE)  # drawn here, fresh for every document
    nonce = secrets.token_bytes(NONCE_SIZE)
    doc_hash = sha256(document)
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        document, _aad(doc_hash), nonce, data_key
    )
    keys = [
        wrap_key(data_key, org, public) for org, publics in readers.items() for public in publics
    ]
    return Envelope(doc_hash, nonce, ciphertext, _sorted(keys)), data_key


def unwrap_key(envelope: Envelope, org: str, ed25519_seed: bytes) -> bytes:
    """The data key, unwrapped with the seed of a key of `org` it was wrapped for."""
    public = bytes(nacl.signing.SigningKey(ed25519_seed).verify_key)
    mine = [key for key in envelope.keys if key.org == org and key.public == public]
    if not mine:
        raise DocumentError(
            "DOCUMENT_NOT_SHARED", f"the document is not wrapped for this key of {org}"
        )
    try:
        data_key = nacl.public.SealedBox(x25519_private(ed25519_seed)).decrypt(mine[0].sealed)
    except nacl.exceptions.CryptoError:
        raise DocumentError("DOCUMENT_KEY_REFUSED", "this key cannot unwrap the data key") from None
    if len(data_key) != DATA_KEY_SIZE:
        raise DocumentError("DOCUMENT_KEY_REFUSED", "the wrapped data key has the wrong size")
    return bytes(data_key)


def decrypt_with_key(envelope: Envelope, data_key: bytes) -> bytes:
    """The plaintext document, its tag checked and its hash equal to the envelope's."""
    try:
        document = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            envelope.ciphertext, _aad(envelope.doc_hash), envelope.nonce, data_key
        )
    except nacl.exceptions.CryptoError:
        raise DocumentError(
            "DOCUMENT_TAMPERED", "the ciphertext does not authenticate under its data key"
        ) from None
    if sha256(document) != envelope.doc_hash:
        raise DocumentError("DOCUMENT_HASH_MISMATCH", "the document does not hash to doc_hash")
    return bytes(document)


def open_document(
    envelope: Envelope, org: str, ed25519_seed: bytes, ledger_doc_hash: bytes
) -> bytes:
    """The document, decrypted with a key of `org` and checked against the hash the ledger
    holds for the invoice (an envelope naming another hash is refused before decrypting)."""
    if envelope.doc_hash != ledger_doc_hash:
        raise DocumentError(
            "DOCUMENT_HASH_MISMATCH",
            f"the envelope is for document {envelope.doc_hash.hex()[:16]}…, the ledger "
            f"holds {ledger_doc_hash.hex()[:16]}…",
        )
    return decrypt_with_key(envelope, unwrap_key(envelope, org, ed25519_seed))
