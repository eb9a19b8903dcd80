"""Keys of a development network, read from its localnet.json (which keeps seeds in the clear)."""

from __future__ import annotations

from typing import Any

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError


def localnet_key(net: dict[str, Any], org: str, role: str = "operator") -> Ed25519Key:
    """`org`'s key of `role`; UNKNOWN_ORG or UNKNOWN_KEY when localnet.json has none."""
    for entry in net.get("orgs", []):
        if entry["id"] == org:
            for key in entry["keys"]:
                if key["role"] == role and key.get("seed"):
                    return Ed25519Key.from_seed(bytes.fromhex(key["seed"]))
            raise TallyError("UNKNOWN_KEY", f"{org} has no {role} key in localnet.json")
    raise TallyError("UNKNOWN_ORG", f"no organization {org!r} in localnet.json")


def localnet_keys(net: dict[str, Any], role: str = "operator") -> dict[str, Ed25519Key]:
    """Every organization's key of `role`, by organization id."""
    return {
        entry["id"]: Ed25519Key.from_seed(bytes.fromhex(key["seed"]))
        for entry in net.get("orgs", [])
        for key in entry["keys"]
        if key["role"] == role and key.get("seed")
    }


def localnet_auditor(net: dict[str, Any]) -> str:
    """The organization a development network's read-only tools read as by default: its first
    auditor, which the read policy (DESIGN.md §9) lets read everything. NO_AUDITOR if none."""
    for entry in net.get("orgs", []):
        if entry.get("kind") == "auditor":
            return str(entry["id"])
    raise TallyError("NO_AUDITOR", "localnet.json lists no auditor to read as (say --as ORG)")
