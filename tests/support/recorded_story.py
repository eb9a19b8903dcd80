"""One fixed story across receivables, payments and netting, with every tx id the same each run.

`ReplayableChain` numbers nonces instead of drawing them, so ids, records and state roots are
identical on every run: a test can compare what is stored with bytes recorded from an earlier
release of the contracts (tests/unit/data/stored_records_v1.json).
"""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

from ledger.types import SignedTx, TxBody
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import MILLION, issue_args
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args


class ReplayableChain(ContractChain):
    """A `ContractChain` whose txs carry nonces 1, 2, 3, ... (deterministic ids)."""

    def __init__(self, path: str | Path) -> None:
        # Recorded before genesis could mark a development chain (whose genesis state holds the
        # clock offset, contracts/devclock.py): replayed on a chain without the marker.
        super().__init__(path, development=False)
        self._nonces = count(1)

    def tx(
        self, org: str, contract: str, method: str, args: dict[str, Any], role: str = "operator"
    ) -> SignedTx:
        body = TxBody(
            chain=self.genesis.chain,
            sender=self.devnet.key(org, role).public,
            contract=contract,
            method=method,
            args=args,
            nonce=next(self._nonces),
            valid_until=self.executor.tip.height + 10,
        )
        return SignedTx.create(body, self.devnet.key(org, role))


def receivables_story(chain: ContractChain) -> dict[str, str]:
    """Issue, accept, split twice, finance, repay; and an invoice rejected. Ids by role."""
    chain.fund("bigauto", "CNY", MILLION)
    chain.fund("bank-a", "CNY", MILLION)
    root = chain.call("acme-steel", "receivables", "issue", issue_args())["id"]
    chain.call("bigauto", "receivables", "accept", {"id": root})
    split = {"id": root, "to": "ore-mining", "amount": 30_000_000}
    ore = chain.call("acme-steel", "receivables", "transfer", split)["id"]
    passed = {"id": ore, "to": "fuel-co", "amount": 10_000_000}
    fuel = chain.call("ore-mining", "receivables", "transfer", passed)["id"]
    chain.call(
        "fuel-co",
        "receivables",
        "transfer",
        {"id": fuel, "to": "rhein-parts", "amount": 10_000_000},
    )
    chain.advance_time(days=10)
    terms = {"id": ore, "rate_bps": 600, "expires_ms": chain.now_ms + HOUR_MS}
    offer = chain.call("bank-a", "receivables", "offer_financing", terms)["id"]
    chain.call("ore-mining", "receivables", "accept_financing", {"offer": offer})
    open_terms = {"id": root, "rate_bps": 450, "expires_ms": chain.now_ms + HOUR_MS}
    open_offer = chain.call("bank-b", "receivables", "offer_financing", open_terms)["id"]
    rejected = chain.call("acme-steel", "receivables", "issue", issue_args(invoice_no="INV/2"))[
        "id"
    ]
    chain.call("bigauto", "receivables", "reject", {"id": rejected, "reason": "not ordered"})
    chain.set_time(chain.genesis.time_ms + 90 * 86_400_000)
    chain.call("bigauto", "receivables", "repay", {"id": root})
    return {
        "root": root,
        "ore": ore,
        "fuel": fuel,
        "offer": offer,
        "open_offer": open_offer,
        "rejected": rejected,
    }


def payments_story(chain: ContractChain) -> dict[str, str]:
    """A same-currency payment and a PvP payment against a quote. Ids by role."""
    chain.fund("acme-steel", "EUR", MILLION)
    chain.fund("acme-steel", "USD", MILLION)
    chain.fund("bank-b", "EUR", MILLION)
    send = chain.call("acme-steel", "payments", "send", pay_args(amount=123_456))["id"]
    quote_args = {
        "base": "USD",
        "quote": "EUR",
        "rate": 92_000_000,
        "max_base": MILLION,
        "expires_ms": chain.now_ms + HOUR_MS,
    }
    quote = chain.call("bank-b", "fx", "quote", quote_args)["id"]
    fx = chain.call("acme-steel", "payments", "send_fx", fx_args(quote, 500_000))["id"]
    return {"send": send, "quote": quote, "fx": fx}


def netting_story(chain: ContractChain) -> dict[str, str]:
    """A window settled among three banks, and one still open. Ids by role."""
    banks = ["bank-a", "bank-b", "bank-c"]
    chain.fund("bank-a", "USD", MILLION)
    chain.fund("bank-b", "USD", MILLION)
    windows = {}
    for name in ("settled", "open"):
        args = {"currency": "USD", "participants": banks, "close_ms": chain.now_ms + HOUR_MS}
        windows[name] = chain.call("bank-a", "netting", "open", args)["id"]
    for payer, payee, value in (("bank-a", "bank-b", 700), ("bank-b", "bank-c", 300)):
        args = {"window": windows["settled"], "to": payee, "amount": value, "ref": "batch-7"}
        chain.call(payer, "netting", "submit", args)
    chain.call(
        "bank-c", "netting", "submit", {"window": windows["open"], "to": "bank-a", "amount": 5}
    )
    chain.advance_time(ms=HOUR_MS + 1)
    chain.call("bank-c", "netting", "settle", {"window": windows["settled"]})
    return windows


def run_story(chain: ContractChain) -> dict[str, str]:
    """Every part of the story, in order; the ids it made, by role."""
    return {**receivables_story(chain), **payments_story(chain), **netting_story(chain)}
