"""The escrow page in headless Chromium (issue 18): an open hash-locked escrow shows what is
locked, for whom and until when; once the payee releases it, the release tx links to the
escrow, whose page shows the revealed preimage checked against the lock by the explorer and the
record proved by its state proof. Screenshots: artifacts/screenshots/escrow-open.png and
escrow-released.png."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, signed_client
from tests.browser.story import Story, keys
from wallet.escrow import EscrowCalls, condition_of, new_secret

pytestmark = pytest.mark.browser

DAY_MS = 86_400_000


def test_an_escrow_page_shows_the_lock_then_the_release_and_its_checked_preimage(
    page: Any, explorer: str, story: Story, localnet: dict[str, Any], node_url: str
) -> None:
    client = signed_client(localnet)
    signers = keys(localnet)
    client.call(
        signers["bank-a"],
        "cash",
        "issue",
        {"currency": "CNY", "to": "acme-steel", "amount": 12_345_600},
    )
    secret = new_secret()
    created = EscrowCalls(client, signers["acme-steel"]).create(
        "CNY", "bigauto", 12_345_600, client.clock_ms() + DAY_MS, condition=condition_of(secret)
    )
    escrow_id = created["result"]["id"]

    page.goto(f"{explorer}/escrow/{escrow_id}")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("open")
    summary = page.get_by_test_id("escrow-summary")
    expect(summary).to_contain_text("123,456.00 CNY locked by acme-steel for bigauto")
    expect(summary).to_contain_text("the payee may release it now, with the preimage")
    expect(page.get_by_test_id("state-verdict")).to_have_attribute("data-status", "verified")
    screenshot(page, "escrow-open")

    released = EscrowCalls(client, signers["bigauto"]).release(escrow_id, preimage=secret)
    page.goto(f"{explorer}/tx/{released['tx']}")
    page.get_by_test_id("escrow-link").click()
    expect(page).to_have_url(f"{explorer}/escrow/{escrow_id}")
    expect(page.get_by_test_id("escrow-status")).to_contain_text("released")
    expect(page.get_by_test_id("escrow-summary")).to_contain_text(
        "123,456.00 CNY released to bigauto"
    )
    expect(page.get_by_test_id("preimage-check")).to_have_text("sha256 matches the lock")
    expect(page.get_by_test_id("escrow-preimage")).to_contain_text(secret.hex()[:12])
    expect(page.get_by_test_id("state-verdict")).to_have_attribute("data-status", "verified")
    expect(page.get_by_test_id("escrow-mismatch")).to_have_count(0)
    screenshot(page, "escrow-released")
