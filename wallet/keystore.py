"""Encrypted key files shaped like EIP-2335, with Argon2id and XSalsa20-Poly1305 (DESIGN.md §4).

Layout (JSON):

    {"version": 4, "uuid": ..., "pubkey": hex, "description": org, "path": "",
     "crypto": {"kdf":      {"function": "argon2id",
                             "params": {"opslimit", "memlimit", "salt": hex}, "message": ""},
                "checksum": {"function": "sha256", "params": {}, "message": hex},
                "cipher":   {"function": "xsalsa20-poly1305", "params": {"nonce": hex},
                             "message": hex}}}

Argon2id stretches the passphrase to 64 bytes: the first 32 are the SecretBox key, the last 32
feed the checksum `sha256(dk[32:64] || cipher.message)` as in EIP-2335. The checksum tells a
wrong passphrase (WRONG_PASSPHRASE) from a damaged file (BAD_KEYSTORE), which the Poly1305 tag
alone cannot. Salt and nonce are drawn inside `encrypt_key` on every call, never as default
arguments (TOB-ETHSTAKER-6).
"""

from __future__ import annotations

import hmac
import json
import os
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id
import nacl.secret
import nacl.utils

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.hashing import sha256

VERSION = 4
KDF_FUNCTION = "argon2id"
CHECKSUM_FUNCTION = "sha256"
CIPHER_FUNCTION = "xsalsa20-poly1305"
DERIVED_KEY_SIZE = 64


@dataclass(frozen=True, slots=True)
class KdfCost:
    """Argon2id work factors; `opslimit` passes over `memlimit` bytes of memory."""

    opslimit: int
    memlimit: int


# MODERATE costs ~1.2 s and 256 MiB on a 2-core laptop: fine for unlocking a key by hand.
MODERATE = KdfCost(argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE)
# INTERACTIVE costs ~0.25 s and 64 MiB: for scripts and tests.
INTERACTIVE = KdfCost(argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)
COSTS = {"moderate": MODERATE, "interactive": INTERACTIVE}

# A file may ask for at most this much work, so a crafted keystore cannot exhaust the machine.
MAX_OPSLIMIT = 16
MAX_MEMLIMIT = 1024 * 1024 * 1024


class KeystoreError(TallyError):
    """WRONG_PASSPHRASE, BAD_KEYSTORE, KEYSTORE_EXISTS or KEYSTORE_IO."""


def normalize_passphrase(passphrase: str) -> bytes:
    """NFKD, control characters removed, UTF-8: the EIP-2335 passphrase rule, so the same
    passphrase typed on different keyboards unlocks the same file."""
    normalized = unicodedata.normalize("NFKD", passphrase)
    kept = "".join(ch for ch in normalized if not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F))
    return kept.encode("utf-8")


def _derive(passphrase: str, salt: bytes, cost: KdfCost) -> bytes:
    try:
        return bytes(
            argon2id.kdf(
                DERIVED_KEY_SIZE,
                normalize_passphrase(passphrase),
                salt,
                opslimit=cost.opslimit,
                memlimit=cost.memlimit,
            )
        )
    except (nacl.exceptions.ValueError, nacl.exceptions.RuntimeError, MemoryError) as exc:
        raise KeystoreError("BAD_KEYSTORE", f"key derivation failed: {exc}") from None


def _checksum(derived: bytes, ciphertext: bytes) -> bytes:
    return sha256(derived[32:64] + ciphertext)


def encrypt_key(
    key: Ed25519Key,
    passphrase: str,
    *,
    org: str = "",
    cost: KdfCost = MODERATE,
) -> dict[str, Any]:
    """The keystore JSON object for `key`; salt, nonce and uuid are fresh on every call."""
    salt = nacl.utils.random(argon2id.SALTBYTES)
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    derived = _derive(passphrase, salt, cost)
    ciphertext = nacl.secret.SecretBox(derived[:32]).encrypt(key.seed, nonce).ciphertext
    return {
        "version": VERSION,
        "uuid": str(uuid.uuid4()),
        "pubkey": key.public.hex(),
        "description": org,
        "path": "",
        "crypto": {
            "kdf": {
                "function": KDF_FUNCTION,
                "params": {
                    "opslimit": cost.opslimit,
                    "memlimit": cost.memlimit,
                    "salt": salt.hex(),
                },
                "message": "",
            },
            "checksum": {
                "function": CHECKSUM_FUNCTION,
                "params": {},
                "message": _checksum(derived, ciphertext).hex(),
            },
            "cipher": {
                "function": CIPHER_FUNCTION,
                "params": {"nonce": nonce.hex()},
                "message": ciphertext.hex(),
            },
        },
    }


def _bad(message: str) -> KeystoreError:
    return KeystoreError("BAD_KEYSTORE", message)


def _field(container: Any, name: str, kind: type, where: str) -> Any:
    if not isinstance(container, dict) or name not in container:
        raise _bad(f"{where} is missing {name!r}")
    value = container[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _bad(f"{where}.{name} must be a {kind.__name__}")
    return value


def _hex_field(container: Any, name: str, where: str, size: int | None = None) -> bytes:
    text = _field(container, name, str, where)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise _bad(f"{where}.{name} is not hex") from None
    if size is not None and len(raw) != size:
        raise _bad(f"{where}.{name} must be {size} bytes, got {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class KeystoreInfo:
    """What a keystore says about itself without the passphrase."""

    path: str
    uuid: str
    public: bytes
    org: str


def describe_keystore(document: Any, path: str = "") -> KeystoreInfo:
    """Check the shape of a keystore object and return its public parts (no passphrase)."""
    _parse(document)
    return KeystoreInfo(
        path=path,
        uuid=str(document["uuid"]),
        public=bytes.fromhex(document["pubkey"]),
        org=str(document.get("description", "")),
    )


@dataclass(frozen=True, slots=True)
class _Parsed:
    public: bytes
    salt: bytes
    cost: KdfCost
    checksum: bytes
    nonce: bytes
    ciphertext: bytes


def _parse(document: Any) -> _Parsed:
    if not isinstance(document, dict):
        raise _bad("a keystore must be a JSON object")
    version = _field(document, "version", int, "keystore")
    if version != VERSION:
        raise _bad(f"unsupported keystore version {version} (expected {VERSION})")
    _field(document, "uuid", str, "keystore")
    public = _hex_field(document, "pubkey", "keystore", 32)
    crypto = _field(document, "crypto", dict, "keystore")
    kdf = _field(crypto, "kdf", dict, "crypto")
    checksum = _field(crypto, "checksum", dict, "crypto")
    cipher = _field(crypto, "cipher", dict, "crypto")
    for module, name, expected in (
        (kdf, "kdf", KDF_FUNCTION),
        (checksum, "checksum", CHECKSUM_FUNCTION),
        (cipher, "cipher", CIPHER_FUNCTION),
    ):
        function = _field(module, "function", str, f"crypto.{name}")
        if function != expected:
            raise _bad(f"crypto.{name}.function {function!r} is not supported (need {expected})")
    kdf_params = _field(kdf, "params", dict, "crypto.kdf")
    opslimit = _field(kdf_params, "opslimit", int, "crypto.kdf.params")
    memlimit = _field(kdf_params, "memlimit", int, "crypto.kdf.params")
    if not argon2id.OPSLIMIT_MIN <= opslimit <= MAX_OPSLIMIT:
        raise _bad(f"crypto.kdf.params.opslimit {opslimit} is out of range")
    if not argon2id.MEMLIMIT_MIN <= memlimit <= MAX_MEMLIMIT:
        raise _bad(f"crypto.kdf.params.memlimit {memlimit} is out of range")
    cipher_params = _field(cipher, "params", dict, "crypto.cipher")
    return _Parsed(
        public=public,
        salt=_hex_field(kdf_params, "salt", "crypto.kdf.params", argon2id.SALTBYTES),
        cost=KdfCost(opslimit, memlimit),
        checksum=_hex_field(checksum, "message", "crypto.checksum", 32),
        nonce=_hex_field(
            cipher_params, "nonce", "crypto.cipher.params", nacl.secret.SecretBox.NONCE_SIZE
        ),
        ciphertext=_hex_field(cipher, "message", "crypto.cipher"),
    )


def decrypt_key(document: Any, passphrase: str) -> Ed25519Key:
    """The key inside a keystore object; WRONG_PASSPHRASE or BAD_KEYSTORE when it cannot be."""
    parsed = _parse(document)
    derived = _derive(passphrase, parsed.salt, parsed.cost)
    if not hmac.compare_digest(_checksum(derived, parsed.ciphertext), parsed.checksum):
        raise KeystoreError("WRONG_PASSPHRASE", "the passphrase does not unlock this keystore")
    try:
        seed = nacl.secret.SecretBox(derived[:32]).decrypt(parsed.ciphertext, parsed.nonce)
    except nacl.exceptions.CryptoError:
        raise _bad("the encrypted key is damaged (authentication failed)") from None
    if len(seed) != 32:
        raise _bad(f"the encrypted key is {len(seed)} bytes, not a 32-byte Ed25519 seed")
    key = Ed25519Key.from_seed(seed)
    if key.public != parsed.public:
        raise _bad("the decrypted key does not match the file's pubkey")
    return key


def read_keystore(path: str | Path) -> Any:
    """The JSON object of a keystore file (no decryption)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeystoreError("KEYSTORE_IO", f"no keystore at {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeystoreError("KEYSTORE_IO", f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except ValueError:
        raise _bad(f"{path} is not JSON") from None


def load_keystore(path: str | Path, passphrase: str) -> Ed25519Key:
    """Decrypt the key in the keystore file at `path`."""
    return decrypt_key(read_keystore(path), passphrase)


def save_keystore(
    path: str | Path,
    key: Ed25519Key,
    passphrase: str,
    *,
    org: str = "",
    cost: KdfCost = MODERATE,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Encrypt `key` into a new file (mode 0600), re-read and re-decrypt it; return the JSON.

    The file is written to a private temporary name and renamed into place, so a reader never
    sees half a keystore and an existing file is replaced only with `overwrite`.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise KeystoreError("KEYSTORE_EXISTS", f"{target} already exists")
    document = encrypt_key(key, passphrase, org=org, cost=cost)
    data = (json.dumps(document, indent=2) + "\n").encode()
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(temporary, 0o600)
        if overwrite:
            os.replace(temporary, target)
        else:
            # link() refuses an existing target, so a racing writer is never clobbered.
            try:
                os.link(temporary, target)
            except FileExistsError:
                raise KeystoreError("KEYSTORE_EXISTS", f"{target} already exists") from None
            finally:
                os.unlink(temporary)
    except OSError as exc:
        if temporary.exists():
            temporary.unlink()
        raise KeystoreError("KEYSTORE_IO", f"cannot write {target}: {exc}") from None
    if load_keystore(target, passphrase).public != key.public:
        raise KeystoreError("KEYSTORE_IO", f"{target} did not read back as the same key")
    return document


def list_keystores(directory: str | Path) -> list[KeystoreInfo]:
    """Every readable keystore (*.json) in `directory`, sorted by file name; others skipped."""
    found = []
    for candidate in sorted(Path(directory).glob("*.json")):
        try:
            found.append(describe_keystore(read_keystore(candidate), str(candidate)))
        except KeystoreError:
            continue
    return found
