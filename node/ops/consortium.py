"""A real consortium's set-up, where each bank makes its own keys (DESIGN.md §4, §11).

Pure functions behind `tally node keygen|org-key|genesis|config`: make a validator's keys and
its public genesis entry, make an organization's public entry, assemble and validate a genesis
from the public files the banks exchange, and render a node config. Nothing here ever needs a
private key of another party: the genesis is assembled from public entries only, and a public
file that carries secret material is refused, so a key file sent by mistake is caught before
it travels further.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ledger import errors
from ledger.crypto import BlsKey, Ed25519Key
from ledger.errors import TallyError
from ledger.genesis import KEY_ROLES, ORG_KINDS, STATE_FORMAT, Genesis, genesis_from_value
from node.api.access import ACCESS_MODES
from node.keys import ValidatorKeys

# Fields that only secret files carry: validator key files (node/keys.py), keystores, localnets.
SECRET_FIELDS = ("ed25519_seed", "bls_secret", "seed", "crypto", "secret")
VALIDATOR_FIELDS = ("name", "org", "ed25519", "bls", "bls_pop", "p2p")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ConsortiumError(TallyError):
    """A consortium file or argument that cannot be used; the code says which kind."""


ensure = functools.partial(errors.ensure, error=ConsortiumError)


# -- addresses and times ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_host_port(text: str, what: str = "address") -> HostPort:
    """`host:port` (IPv6 in brackets); the port 1..65535."""
    match = _HOST_PORT.match(text.strip())
    if match is None:
        raise ConsortiumError("BAD_ADDRESS", f"{what} must be host:port, got {text!r}")
    port = int(match["port"])
    ensure(0 < port < 65536, "BAD_ADDRESS", f"{what} port must be 1..65535, got {port}")
    return HostPort(match["host"], port)


def parse_time_ms(text: str) -> int:
    """An ISO date (`2026-03-01`, midnight UTC) or datetime with zone, as Unix milliseconds."""
    try:
        if _DATE.match(text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConsortiumError("BAD_TIME", f"{text!r} is not an ISO date or datetime") from None
    ensure(moment.tzinfo is not None, "BAD_TIME", f"{text!r} needs a zone, e.g. Z")
    millis = int(moment.timestamp() * 1000)
    ensure(millis >= 0, "BAD_TIME", "genesis time must be after 1970")
    return millis


def format_time_ms(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- keys and public entries -----------------------------------------------------------------


def new_validator_keys(name: str) -> ValidatorKeys:
    """Fresh Ed25519 and BLS keys, drawn from the OS inside this call (never a default arg)."""
    ensure(bool(name.strip()), "BAD_NAME", "a validator needs a name")
    return ValidatorKeys(name, Ed25519Key.generate(), BlsKey.generate())


def validator_entry(keys: ValidatorKeys, org: str, p2p: str) -> dict[str, str]:
    """The public `validators[]` entry of genesis, with the BLS proof of possession."""
    parse_host_port(p2p, "--p2p")
    return {
        "name": keys.name,
        "org": org,
        "ed25519": keys.ed25519.public.hex(),
        "bls": keys.bls.public.hex(),
        "bls_pop": keys.bls.proof_of_possession().hex(),
        "p2p": p2p,
    }


def org_entry(
    org_id: str,
    name: str,
    kind: str,
    jurisdiction: str,
    keys: Sequence[tuple[bytes, str]],
    kyc_expires: str = "",
) -> dict[str, Any]:
    """The public `orgs[]` entry of genesis: the organization and its (public key, role)s."""
    ensure(kind in ORG_KINDS, "BAD_ORG", f"kind must be one of {', '.join(ORG_KINDS)}")
    ensure(
        kyc_expires == "" or bool(_DATE.match(kyc_expires)),
        "BAD_ORG",
        "--kyc-expires must be YYYY-MM-DD",
    )
    for _, role in keys:
        ensure(role in KEY_ROLES, "BAD_ORG", f"role must be one of {', '.join(KEY_ROLES)}")
    return {
        "id": org_id,
        "name": name,
        "kind": kind,
        "jurisdiction": jurisdiction,
        "keys": [{"public": public.hex(), "role": role} for public, role in keys],
        "kyc_expires": kyc_expires,
        "sanctioned": False,
        "daily_limits": {},
    }


def secret_fields(value: Any, path: str = "") -> list[str]:
    """Where in `value` secret key material sits (empty for a clean public file)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in SECRET_FIELDS:
                found.append(here)
            found.extend(secret_fields(inner, here))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.extend(secret_fields(inner, f"{path}[{index}]"))
    return found


def ensure_public(value: Any, source: str) -> None:
    """Refuse a file that carries a private key: it must not travel between banks."""
    leaks = secret_fields(value)
    ensure(
        not leaks,
        "SECRET_IN_PUBLIC_FILE",
        f"{source} holds secret key material ({', '.join(leaks)}); send only the public file",
    )


def read_public_json(path: Path) -> Any:
    """A public JSON file one bank sent another; secrets in it are refused."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConsortiumError("BAD_FILE", f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise ConsortiumError("BAD_FILE", f"{path} is not valid JSON: {error}") from None
    ensure_public(value, str(path))
    return value


def flatten_entries(values: Iterable[tuple[str, Any]], what: str) -> list[dict[str, Any]]:
    """Each file holds one entry (an object) or several (a list): the entries in file order."""
    entries: list[dict[str, Any]] = []
    for source, value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            ensure(isinstance(item, dict), "BAD_FILE", f"{source}: each {what} must be an object")
            entries.append(item)
    return entries


# -- genesis ---------------------------------------------------------------------------------


def assemble_genesis(
    *,
    chain: str,
    time_ms: int,
    validators: Sequence[dict[str, Any]],
    orgs: Sequence[dict[str, Any]],
    currencies: Sequence[dict[str, Any]],
    params: dict[str, Any] | None = None,
    membership: bool = False,
) -> tuple[dict[str, Any], Genesis]:
    """The genesis document and its parsed form, validated as every node will validate it.
    `membership`: governance may add and remove validators later (DESIGN.md §7).

    Validator order is kept as given: it fixes each view's primary. Every validator must be
    run by a bank (the consortium's members), beyond what `genesis_from_value` checks
    (proofs of possession, n = 3f+1, duplicate keys and names, known organizations).
    """
    ensure_public([*validators, *orgs, *currencies, params or {}], "a public entry")
    for entry in validators:
        missing = [name for name in VALIDATOR_FIELDS if name not in entry]
        ensure(not missing, "BAD_FILE", f"validator entry lacks {', '.join(missing)}")
    document: dict[str, Any] = {
        "chain": chain,
        "time_ms": time_ms,
        "state": STATE_FORMAT,
        "validators": [{name: entry[name] for name in VALIDATOR_FIELDS} for entry in validators],
        "orgs": list(orgs),
        "currencies": list(currencies),
        "params": dict(params or {}),
    }
    if membership:
        document["membership"] = True
    genesis = genesis_from_value(document)
    addresses = [validator.p2p for validator in genesis.validators]
    for address in addresses:
        ensure(
            addresses.count(address) == 1,
            "DUPLICATE_P2P",
            f"two validators give the same p2p address {address}",
        )
    kinds = {org.id: org.kind for org in genesis.orgs}
    for validator in genesis.validators:
        ensure(
            kinds[validator.org] == "bank",
            "VALIDATOR_NOT_A_BANK",
            f"validator {validator.name} is run by {validator.org!r}, which is not a bank",
        )
    return document, genesis


def genesis_fingerprint(genesis: Genesis) -> str:
    """What every bank compares out of band before starting: the hash block 1 links to."""
    return genesis.hash().hex()


# -- node config -----------------------------------------------------------------------------


def render_node_config(
    *,
    name: str,
    genesis: str,
    key_file: str,
    data_dir: str,
    api: HostPort,
    p2p_listen: HostPort,
    log_level: str = "INFO",
    access: str = "members",
    tls: tuple[str, str] | None = None,
) -> str:
    """A node.toml in node/config.py's layout, every field commented for the operator;
    `tls`: the (certificate, key) paths the API serves https with."""
    ensure(log_level in LOG_LEVELS, "BAD_CONFIG", f"log level must be one of {LOG_LEVELS}")
    ensure(access in ACCESS_MODES, "BAD_CONFIG", f"access must be one of {ACCESS_MODES}")

    def quoted(text: str) -> str:
        return json.dumps(text)  # a JSON string is a valid TOML basic string

    return (
        "# Tallychain node configuration (written by `tally node config`).\n"
        "# Relative paths are relative to this file's folder. Field reference:\n"
        "# docs/configuration.md\n\n"
        "[node]\n"
        "# This validator's name in genesis.json; its keys must match that entry.\n"
        f"name = {quoted(name)}\n"
        "# LevelDB folder for blocks, receipts and state: back it up, never share it.\n"
        f"data_dir = {quoted(data_dir)}\n"
        "# The genesis file every validator shares; compare its hash out of band.\n"
        f"genesis = {quoted(genesis)}\n"
        "# This validator's private keys (mode 0600), from `tally node keygen`.\n"
        f"key_file = {quoted(key_file)}\n"
        "# DEBUG, INFO, WARNING or ERROR.\n"
        f"log_level = {quoted(log_level)}\n\n"
        "[api]\n"
        "# HTTP API (clients, explorer, /metrics, /healthz). 0.0.0.0 listens everywhere.\n"
        f"host = {quoted(api.host.strip('[]'))}\n"
        f"port = {api.port}\n"
        "# members: every request is signed by a registered organization key and reads only\n"
        "# what concerns it (RFC 9421, docs/api.md). open: anyone reads everything (development).\n"
        f"access = {quoted(access)}\n"
        f"{_tls_lines(tls)}\n"
        "[p2p]\n"
        "# Validator-to-validator listen address; peers dial the `p2p` of your genesis entry.\n"
        f"listen = {quoted(str(p2p_listen))}\n"
    )


def _tls_lines(tls: tuple[str, str] | None) -> str:
    if tls is None:
        return ""
    return (
        "# https: the PEM certificate (chain) and its private key (mode 0600).\n"
        f"tls_cert = {json.dumps(tls[0])}\n"
        f"tls_key = {json.dumps(tls[1])}\n"
    )


def check_node_files(
    genesis: Genesis, name: str, keys: ValidatorKeys | None, p2p_listen: HostPort
) -> list[str]:
    """Problems a node would meet at start, found now; warnings (not errors) are returned."""
    entry = next((v for v in genesis.validators if v.name == name), None)
    if entry is None and genesis.membership:
        return [
            f"{name} is not in the genesis set: the node follows the chain without voting "
            "until governance adds it (add_validator) and the change is in force"
        ]
    if entry is None:
        names = ", ".join(v.name for v in genesis.validators)
        raise ConsortiumError(
            "NOT_A_VALIDATOR", f"{name!r} is not a validator in this genesis (validators: {names})"
        )
    if keys is not None:
        ensure(
            keys.ed25519.public == entry.ed25519 and keys.bls.public == entry.bls,
            "NOT_A_VALIDATOR",
            f"the key file does not hold the keys of {name}'s genesis entry",
        )
    warnings = []
    advertised = parse_host_port(entry.p2p)
    if advertised.port != p2p_listen.port:
        warnings.append(
            f"peers dial {entry.p2p} (genesis) but the node listens on {p2p_listen}: "
            "forward that port or use the same one"
        )
    return warnings
