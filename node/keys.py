"""Validator key files: the Ed25519 seed and BLS secret a node signs with, JSON, mode 0600.

{"name": str, "ed25519_seed": hex(32), "bls_secret": hex(32), "ed25519": hex, "bls": hex}
The public halves are kept beside the secrets so a misplaced file is noticed at start-up
(they must match the genesis entry of `name`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ledger.crypto import BlsKey, Ed25519Key
from ledger.errors import TallyError


@dataclass(frozen=True, slots=True)
class ValidatorKeys:
    name: str
    ed25519: Ed25519Key
    bls: BlsKey


def write_keys(path: Path, keys: ValidatorKeys) -> None:
    """Write the file readable by its owner only, from the first byte (no chmod window)."""
    data = {
        "name": keys.name,
        "ed25519_seed": keys.ed25519.seed.hex(),
        "bls_secret": keys.bls.secret_bytes().hex(),
        "ed25519": keys.ed25519.public.hex(),
        "bls": keys.bls.public.hex(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)


def load_keys(path: Path) -> ValidatorKeys:
    try:
        data = json.loads(path.read_text())
        ed = Ed25519Key.from_seed(bytes.fromhex(data["ed25519_seed"]))
        bls = BlsKey.from_bytes(bytes.fromhex(data["bls_secret"]))
        name = str(data["name"])
    except OSError as error:
        raise TallyError("BAD_KEY_FILE", f"cannot read {path}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise TallyError("BAD_KEY_FILE", f"{path} is not a validator key file: {error}") from None
    if data.get("ed25519") not in (None, ed.public.hex()) or data.get("bls") not in (
        None,
        bls.public.hex(),
    ):
        raise TallyError("BAD_KEY_FILE", f"{path}: public keys do not match the secrets")
    return ValidatorKeys(name, ed, bls)
