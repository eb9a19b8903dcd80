"""The genesis file (DESIGN.md §11): who validates, who the organizations are, which currencies.

Loading validates everything a node will later trust: duplicate JSON keys, malformed keys,
BLS proofs of possession (without them an aggregate signature can be forged by a rogue key),
a validator count of the form n = 3f + 1, and params under which every consensus message fits
in a frame (ledger.message_bounds). Each error names what is wrong.

`"state": "smt-v1"` marks a genesis of the second release, whose `state_root` is the root of
the state tree (DESIGN.md §6). A genesis without it is of the first release, whose state root
was a running hash of write-sets: no second-release node computes those roots, so it is refused
(`GENESIS_FIRST_RELEASE`) rather than started on a chain it would fork from at block 1.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger import codec
from ledger.crypto import bls
from ledger.dates import is_calendar_date
from ledger.errors import GenesisError, TallyError
from ledger.hashing import GENESIS_TAG, sha256, tagged_hash
from ledger.message_bounds import oversized

STATE_FORMAT = "smt-v1"  # the genesis field "state": what a header's state_root commits to
ORG_KINDS = ("bank", "enterprise", "auditor", "regulator")
KEY_ROLES = ("admin", "operator", "viewer")

DEFAULT_PARAMS: dict[str, int] = {
    "batch_ms": 50,
    "block_max_txs": 4000,
    "block_max_bytes": 4 * 1024 * 1024,
    "max_tx_bytes": 64 * 1024,
    "max_tx_validity": 1000,
    "window": 8,
    "checkpoint_interval": 32,
    "max_frame_bytes": 16 * 1024 * 1024,
    "view_timeout_ms": 3000,
    "mempool_max_txs": 200_000,
    "max_clock_skew_ms": 30_000,
    "receivable_grace_days": 30,  # days after its due date before an invoice may be defaulted
}
# Params whose range is not "any positive integer": (least, greatest).
PARAM_RANGES: dict[str, tuple[int, int]] = {"receivable_grace_days": (0, 3650)}

_ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


@dataclass(frozen=True, slots=True)
class ValidatorInfo:
    name: str
    org: str
    ed25519: bytes
    bls: bytes
    bls_pop: bytes
    p2p: str


@dataclass(frozen=True, slots=True)
class OrgKey:
    public: bytes
    role: str


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: str
    name: str
    kind: str
    jurisdiction: str
    keys: tuple[OrgKey, ...]
    kyc_expires: str  # ISO date; empty means no KYC on file
    sanctioned: bool
    daily_limits: dict[str, int] = field(hash=False)


@dataclass(frozen=True, slots=True)
class CurrencyInfo:
    code: str
    decimals: int
    issuers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Genesis:
    chain: str
    time_ms: int
    validators: tuple[ValidatorInfo, ...]
    orgs: tuple[OrgInfo, ...]
    currencies: tuple[CurrencyInfo, ...]
    params: dict[str, int] = field(hash=False)
    raw: dict[str, Any] = field(hash=False, compare=False)

    @property
    def f(self) -> int:
        return (len(self.validators) - 1) // 3

    @property
    def quorum(self) -> int:
        return 2 * self.f + 1

    def validators_hash(self) -> bytes:
        return validators_hash(self.validators)

    def hash(self) -> bytes:
        """The hash block 1 links to as its `prev`."""
        return tagged_hash(GENESIS_TAG, codec.encode(self.raw))

    def validator_index(self, ed25519: bytes) -> int | None:
        for index, validator in enumerate(self.validators):
            if validator.ed25519 == ed25519:
                return index
        return None

    def currency(self, code: str) -> CurrencyInfo | None:
        return next((c for c in self.currencies if c.code == code), None)

    @property
    def development(self) -> bool:
        """Whether genesis marks a development chain (`"development": true`): only such a
        chain may move its block clock (`tally localnet time`, contracts/devclock.py)."""
        return self.raw.get("development") is True

    @property
    def membership(self) -> bool:
        """Whether governance may change the validator set (`"membership": true`,
        contracts/membership.py); without it the genesis set is the set forever."""
        return self.raw.get("membership") is True


def validators_hash(validators: tuple[ValidatorInfo, ...] | list[ValidatorInfo]) -> bytes:
    return sha256(codec.encode([[v.ed25519, v.bls] for v in validators]))


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise GenesisError(f"duplicate key {key!r} in genesis JSON")
        result[key] = value
    return result


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise GenesisError(message)


def _hex(value: Any, size: int, where: str) -> bytes:
    _need(isinstance(value, str), f"{where} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise GenesisError(f"{where} is not hex") from None
    _need(len(raw) == size, f"{where} must be {size} bytes, got {len(raw)}")
    return raw


def load_genesis(path: str | Path) -> Genesis:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from None
    return parse_genesis(text)


def parse_genesis(text: str) -> Genesis:
    try:
        raw = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise GenesisError(f"genesis is not valid JSON: {exc}") from None
    return genesis_from_value(raw)


class FirstReleaseGenesis(TallyError):
    """A genesis file written for the first release (no "state" field)."""

    def __init__(self) -> None:
        super().__init__(
            "GENESIS_FIRST_RELEASE",
            'this genesis is of Tallychain\'s first release (it has no "state": '
            f'"{STATE_FORMAT}"): its state roots were hashes of write-sets, which this '
            "release does not compute; start a new chain with a second-release genesis "
            "(tally node genesis, tally localnet up)",
        )


def _check_state_format(raw: dict[str, Any]) -> None:
    if "state" not in raw:
        raise FirstReleaseGenesis()
    _need(
        raw["state"] == STATE_FORMAT,
        f"state must be {STATE_FORMAT!r} (the state tree of this release), not {raw['state']!r}",
    )


def genesis_from_value(raw: Any) -> Genesis:
    _need(isinstance(raw, dict), "genesis must be a JSON object")
    _check_state_format(raw)
    for name in ("chain", "time_ms", "validators", "orgs", "currencies"):
        _need(name in raw, f"genesis is missing {name!r}")
    _need(isinstance(raw["chain"], str) and raw["chain"] != "", "chain must be a non-empty string")
    _need(isinstance(raw["time_ms"], int) and raw["time_ms"] >= 0, "time_ms must be an integer")
    _need(isinstance(raw.get("development", False), bool), "development must be true or false")
    _need(isinstance(raw.get("membership", False), bool), "membership must be true or false")

    validators = tuple(
        _validator(v, i) for i, v in enumerate(_list(raw["validators"], "validators"))
    )
    n = len(validators)
    _need(n >= 1, "genesis needs at least one validator")
    f = (n - 1) // 3
    _need(n == 3 * f + 1, f"{n} validators is not of the form 3f+1 (use 1, 4, 7, 10, ...)")
    _unique([v.name for v in validators], "validator name")
    _unique([v.ed25519.hex() for v in validators], "validator ed25519 key")
    _unique([v.bls.hex() for v in validators], "validator BLS key")

    orgs = tuple(_org(o, i) for i, o in enumerate(_list(raw["orgs"], "orgs")))
    _unique([o.id for o in orgs], "organization id")
    _unique([k.public.hex() for o in orgs for k in o.keys], "organization key")
    org_ids = {o.id for o in orgs}
    for v in validators:
        _need(v.org in org_ids, f"validator {v.name} names unknown organization {v.org!r}")

    currencies = tuple(
        _currency(c, i) for i, c in enumerate(_list(raw["currencies"], "currencies"))
    )
    _unique([c.code for c in currencies], "currency code")
    for c in currencies:
        for issuer in c.issuers:
            _need(issuer in org_ids, f"currency {c.code} names unknown issuer {issuer!r}")
            kind = next(o.kind for o in orgs if o.id == issuer)
            _need(kind == "bank", f"currency {c.code} issuer {issuer!r} is not a bank")

    params = dict(DEFAULT_PARAMS)
    given = raw.get("params", {})
    _need(isinstance(given, dict), "params must be an object")
    for key, value in given.items():
        _need(key in DEFAULT_PARAMS, f"unknown param {key!r}")
        _need(isinstance(value, int) and not isinstance(value, bool), _param_rule(key))
        least, greatest = PARAM_RANGES.get(key, (1, value))
        _need(least <= value <= greatest, _param_rule(key))
        params[key] = value
    problem = oversized(params, n, raw["chain"])
    _need(problem is None, f"params: {problem}")
    return Genesis(raw["chain"], raw["time_ms"], validators, orgs, currencies, params, raw)


def _param_rule(key: str) -> str:
    if key in PARAM_RANGES:
        least, greatest = PARAM_RANGES[key]
        return f"param {key!r} must be an integer from {least} to {greatest}"
    return f"param {key!r} must be a positive integer"


def _list(value: Any, where: str) -> list[Any]:
    _need(isinstance(value, list), f"{where} must be a list")
    return list(value)


def _unique(items: list[str], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        _need(item not in seen, f"duplicate {what} {item!r}")
        seen.add(item)


def _validator(value: Any, index: int) -> ValidatorInfo:
    where = f"validators[{index}]"
    _need(isinstance(value, dict), f"{where} must be an object")
    for name in ("name", "org", "ed25519", "bls", "bls_pop", "p2p"):
        _need(name in value, f"{where} is missing {name!r}")
    _need(isinstance(value["name"], str) and value["name"] != "", f"{where}.name must be a string")
    _need(
        isinstance(value["p2p"], str) and bool(_HOST_PORT.match(value["p2p"])),
        f"{where}.p2p must be host:port",
    )
    public = _hex(value["bls"], 48, f"{where}.bls")
    pop = _hex(value["bls_pop"], 96, f"{where}.bls_pop")
    _need(
        bls.pop_verify(public, pop), f"{where} ({value['name']}) has a bad BLS proof of possession"
    )
    return ValidatorInfo(
        name=value["name"],
        org=str(value["org"]),
        ed25519=_hex(value["ed25519"], 32, f"{where}.ed25519"),
        bls=public,
        bls_pop=pop,
        p2p=value["p2p"],
    )


def _org(value: Any, index: int) -> OrgInfo:
    where = f"orgs[{index}]"
    _need(isinstance(value, dict), f"{where} must be an object")
    for name in ("id", "name", "kind"):
        _need(name in value, f"{where} is missing {name!r}")
    org_id = value["id"]
    _need(
        isinstance(org_id, str) and bool(_ORG_ID.match(org_id)),
        f"{where}.id must be lowercase letters, digits and dashes",
    )
    _need(value["kind"] in ORG_KINDS, f"{where}.kind must be one of {', '.join(ORG_KINDS)}")
    keys = []
    for k_index, key in enumerate(_list(value.get("keys", []), f"{where}.keys")):
        _need(isinstance(key, dict), f"{where}.keys[{k_index}] must be an object")
        _need(
            key.get("role") in KEY_ROLES, f"{where}.keys[{k_index}].role must be one of {KEY_ROLES}"
        )
        keys.append(
            OrgKey(_hex(key.get("public"), 32, f"{where}.keys[{k_index}].public"), key["role"])
        )
    limits = value.get("daily_limits", {})
    _need(
        isinstance(limits, dict) and all(isinstance(v, int) and v >= 0 for v in limits.values()),
        f"{where}.daily_limits must map currency codes to amounts",
    )
    kyc = value.get("kyc_expires", "")
    _need(
        kyc == "" or is_calendar_date(kyc),
        f"{where}.kyc_expires must be a real calendar day written YYYY-MM-DD (or empty)",
    )
    return OrgInfo(
        id=org_id,
        name=str(value["name"]),
        kind=value["kind"],
        jurisdiction=str(value.get("jurisdiction", "")),
        keys=tuple(keys),
        kyc_expires=kyc,
        sanctioned=bool(value.get("sanctioned", False)),
        daily_limits=dict(limits),
    )


def _currency(value: Any, index: int) -> CurrencyInfo:
    where = f"currencies[{index}]"
    _need(isinstance(value, dict), f"{where} must be an object")
    code = value.get("code")
    _need(isinstance(code, str) and bool(_CURRENCY.match(code)), f"{where}.code must be ISO 4217")
    decimals = value.get("decimals")
    _need(isinstance(decimals, int) and 0 <= decimals <= 4, f"{where}.decimals must be 0..4")
    issuers = _list(value.get("issuers", []), f"{where}.issuers")
    return CurrencyInfo(code, decimals, tuple(str(i) for i in issuers))
