"""Shortcuts for compliance tests: governance changes passed at once, and refusals that must
change nothing at all."""

from __future__ import annotations

from typing import Any

from ledger.types import Receipt
from tests.support.contract_chain import ContractChain, TxFailed

BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")
EXPIRED = "2025-12-31"  # the day before the dev chain's genesis date


def governance(chain: ContractChain, action: str, params: dict[str, Any]) -> Receipt:
    """Pass a registry change with three of the four banks (⌈8/3⌉ = 3); the deciding receipt."""
    proposal = chain.call(
        "bank-a", "registry", "propose", {"action": action, "params": params}, role="admin"
    )["id"]
    chain.call("bank-b", "registry", "approve", {"id": proposal}, role="admin")
    receipt = chain.submit("bank-c", "registry", "approve", {"id": proposal}, role="admin")
    if receipt.status != "ok":
        raise TxFailed(receipt)
    return receipt


def sanction(chain: ContractChain, org: str, sanctioned: bool = True) -> Receipt:
    return governance(chain, "set_sanctioned", {"org": org, "sanctioned": sanctioned})


def expire_kyc(chain: ContractChain, org: str, expires: str = EXPIRED) -> Receipt:
    return governance(chain, "set_kyc", {"org": org, "kyc_expires": expires})


def set_limit(chain: ContractChain, org: str, currency: str, amount: int | None) -> Receipt:
    return governance(chain, "set_limit", {"org": org, "currency": currency, "amount": amount})


def refused(
    chain: ContractChain,
    org: str,
    contract: str,
    method: str,
    args: dict[str, Any],
    role: str = "operator",
) -> str:
    """Submit a call that must fail; it must leave every state key (balances, pieces, offers,
    holds, daily counters, ...) exactly as it was. Its error code."""
    before = chain.state_items()
    receipt = chain.submit(org, contract, method, args, role)
    assert receipt.status == "failed", f"{contract}.{method} by {org} succeeded"
    assert chain.state_items() == before, f"failed {contract}.{method} changed state"
    assert receipt.error is not None
    return receipt.error.code


def events_of(receipt: Receipt, kind: str) -> list[dict[str, Any]]:
    return [dict(e) for e in receipt.events if e.get("type") == kind]
