"""The two stories the product exists for, run as real transactions through the SDK.

`tally demo` runs them on a fresh localnet so the explorer, the API and the CLI have a history to
show; tests run them too. Each step says in words what happens; `say` prints progress.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.crypto import Ed25519Key
from wallet.client import Client

Say = Callable[[str], None]

INVOICE_NO = "INV-1001"
RATE_CNY_EUR = 12_820_513  # 0.12820513 EUR per CNY, × 10^8
NETTING_CLOSE_DELAY_MS = 2_000


@dataclass(slots=True)
class StoryResult:
    """What a story left on the chain, by name, so people and tests can find it."""

    ids: dict[str, str] = field(default_factory=dict)
    tx_ids: list[str] = field(default_factory=list)


class StoryRunner:
    """Runs numbered steps, each one transaction, printing what each did."""

    def __init__(self, client: Client, keys: dict[str, Ed25519Key], say: Say, total: int) -> None:
        self.client = client
        self.keys = keys
        self.say = say
        self.total = total
        self.done = 0
        self.result = StoryResult()

    def step(self, words: str, org: str, contract: str, method: str, args: dict[str, Any]) -> Any:
        self.done += 1
        receipt = self.client.call(self.keys[org], contract, method, args)
        self.result.tx_ids.append(receipt["tx"])
        self.say(
            f"  [{self.done}/{self.total}] {words}  "
            f"(block {receipt['height']}, tx {receipt['tx'][:12]})"
        )
        return receipt.get("result")


def _bank_name(org: str) -> str:
    """`bank-c` as people say it: Bank C."""
    return "Bank " + org.removeprefix("bank-").upper()


def _today() -> datetime:
    return datetime.now(tz=UTC)


def _fund_supply_chain(run: StoryRunner) -> None:
    run.step(
        "Bank A issues 1,200,000.00 CNY of deposit tokens to BigAuto",
        "bank-a",
        "cash",
        "issue",
        {"currency": "CNY", "to": "bigauto", "amount": 120_000_000},
    )
    run.step(
        "Bank A funds its own CNY book with 500,000.00",
        "bank-a",
        "cash",
        "issue",
        {"currency": "CNY", "to": "bank-a", "amount": 50_000_000},
    )


def _issue_invoice(run: StoryRunner) -> str:
    """Acme Steel issues the invoice and BigAuto confirms it; the receivable's id."""
    today = _today().date()
    due = today + timedelta(days=90)
    root: str = run.step(
        f"Acme Steel issues {INVOICE_NO} to BigAuto: 1,000,000.00 CNY due {due.isoformat()}",
        "acme-steel",
        "receivables",
        "issue",
        {
            "invoice_no": INVOICE_NO,
            "debtor": "bigauto",
            "amount": 100_000_000,
            "currency": "CNY",
            "issue_date": today.isoformat(),
            "due_date": due.isoformat(),
            "doc_hash": hashlib.sha256(f"{INVOICE_NO} acme-steel bigauto".encode()).digest(),
        },
    )["id"]
    run.result.ids["receivable"] = root
    run.step(f"BigAuto confirms {INVOICE_NO}", "bigauto", "receivables", "accept", {"id": root})
    return root


def _pass_down(run: StoryRunner, root: str) -> tuple[str, str]:
    """Pieces of the invoice pay suppliers further up the chain: (Ore Mining's, Fuel Co's)."""
    ore_piece: str = run.step(
        "Acme Steel pays Ore Mining 300,000.00 with a piece of it",
        "acme-steel",
        "receivables",
        "transfer",
        {"id": root, "to": "ore-mining", "amount": 30_000_000},
    )["id"]
    fuel_piece: str = run.step(
        "Ore Mining passes 100,000.00 of its piece to Fuel Co",
        "ore-mining",
        "receivables",
        "transfer",
        {"id": ore_piece, "to": "fuel-co", "amount": 10_000_000},
    )["id"]
    return ore_piece, fuel_piece


def _finance(run: StoryRunner, piece: str) -> tuple[str, int]:
    """Bank A buys the piece at a discount: (the offer's id, the price paid)."""
    offer: str = run.step(
        "Bank A offers to buy Ore Mining's 200,000.00 at 6% a year",
        "bank-a",
        "receivables",
        "offer_financing",
        {"id": piece, "rate_bps": 600, "expires_ms": run.client.clock_ms() + 3_600_000},
    )["id"]
    price: int = run.step(
        "Ore Mining sells it to Bank A and is paid at once",
        "ore-mining",
        "receivables",
        "accept_financing",
        {"offer": offer},
    )["price"]
    return offer, price


def supply_chain_story(client: Client, keys: dict[str, Ed25519Key], say: Say) -> StoryResult:
    """Acme Steel's invoice to BigAuto, split down the supply chain, financed and repaid."""
    run = StoryRunner(client, keys, say, total=9)
    _fund_supply_chain(run)
    root = _issue_invoice(run)
    ore_piece, fuel_piece = _pass_down(run, root)
    offer, price = _finance(run, ore_piece)
    paid = run.step(
        f"BigAuto repays {INVOICE_NO}: every holder is paid its piece",
        "bigauto",
        "receivables",
        "repay",
        {"id": root},
    )["paid"]
    run.result.ids.update(ore_piece=ore_piece, fuel_piece=fuel_piece, offer=offer)
    say(
        f"    Ore Mining received {price / 100:,.2f} CNY early; repayment paid "
        + ", ".join(f"{org} {amount / 100:,.2f}" for org, amount in sorted(paid.items()))
    )
    return run.result


def _fund_banks(run: StoryRunner) -> None:
    run.step(
        "Bank A issues 500,000.00 CNY to Acme Steel",
        "bank-a",
        "cash",
        "issue",
        {"currency": "CNY", "to": "acme-steel", "amount": 50_000_000},
    )
    for bank, amount in (("bank-c", 10_000_000), ("bank-a", 1_000_000), ("bank-b", 1_000_000)):
        run.step(
            f"Bank B issues {amount / 100:,.2f} EUR to {_bank_name(bank)}",
            "bank-b",
            "cash",
            "issue",
            {"currency": "EUR", "to": bank, "amount": amount},
        )


def _pay_through_quote(run: StoryRunner) -> None:
    """Bank C quotes CNY→EUR and Acme Steel pays Rhein Parts through it (PvP)."""
    quote = run.step(
        "Bank C quotes CNY→EUR at 0.12820513, up to 1,000,000.00 CNY",
        "bank-c",
        "fx",
        "quote",
        {
            "base": "CNY",
            "quote": "EUR",
            "rate": RATE_CNY_EUR,
            "max_base": 100_000_000,
            "expires_ms": run.client.clock_ms() + 3_600_000,
        },
    )["id"]
    payment = run.step(
        "Acme Steel pays Rhein Parts 50,000.00 EUR: CNY to Bank C, EUR to Rhein Parts, atomically",
        "acme-steel",
        "payments",
        "send_fx",
        {
            "to": "rhein-parts",
            "quote": quote,
            "base_amount": 39_000_000,
            "end_to_end_id": "ACME-RP-2026-0042",
            "purpose": "GDDS",
            "remittance": "Invoice RP-2026-0042, brake discs",
            "originator": {"name": "Acme Steel Co., Ltd.", "country": "CN"},
            "beneficiary": {
                "name": "Rhein Parts GmbH",
                "country": "DE",
                "account": "DE89370400440532013000",
            },
        },
    )
    run.result.ids.update(quote=quote, payment=payment["id"])


def _net_the_day(run: StoryRunner) -> dict[str, Any]:
    """Banks A, B and C record what they owe each other in a window, then settle the nets."""
    close_ms = run.client.clock_ms() + NETTING_CLOSE_DELAY_MS
    window = run.step(
        "Banks A, B and C open an EUR netting window for the day",
        "bank-a",
        "netting",
        "open",
        {"currency": "EUR", "participants": ["bank-a", "bank-b", "bank-c"], "close_ms": close_ms},
    )["id"]
    run.result.ids["netting"] = window
    for payer, payee, amount in (
        ("bank-a", "bank-b", 300_000),
        ("bank-b", "bank-c", 250_000),
        ("bank-c", "bank-a", 100_000),
    ):
        run.step(
            f"{_bank_name(payer)} owes {_bank_name(payee)} {amount / 100:,.2f} EUR",
            payer,
            "netting",
            "submit",
            {"window": window, "to": payee, "amount": amount, "ref": f"{payer}-{payee}"},
        )
    # The close is a point in block time (the proposer's clock): wait until our clock passes it.
    time.sleep(max(0, close_ms - run.client.clock_ms()) / 1000 + 0.05)
    settled: dict[str, Any] = run.step(
        "After the close, the window settles net positions only",
        "bank-c",
        "netting",
        "settle",
        {"window": window},
    )
    return settled


def _reconcile(run: StoryRunner) -> None:
    """What the banks' back offices get: the cover leg as pacs.009 COV, and Bank C's EUR
    statement (camt.053) for the day, each carrying the payment's UETR."""
    client = run.client
    payment = client.payment(run.result.ids["payment"])
    cover = client.payment_pacs009(payment["id"])
    day = str(payment["date"])
    page = client.statement("bank-c", "EUR", day)
    statement = client.statement_xml("bank-c", "EUR", day)
    own = page["accounts"][0]
    run.result.ids.update(uetr=payment["uetr"], statement_date=day)
    run.say(
        f"    UETR {payment['uetr']}: pacs.008 to Bank B, pacs.009 COV from Bank C "
        f"({len(cover)} bytes)"
    )
    run.say(
        f"    Bank C's camt.053 for {day}: EUR {own['opening'] / 100:,.2f} opening, "
        f"{len(own['entries'])} entries, {own['closing'] / 100:,.2f} closing "
        f"({len(statement)} bytes)"
    )


def cross_border_story(client: Client, keys: dict[str, Ed25519Key], say: Say) -> StoryResult:
    """Acme Steel pays Rhein Parts 50,000.00 EUR against Bank C's CNY→EUR quote; banks net;
    the cover leg's pacs.009 COV and Bank C's camt.053 for the day close it."""
    run = StoryRunner(client, keys, say, total=11)
    _fund_banks(run)
    _pay_through_quote(run)
    settled = _net_the_day(run)
    say(
        f"    gross {settled['gross'] / 100:,.2f} EUR settled as net {settled['net'] / 100:,.2f}"
        " EUR: "
        + ", ".join(f"{o} {v / 100:+,.2f}" for o, v in sorted(settled["positions"].items()))
    )
    _reconcile(run)
    return run.result
