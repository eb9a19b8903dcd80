"""State badges in headless Chromium (issue 13): an organization's balances and a receivable
piece proved by their state proofs against the genesis file, and a node that lies about values
(the tampering proxy's --mode value) shown failing, its values marked unverified."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, start_explorer, start_tamper_proxy, stop
from tests.browser.story import Story

pytestmark = pytest.mark.browser

ORG = "acme-steel"  # holds CNY after the story (issued to it, paid for its receivables)
SIGNED = re.compile(r"signed by Bank [A-D](, Bank [A-D])+ \([34] of 4 validators, quorum 3\)")


def test_org_balances_are_state_verified(page: Any, explorer: str, story: Story) -> None:
    page.goto(f"{explorer}/org/{ORG}")
    verdict = page.get_by_test_id("state-verdict")
    expect(verdict).to_have_attribute("data-status", "verified")
    expect(verdict).to_contain_text(re.compile(r"State verified at height \d+"))
    expect(verdict).to_contain_text(SIGNED)
    rows = page.locator('[data-testid="balances"] tbody tr')
    expect(rows).to_have_count(5)  # every currency of the chain, each with its proof
    expect(page.locator('[data-testid="balances"] tr[data-status="verified"]')).to_have_count(5)
    cny = page.locator('[data-testid="balances"] tr[data-currency="CNY"]')
    expect(cny.locator(".proved")).to_contain_text("CNY")
    expect(cny.locator(".badge.ok")).to_contain_text(re.compile(r"verified @\d+"))
    expect(cny).to_contain_text(f"cash/bal/CNY/{ORG}")
    screenshot(page, "state-verified-org")


def test_receivable_holder_and_status_are_state_verified(
    page: Any, explorer: str, story: Story
) -> None:
    if not story.receivable_piece:
        pytest.skip("the receivables contract is not on this chain")
    page.goto(f"{explorer}/receivable/{story.receivable_piece}")
    verdict = page.get_by_test_id("state-verdict")
    expect(verdict).to_have_attribute("data-status", "verified")
    expect(verdict).to_contain_text("this piece's holder, amount and status")
    expect(verdict).to_contain_text(SIGNED)
    holder = page.get_by_test_id("holder")
    expect(holder.locator("a.org")).to_have_text("ore-mining")  # acme-steel transferred it
    expect(holder.locator(".badge.ok")).to_contain_text("verified @")
    status = page.get_by_test_id("piece-status")
    expect(status).to_contain_text(re.compile(r"settled verified @\d+"))
    screenshot(page, "state-verified-receivable")


def test_a_node_lying_about_values_is_shown_failing(
    page: Any, node_url: str, localnet: Any, story: Story
) -> None:
    proxy, proxy_url = start_tamper_proxy(node_url, 1, "value")
    try:
        process, url = start_explorer(proxy_url, localnet["genesis"], localnet)
        try:
            if story.receivable_piece:
                page.goto(f"{url}/receivable/{story.receivable_piece}")
                verdict = page.get_by_test_id("state-verdict")
                expect(verdict).to_have_attribute("data-status", "failed")
                expect(page.get_by_test_id("holder").locator(".unverified")).to_have_text(
                    "ore-mining"
                )
            page.goto(f"{url}/org/{ORG}")
            verdict = page.get_by_test_id("state-verdict")
            expect(verdict).to_have_attribute("data-status", "failed")
            expect(verdict).to_contain_text("state NOT verified at height")
            expect(verdict).to_contain_text("do not hash to the block's state root")
            balances = page.get_by_test_id("balances")
            expect(balances.locator('tr[data-status="failed"]')).to_have_count(5)
            expect(balances.locator(".proved")).to_have_count(0)  # nothing shown as true
            cny = balances.locator('tr[data-currency="CNY"]')
            expect(cny.locator(".unverified")).to_contain_text("CNY")
            expect(cny.locator(".badge.bad")).to_have_text("NOT verified")
            screenshot(page, "state-tampered")
        finally:
            stop(process)
    finally:
        stop(proxy)
