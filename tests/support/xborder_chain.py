"""Helpers for the cross-border tests: payment arguments, and chains with more banks.

`BigChain` is the dev cast plus extra banks (bank-e, bank-f, ...), with keys derived from a
seed, so netting properties can be checked among up to ten banks.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

from ledger.chain import ChainStore
from ledger.crypto import Ed25519Key
from ledger.genesis import genesis_from_value
from ledger.store import LevelDBStore
from ledger.types import SignedTx
from node.ops.devnet import KYC_EXPIRES
from node.runtime.executor import Executor
from tests.support.contract_chain import ContractChain, _devnet
from wallet.txbuilder import build_tx

HOUR_MS = 3_600_000
EXTRA_BANK_LETTERS = "efghijklmn"


def pay_args(**overrides: Any) -> dict[str, Any]:
    """payments.send arguments for a typical trade payment; override what a test varies."""
    args: dict[str, Any] = {
        "to": "rhein-parts",
        "currency": "EUR",
        "amount": 100,
        "end_to_end_id": "E2E-"
        + hashlib.sha256(repr(sorted(overrides.items())).encode()).hexdigest()[:12],
        "purpose": "GDDS",
        "remittance": "Invoice RP-2026-0042, steel flanges",
        "originator": {"name": "Acme Steel Co., Ltd.", "town": "Shanghai", "country": "CN"},
        "beneficiary": {"name": "Rhein Parts GmbH", "town": "Duisburg", "country": "DE"},
    }
    args.update(overrides)
    return args


def fx_args(quote: str, base_amount: int, **overrides: Any) -> dict[str, Any]:
    args = pay_args(**overrides)
    for name in ("currency", "amount"):
        args.pop(name)
    args.update(quote=quote, base_amount=base_amount)
    return args


def extra_bank_ids(count: int) -> list[str]:
    return [f"bank-{letter}" for letter in EXTRA_BANK_LETTERS[:count]]


class BigChain(ContractChain):
    """The dev consortium plus `extra_banks` more banks, each with admin and operator keys."""

    def __init__(self, path: str | Path, extra_banks: int, *, seed: bytes = b"test") -> None:
        devnet = _devnet(seed)
        raw = copy.deepcopy(devnet.genesis)
        self.extra_keys: dict[str, dict[str, Ed25519Key]] = {}
        for org in extra_bank_ids(extra_banks):
            keys = {
                role: Ed25519Key.from_seed(
                    hashlib.sha256(seed + f"/{org}/{role}".encode()).digest()
                )
                for role in ("admin", "operator")
            }
            self.extra_keys[org] = keys
            raw["orgs"].append(
                {
                    "id": org,
                    "name": org.title(),
                    "kind": "bank",
                    "jurisdiction": "SG",
                    "keys": [{"public": k.public.hex(), "role": r} for r, k in keys.items()],
                    "kyc_expires": KYC_EXPIRES,
                    "sanctioned": False,
                    "daily_limits": {},
                }
            )
        self.devnet = devnet
        self.genesis = genesis_from_value(raw)
        self.kv = LevelDBStore(path)
        self.store = ChainStore(self.kv)
        self.executor = Executor(self.store, self.genesis)
        self.now_ms = self.genesis.time_ms

    def key(self, org: str, role: str) -> Ed25519Key:
        if org in self.extra_keys:
            return self.extra_keys[org][role]
        return self.devnet.key(org, role)

    def tx(
        self, org: str, contract: str, method: str, args: dict[str, Any], role: str = "operator"
    ) -> SignedTx:
        valid_until = self.executor.tip.height + 10
        return build_tx(
            self.key(org, role), self.genesis.chain, contract, method, args, valid_until
        )
