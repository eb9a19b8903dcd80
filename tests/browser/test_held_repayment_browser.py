"""The receivable page in headless Chromium shows a repayment held for a sanctioned holder: who
is owed, that the share is blocked, why, since when, and its release (with when) once
governance lifts the sanction (issue 12); the family tree draws the hold as a box of its own."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, signed_client
from tests.browser.story import Story, keys
from wallet.client import Client
from wallet.localnet_keys import localnet_keys

pytestmark = pytest.mark.browser

HOLDER = "fuel-co"  # sanctioned only inside this test, and lifted again before it ends


def _set_sanction(client: Client, localnet: dict[str, Any], sanctioned: bool) -> None:
    """Governance: bank-a proposes, bank-b and bank-c approve (3 of the 4 banks)."""
    admins = localnet_keys(localnet, "admin")
    params = {"org": HOLDER, "sanctioned": sanctioned}
    proposal = client.call(
        admins["bank-a"], "registry", "propose", {"action": "set_sanctioned", "params": params}
    )["result"]["id"]
    for bank in ("bank-b", "bank-c"):
        client.call(admins[bank], "registry", "approve", {"id": proposal})


def _invoice_with_a_piece_for_the_holder(client: Client, signer: dict[str, Any]) -> str:
    # The chain's date: a browser test may have moved the localnet's block clock on.
    today = datetime.fromtimestamp(client.clock_ms() / 1000, tz=UTC).date()
    number = f"INV-HELD-{client.clock_ms() % 10**7}"
    root = client.call(
        signer["acme-steel"],
        "receivables",
        "issue",
        {
            "invoice_no": number,
            "debtor": "bigauto",
            "amount": 20_000_000,
            "currency": "CNY",
            "issue_date": today.isoformat(),
            "due_date": (today + timedelta(days=60)).isoformat(),
            "doc_hash": hashlib.sha256(number.encode()).digest(),
        },
    )["result"]["id"]
    client.call(signer["bigauto"], "receivables", "accept", {"id": root})
    args = {"id": root, "to": HOLDER, "amount": 7_500_000}
    client.call(signer["acme-steel"], "receivables", "transfer", args)
    return str(root)


def test_a_blocked_repayment_is_shown_with_its_reason_and_its_release(
    page: Any, explorer: str, story: Story, localnet: dict[str, Any], node_url: str
) -> None:
    if not story.receivable_root:
        pytest.skip("the receivables contract is not on this chain")
    client = signed_client(localnet)
    root = _invoice_with_a_piece_for_the_holder(client, keys(localnet))
    _set_sanction(client, localnet, True)
    try:
        client.call(keys(localnet)["bigauto"], "receivables", "repay", {"id": root})
        page.goto(f"{explorer}/receivable/{root}")
        section = page.get_by_test_id("held-repayments")
        expect(section).to_be_visible()
        held = section.get_by_test_id("hold-held")
        expect(held).to_contain_text("75,000.00 CNY owed to fuel-co is blocked")
        expect(held).to_contain_text(re.compile(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
        expect(section).to_contain_text("was sanctioned")
        expect(section).to_contain_text("SANCTIONED")
        expect(section).to_contain_text("not yet: blocked until the sanction is lifted")
        graph = page.get_by_test_id("receivable-graph")
        expect(graph).to_contain_text("hold for fuel-co")
        expect(graph).to_contain_text("blocked: SANCTIONED")
        expect(page.get_by_test_id("owed-table")).to_contain_text("75,000.00 CNY blocked")
        expect(page.locator("body")).to_contain_text("repay_held")
        screenshot(page, "receivable-held")
    finally:
        _set_sanction(client, localnet, False)
    page.goto(f"{explorer}/receivable/{root}")
    released = page.get_by_test_id("held-repayments").get_by_test_id("hold-released")
    expect(released).to_contain_text("75,000.00 CNY released to fuel-co")
    expect(released).to_contain_text(re.compile(r"on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"))
    expect(page.get_by_test_id("receivable-graph")).to_contain_text("released to the holder")
    expect(page.locator("body")).to_contain_text("hold_released")
    screenshot(page, "receivable-released")
