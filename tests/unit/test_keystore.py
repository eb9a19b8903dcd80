"""The keystore: EIP-2335 shape, fresh randomness per file, 0600, clear error codes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import nacl.pwhash.argon2id as argon2id
import pytest

from ledger.crypto import Ed25519Key
from wallet import keystore
from wallet.keystore import (
    KdfCost,
    KeystoreError,
    decrypt_key,
    encrypt_key,
    list_keystores,
    load_keystore,
    save_keystore,
)

# The cheapest Argon2id libsodium allows: these tests check format and logic, not cost.
CHEAP = KdfCost(argon2id.OPSLIMIT_MIN, argon2id.MEMLIMIT_MIN)
KEY = Ed25519Key.from_seed(bytes(range(32)))


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keystore(path, KEY, "correct horse", org="acme-steel", cost=CHEAP)
    assert load_keystore(path, "correct horse") == KEY


def test_file_has_the_eip2335_shape(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keystore(path, KEY, "pw", org="bank-a", cost=CHEAP)
    doc = json.loads(path.read_text())
    assert doc["version"] == 4
    assert doc["pubkey"] == KEY.public.hex()
    assert doc["description"] == "bank-a"
    assert doc["path"] == ""
    assert len(doc["uuid"]) == 36
    crypto = doc["crypto"]
    assert set(crypto) == {"kdf", "checksum", "cipher"}
    for module in crypto.values():
        assert set(module) == {"function", "params", "message"}
    assert crypto["kdf"]["function"] == "argon2id"
    assert set(crypto["kdf"]["params"]) == {"opslimit", "memlimit", "salt"}
    assert crypto["kdf"]["message"] == ""
    assert crypto["checksum"] == {
        "function": "sha256",
        "params": {},
        "message": crypto["checksum"]["message"],
    }
    assert crypto["cipher"]["function"] == "xsalsa20-poly1305"
    assert len(bytes.fromhex(crypto["cipher"]["params"]["nonce"])) == 24
    # 32-byte seed + 16-byte Poly1305 tag; the seed itself never appears in the file.
    assert len(bytes.fromhex(crypto["cipher"]["message"])) == 48
    assert KEY.seed.hex() not in path.read_text()


def test_two_encryptions_of_one_key_differ() -> None:
    """TOB-ETHSTAKER-6: salt and nonce must be fresh on every call, not default arguments."""
    first = encrypt_key(KEY, "pw", cost=CHEAP)
    second = encrypt_key(KEY, "pw", cost=CHEAP)
    assert first["crypto"]["kdf"]["params"]["salt"] != second["crypto"]["kdf"]["params"]["salt"]
    assert (
        first["crypto"]["cipher"]["params"]["nonce"]
        != second["crypto"]["cipher"]["params"]["nonce"]
    )
    assert first["crypto"]["cipher"]["message"] != second["crypto"]["cipher"]["message"]
    assert first["uuid"] != second["uuid"]
    assert decrypt_key(first, "pw") == decrypt_key(second, "pw") == KEY


def test_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keystore(path, KEY, "pw", cost=CHEAP)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["k.json"]  # no temporary left behind


def test_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keystore(path, KEY, "pw", cost=CHEAP)
    other = Ed25519Key.from_seed(b"\x07" * 32)
    with pytest.raises(KeystoreError) as error:
        save_keystore(path, other, "pw", cost=CHEAP)
    assert error.value.code == "KEYSTORE_EXISTS"
    assert load_keystore(path, "pw") == KEY
    save_keystore(path, other, "pw", cost=CHEAP, overwrite=True)
    assert load_keystore(path, "pw") == other


def test_wrong_passphrase_has_its_own_code(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    save_keystore(path, KEY, "right", cost=CHEAP)
    with pytest.raises(KeystoreError) as error:
        load_keystore(path, "wrong")
    assert error.value.code == "WRONG_PASSPHRASE"


def test_passphrase_is_nfkd_normalized_and_control_characters_dropped() -> None:
    doc = encrypt_key(KEY, "caf\u00e9", cost=CHEAP)  # precomposed é
    assert decrypt_key(doc, "cafe\u0301") == KEY  # e + combining acute
    assert decrypt_key(encrypt_key(KEY, "a\x7fb\x00", cost=CHEAP), "ab") == KEY


def test_the_default_cost_is_moderate() -> None:
    doc = encrypt_key(KEY, "pw", cost=keystore.INTERACTIVE)
    assert doc["crypto"]["kdf"]["params"]["memlimit"] == argon2id.MEMLIMIT_INTERACTIVE
    assert keystore.MODERATE.memlimit >= argon2id.MEMLIMIT_MODERATE
    assert save_keystore.__kwdefaults__["cost"] == keystore.MODERATE


def _tampered(doc: dict, change) -> dict:
    copy = json.loads(json.dumps(doc))
    change(copy)
    return copy


def _flip_last(hex_text: str) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[-1] ^= 1
    return raw.hex()


def _set(path: tuple[str, ...], value):
    def change(doc):
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


CORRUPTIONS = {
    "version": _set(("version",), 3),
    "version_type": _set(("version",), "4"),
    "no_crypto": lambda d: d.pop("crypto"),
    "kdf_function": _set(("crypto", "kdf", "function"), "scrypt"),
    "cipher_function": _set(("crypto", "cipher", "function"), "aes-128-ctr"),
    "checksum_function": _set(("crypto", "checksum", "function"), "md5"),
    "salt_not_hex": _set(("crypto", "kdf", "params", "salt"), "zz"),
    "salt_short": _set(("crypto", "kdf", "params", "salt"), "00" * 8),
    "nonce_short": _set(("crypto", "cipher", "params", "nonce"), "00" * 23),
    "pubkey_short": _set(("pubkey",), "00" * 31),
    "huge_memlimit": _set(("crypto", "kdf", "params", "memlimit"), 2**40),
    "zero_opslimit": _set(("crypto", "kdf", "params", "opslimit"), 0),
    "opslimit_bool": _set(("crypto", "kdf", "params", "opslimit"), True),
    "other_pubkey": _set(("pubkey",), "11" * 32),
}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_damaged_keystore_is_bad_keystore(name: str) -> None:
    doc = _tampered(encrypt_key(KEY, "pw", cost=CHEAP), CORRUPTIONS[name])
    with pytest.raises(KeystoreError) as error:
        decrypt_key(doc, "pw")
    assert error.value.code == "BAD_KEYSTORE"


def test_damaged_ciphertext_with_matching_checksum_is_bad_keystore() -> None:
    """A flipped ciphertext byte whose checksum was recomputed passes the checksum but not
    Poly1305: that is damage, not a wrong passphrase."""
    doc = encrypt_key(KEY, "pw", cost=CHEAP)
    crypto = doc["crypto"]
    salt = bytes.fromhex(crypto["kdf"]["params"]["salt"])
    derived = keystore._derive("pw", salt, CHEAP)
    crypto["cipher"]["message"] = _flip_last(crypto["cipher"]["message"])
    crypto["checksum"]["message"] = keystore._checksum(
        derived, bytes.fromhex(crypto["cipher"]["message"])
    ).hex()
    with pytest.raises(KeystoreError) as error:
        decrypt_key(doc, "pw")
    assert error.value.code == "BAD_KEYSTORE"


def test_damaged_ciphertext_alone_reads_as_wrong_passphrase_or_bad() -> None:
    doc = encrypt_key(KEY, "pw", cost=CHEAP)
    doc["crypto"]["cipher"]["message"] = _flip_last(doc["crypto"]["cipher"]["message"])
    with pytest.raises(KeystoreError) as error:
        decrypt_key(doc, "pw")
    assert error.value.code in {"WRONG_PASSPHRASE", "BAD_KEYSTORE"}


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"null"])
def test_unreadable_files_are_clear_errors(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(content)
    with pytest.raises(KeystoreError) as error:
        load_keystore(path, "pw")
    assert error.value.code in {"BAD_KEYSTORE", "KEYSTORE_IO"}


def test_missing_file_is_keystore_io(tmp_path: Path) -> None:
    with pytest.raises(KeystoreError) as error:
        load_keystore(tmp_path / "nope.json", "pw")
    assert error.value.code == "KEYSTORE_IO"


def test_list_keystores_skips_other_files(tmp_path: Path) -> None:
    save_keystore(tmp_path / "b.json", KEY, "pw", org="bank-b", cost=CHEAP)
    other = Ed25519Key.from_seed(b"\x09" * 32)
    save_keystore(tmp_path / "a.json", other, "pw", org="acme-steel", cost=CHEAP)
    (tmp_path / "junk.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("hello")
    found = list_keystores(tmp_path)
    assert [(Path(k.path).name, k.org, k.public) for k in found] == [
        ("a.json", "acme-steel", other.public),
        ("b.json", "bank-b", KEY.public),
    ]
