"""The demo's third story: an invoice that goes wrong, financed with recourse.

Rhein Parts invoices BigAuto (INV-1002, 500,000.00 EUR), pays Fuel Co with a piece of it and
sells the rest to Bank B *with recourse*. The block clock moves 100 days on (a development
chain's `clock.advance`, done by the caller: only it knows the localnet); BigAuto repays 40 %,
shared pro rata; the invoice defaults; Bank B turns its piece on Rhein Parts, which repays it in
two parts. Fuel Co's piece, given by transfer and not bought, stays a claim on BigAuto.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.crypto import Ed25519Key
from wallet.client import Client
from wallet.stories import Say, StoryResult, StoryRunner

RECOURSE_INVOICE_NO = "INV-1002"
FACE = 50_000_000  # 500,000.00 EUR
FUEL_SHARE = 15_000_000  # the piece Rhein Parts pays Fuel Co with
DUE_DAYS = 90
GRACE_DAYS = 5
CLOCK_DAYS = 100  # past the due date and the grace days
REPAY_PERCENT = 40
SELLER_FIRST_PART = 10_000_000
STEPS = 14

AdvanceClock = Callable[[int], dict[str, Any]]  # days -> tally localnet time's answer
Pause = Callable[[StoryResult], None]


PEOPLE = {"bank-b": "Bank B", "fuel-co": "Fuel Co", "rhein-parts": "Rhein Parts"}


def eur(minor: int) -> str:
    """Minor units of EUR as people write them: 210,000.00 EUR."""
    return f"{minor / 100:,.2f} EUR"


def _chain_date(client: Client) -> date:
    """Today on the chain's block clock (a development chain's may run ahead)."""
    return datetime.fromtimestamp(client.clock_ms() / 1000, tz=UTC).date()


def _fund(run: StoryRunner) -> None:
    run.step(
        "Bank B issues 200,000.00 EUR of deposit tokens to BigAuto",
        "bank-b",
        "cash",
        "issue",
        {"currency": "EUR", "to": "bigauto", "amount": 20_000_000},
    )
    run.step(
        "Bank B funds its own EUR book with 500,000.00",
        "bank-b",
        "cash",
        "issue",
        {"currency": "EUR", "to": "bank-b", "amount": 50_000_000},
    )


def _issue_split_and_sell(run: StoryRunner) -> tuple[str, str, int]:
    """Issued, confirmed, a piece to Fuel Co, the rest sold to Bank B with recourse:
    (root id, Fuel Co's piece id, the price Bank B paid)."""
    today = _chain_date(run.client)
    due = today + timedelta(days=DUE_DAYS)
    last = due + timedelta(days=GRACE_DAYS)
    root: str = run.step(
        f"Rhein Parts issues {RECOURSE_INVOICE_NO} to BigAuto: {eur(FACE)} due {due}, "
        f"{GRACE_DAYS} days' grace (to {last})",
        "rhein-parts",
        "receivables",
        "issue",
        {
            "invoice_no": RECOURSE_INVOICE_NO,
            "debtor": "bigauto",
            "amount": FACE,
            "currency": "EUR",
            "issue_date": today.isoformat(),
            "due_date": due.isoformat(),
            "grace_days": GRACE_DAYS,
            "doc_hash": hashlib.sha256(
                f"{RECOURSE_INVOICE_NO} rhein-parts bigauto".encode()
            ).digest(),
        },
    )["id"]
    run.result.ids["recourse_receivable"] = root
    run.step(
        f"BigAuto confirms {RECOURSE_INVOICE_NO}", "bigauto", "receivables", "accept", {"id": root}
    )
    fuel: str = run.step(
        f"Rhein Parts pays Fuel Co {eur(FUEL_SHARE)} with a piece of it",
        "rhein-parts",
        "receivables",
        "transfer",
        {"id": root, "to": "fuel-co", "amount": FUEL_SHARE},
    )["id"]
    kept = FACE - FUEL_SHARE
    offer: str = run.step(
        f"Bank B offers to buy Rhein Parts' {eur(kept)} at 6% a year, with recourse: "
        "if BigAuto defaults, Rhein Parts owes it",
        "bank-b",
        "receivables",
        "offer_financing",
        {
            "id": root,
            "rate_bps": 600,
            "expires_ms": run.client.clock_ms() + 3_600_000,
            "with_recourse": True,
        },
    )["id"]
    price: int = run.step(
        "Rhein Parts sells it to Bank B and is paid at once",
        "rhein-parts",
        "receivables",
        "accept_financing",
        {"offer": offer},
    )["price"]
    run.say(f"    Rhein Parts received {eur(price)} for {eur(kept)} due in {DUE_DAYS} days")
    return root, fuel, price


def _move_clock(run: StoryRunner, advance_clock: AdvanceClock) -> None:
    moved = advance_clock(CLOCK_DAYS)
    run.done += 1
    run.say(
        f"  [{run.done}/{run.total}] The block clock moves {CLOCK_DAYS} days on, to "
        f"{moved['time']}: {RECOURSE_INVOICE_NO} is past its due date and its grace days  "
        f"(block {moved['height']})"
    )


def _repay_part_and_default(run: StoryRunner, root: str) -> None:
    run.step(
        f"Fuel Co marks {RECOURSE_INVOICE_NO} overdue: BigAuto has not paid on the due date",
        "fuel-co",
        "receivables",
        "mark_overdue",
        {"id": root},
    )
    amount = FACE * REPAY_PERCENT // 100
    repaid = run.client.call(
        run.keys["bigauto"], "receivables", "repay", {"id": root, "amount": amount}
    )
    _record(run, repaid, f"BigAuto repays {REPAY_PERCENT} % ({eur(amount)}), shared pro rata")
    paid, left = repaid["result"]["paid"], repaid["result"]["outstanding"]
    shares = (f"{PEOPLE.get(org, org)} gets {eur(share)}" for org, share in sorted(paid.items()))
    run.say("    " + ", ".join(shares) + f"; BigAuto still owes {eur(left)}")
    run.step(
        f"Bank B declares {RECOURSE_INVOICE_NO} in default after the grace days: "
        f"BigAuto still owes {eur(left)}",
        "bank-b",
        "receivables",
        "declare_default",
        {"id": root},
    )


def _record(run: StoryRunner, receipt: dict[str, Any], words: str) -> None:
    """Count and print a step whose receipt the story needed before it could word it."""
    run.done += 1
    run.result.tx_ids.append(receipt["tx"])
    run.say(
        f"  [{run.done}/{run.total}] {words}  (block {receipt['height']}, tx {receipt['tx'][:12]})"
    )


def _recourse_and_seller_repays(run: StoryRunner, root: str) -> int:
    """Bank B turns its piece on Rhein Parts, which repays it in two parts; what it owed."""
    turned = run.client.call(run.keys["bank-b"], "receivables", "recourse", {"id": root})
    owed = int(turned["result"]["amount"])
    _record(
        run,
        turned,
        f"Bank B turns its piece on Rhein Parts (bought with recourse): Rhein Parts now owes "
        f"it {eur(owed)}, due at once",
    )
    run.step(
        f"Rhein Parts repays Bank B {eur(SELLER_FIRST_PART)}: {eur(owed - SELLER_FIRST_PART)} left",
        "rhein-parts",
        "receivables",
        "repay",
        {"id": root, "amount": SELLER_FIRST_PART},
    )
    run.step(
        f"Rhein Parts repays Bank B the remaining {eur(owed - SELLER_FIRST_PART)}: its piece "
        "is settled",
        "rhein-parts",
        "receivables",
        "repay",
        {"id": root},
    )
    return owed


def recourse_story(
    client: Client,
    keys: dict[str, Ed25519Key],
    say: Say,
    advance_clock: AdvanceClock,
    before_recourse: Pause | None = None,
) -> StoryResult:
    """INV-1002 of Rhein Parts to BigAuto: split, sold with recourse, 40 % repaid, defaulted,
    turned on Rhein Parts and repaid by it. `before_recourse` runs once the invoice defaulted
    (a test looks at the chain then)."""
    run = StoryRunner(client, keys, say, total=STEPS)
    _fund(run)
    root, fuel, _price = _issue_split_and_sell(run)
    run.result.ids["recourse_fuel_piece"] = fuel
    _move_clock(run, advance_clock)
    _repay_part_and_default(run, root)
    if before_recourse is not None:
        before_recourse(run.result)
    _recourse_and_seller_repays(run, root)
    fuel_left = FUEL_SHARE * (100 - REPAY_PERCENT) // 100
    say(
        f"    Bank B is repaid in full; Fuel Co's {eur(fuel_left)} (its piece was given, not "
        "bought) stays a claim on BigAuto, in default"
    )
    return run.result
