"""The development consortium of DESIGN.md §11: always the same cast, with fresh or seeded keys.

Stories, demos and tests name its organizations (`bank-a`, `acme-steel`, ...). Seeds are kept in
the clear, because this is a development network.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ledger.crypto import BLS_CURVE_ORDER, BlsKey, Ed25519Key
from ledger.genesis import STATE_FORMAT

BANKS = (
    ("bank-a", "Bank A", "CN"),
    ("bank-b", "Bank B", "DE"),
    ("bank-c", "Bank C", "US"),
    ("bank-d", "Bank D", "JP"),
)
ENTERPRISES = (
    ("acme-steel", "Acme Steel", "CN"),
    ("bigauto", "BigAuto", "CN"),
    ("ore-mining", "Ore Mining", "CN"),
    ("fuel-co", "Fuel Co", "CN"),
    ("rhein-parts", "Rhein Parts", "DE"),
)
AUDITORS = (("audit-co", "Audit Co", "CN"),)
CURRENCIES = (
    ("CNY", 2, "bank-a"),
    ("EUR", 2, "bank-b"),
    ("USD", 2, "bank-c"),
    ("JPY", 0, "bank-d"),
    ("KWD", 3, "bank-d"),
)
KYC_EXPIRES = "2099-12-31"
DEV_GRACE_DAYS = 30  # genesis params.receivable_grace_days of development chains


@dataclass(frozen=True, slots=True)
class ValidatorSecrets:
    name: str
    org: str
    ed25519: Ed25519Key
    bls: BlsKey
    p2p: str


@dataclass(frozen=True, slots=True)
class DevNet:
    genesis: dict[str, Any]
    validators: tuple[ValidatorSecrets, ...]
    org_keys: dict[str, dict[str, Ed25519Key]]  # org id -> role -> key

    def key(self, org: str, role: str = "admin") -> Ed25519Key:
        return self.org_keys[org][role]


def _derive(seed: bytes | None, label: str) -> bytes | None:
    if seed is None:
        return None
    return hashlib.sha256(seed + b"/" + label.encode()).digest()


def _ed25519(seed: bytes | None, label: str) -> Ed25519Key:
    derived = _derive(seed, label)
    return Ed25519Key.generate() if derived is None else Ed25519Key.from_seed(derived)


def _bls(seed: bytes | None, label: str) -> BlsKey:
    derived = _derive(seed, label)
    if derived is None:
        return BlsKey.generate()
    return BlsKey.from_secret(1 + int.from_bytes(derived, "big") % (BLS_CURVE_ORDER - 1))


def _cast(seed: bytes | None) -> tuple[list[dict[str, Any]], dict[str, dict[str, Ed25519Key]]]:
    """The organizations as genesis lists them, and each one's admin and operator keys."""
    org_keys: dict[str, dict[str, Ed25519Key]] = {}
    orgs = []
    for kind, cast in (("bank", BANKS), ("enterprise", ENTERPRISES), ("auditor", AUDITORS)):
        for org_id, name, jurisdiction in cast:
            admin = _ed25519(seed, f"org/{org_id}/admin")
            operator = _ed25519(seed, f"org/{org_id}/operator")
            org_keys[org_id] = {"admin": admin, "operator": operator}
            orgs.append(
                {
                    "id": org_id,
                    "name": name,
                    "kind": kind,
                    "jurisdiction": jurisdiction,
                    "keys": [
                        {"public": admin.public.hex(), "role": "admin"},
                        {"public": operator.public.hex(), "role": "operator"},
                    ],
                    "kyc_expires": KYC_EXPIRES,
                    "sanctioned": False,
                    "daily_limits": {},
                }
            )
    return orgs, org_keys


def _validators(
    nodes: int, seed: bytes | None, ports: list[int], host: str
) -> tuple[ValidatorSecrets, ...]:
    """`nodes` validators run by the banks in turn (bank-a, bank-b, ...)."""
    validators = []
    for index in range(nodes):
        org = BANKS[index % len(BANKS)][0]
        name = f"validator-{org}" if index < len(BANKS) else f"validator-{index}"
        validators.append(
            ValidatorSecrets(
                name=name,
                org=org,
                ed25519=_ed25519(seed, f"validator/{index}/ed25519"),
                bls=_bls(seed, f"validator/{index}/bls"),
                p2p=f"{host}:{ports[index]}",
            )
        )
    return tuple(validators)


def _validator_entry(validator: ValidatorSecrets) -> dict[str, Any]:
    """A validator as genesis lists it: public keys, proof of possession, P2P address."""
    return {
        "name": validator.name,
        "org": validator.org,
        "ed25519": validator.ed25519.public.hex(),
        "bls": validator.bls.public.hex(),
        "bls_pop": validator.bls.proof_of_possession().hex(),
        "p2p": validator.p2p,
    }


def make_devnet(
    nodes: int,
    *,
    chain: str = "tally-dev",
    time_ms: int = 1_767_225_600_000,  # 2026-01-01T00:00:00Z
    seed: bytes | None = None,
    p2p_ports: list[int] | None = None,
    host: str = "127.0.0.1",
    params: dict[str, int] | None = None,
    membership: bool = False,
) -> DevNet:
    """The cast with `nodes` validators run by the first banks (bank-a, bank-b, ...).

    With `seed`, every key is derived from it, so tests get the same chain each run. With
    `membership`, governance may add and remove validators (DESIGN.md §7).
    """
    if nodes < 1:
        raise ValueError("a network needs at least one validator")
    ports = p2p_ports or [26600 + i for i in range(nodes)]
    orgs, org_keys = _cast(seed)
    validators = _validators(nodes, seed, ports, host)
    genesis = {
        "chain": chain,
        "time_ms": time_ms,
        "state": STATE_FORMAT,
        "validators": [_validator_entry(validator) for validator in validators],
        "orgs": orgs,
        "currencies": [
            {"code": code, "decimals": decimals, "issuers": [issuer]}
            for code, decimals, issuer in CURRENCIES
        ],
        # Written out, so whoever reads a dev genesis sees how long invoices have to default.
        "params": {"receivable_grace_days": DEV_GRACE_DAYS, **(params or {})},
        "development": True,  # may move its block clock (contracts/devclock.py); never production
    }
    if membership:
        genesis["membership"] = True
    return DevNet(genesis, validators, org_keys)
