"""Fresh validator entries for membership tests: deterministic keys derived from a label."""

from __future__ import annotations

from typing import Any

from ledger.crypto import BlsKey, Ed25519Key


def validator_keys(label: str) -> tuple[Ed25519Key, BlsKey]:
    digest = label.encode()
    return Ed25519Key.from_seed(digest.ljust(32, b".")[:32]), BlsKey.from_secret(
        1000 + int.from_bytes(digest[:16].ljust(16, b"."), "big")
    )


def new_validator(label: str, org: str = "bank-d", **overrides: Any) -> dict[str, Any]:
    """The params of an `add_validator` proposal for a validator named `label`."""
    ed, bls = validator_keys(label)
    entry = {
        "name": label,
        "org": org,
        "ed25519": ed.public,
        "bls": bls.public,
        "bls_pop": bls.proof_of_possession(),
        "p2p": "127.0.0.1:27999",
    }
    entry.update(overrides)
    return entry
