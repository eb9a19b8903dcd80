"""Every page kind of the explorer, walked in headless Chromium: in unverified mode (no genesis
given) no check is ever shown green; at a phone's width (390 px) no page overflows sideways;
and a transaction's arguments and events read with decimals and links, raw under the toggle."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, signed_client, start_explorer, stop
from tests.browser.story import Story
from tests.browser.test_index_browser import _caught_up

pytestmark = pytest.mark.browser

# the green of .badge.ok / .verdict.ok / a passed check's mark (explorer.css --ok, --ok-bg)
GREENS = ["rgb(19, 122, 62)", "rgb(229, 245, 235)", "rgb(13, 90, 45)"]
GREEN_SHOWN = """greens => Array.from(document.querySelectorAll('.badge, .verdict, .checks .mark'))
  .filter(el => el.offsetParent !== null)
  .filter(el => { const s = getComputedStyle(el);
    return greens.includes(s.color) || greens.includes(s.backgroundColor); })
  .map(el => el.className + ': ' + el.textContent.trim().slice(0, 60))"""
OVERFLOW = """() => ({scroll: document.documentElement.scrollWidth,
  client: document.documentElement.clientWidth})"""


def _paths(story: Story) -> list[str]:
    """One page of every kind the explorer serves."""
    return [
        "/", "/blocks", "/block/0", "/block/3", f"/tx/{story.tx_ids[0]}",
        f"/tx/{story.tx_ids[-1]}", "/orgs", "/org/bigauto",
        f"/receivable/{story.receivable_root}", f"/receivable/{story.receivable_piece}",
        f"/payment/{story.payment_id}", f"/payment/{story.fx_payment_id}", "/txs",
        "/statement?org=bigauto&currency=CNY", "/fx", "/netting", "/proposals",
        "/currencies", "/validators", "/search?q=nothing-like-this", "/block/999999",
    ]  # fmt: skip


def test_unverified_mode_shows_no_green_on_any_page(
    page: Any, node_url: str, story: Story, localnet: Any
) -> None:
    process, url = start_explorer(node_url, None, localnet)
    try:
        _caught_up(page, f"{url}/txs", signed_client(localnet).height())
        for path in _paths(story):
            page.goto(url + path)
            expect(page.locator(".banner.unverified")).to_be_visible()
            assert page.evaluate(GREEN_SHOWN, GREENS) == [], path
        page.goto(f"{url}/tx/{story.tx_ids[0]}")
        expect(page.get_by_test_id("proof-verdict").locator(".badge")).to_have_text("consistent")
        screenshot(page, "unverified-tx")
        page.goto(f"{url}/blocks")
        screenshot(page, "unverified-blocks")
    finally:
        stop(process)


def test_no_page_overflows_a_phones_width(
    browser: Any, explorer: str, node_url: str, story: Story, localnet: Any
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        try:
            _caught_up(phone, f"{explorer}/txs", signed_client(localnet).height())
        except AssertionError:
            raise AssertionError(phone.locator(".card").first.inner_text()) from None
        wide = []
        for path in _paths(story):
            phone.goto(explorer + path)
            size = phone.evaluate(OVERFLOW)
            if size["scroll"] > size["client"]:
                wide.append((path, size))
        for name, path in (
            ("phone-tx", f"/tx/{story.tx_ids[0]}"),
            ("phone-netting", "/netting"),
            ("phone-validators", "/validators"),
            ("phone-dashboard", "/"),
        ):
            phone.goto(explorer + path)
            screenshot(phone, name)
        assert wide == []
    finally:
        context.close()


def test_tx_arguments_and_events_read_with_decimals_and_links_raw_under_the_toggle(
    page: Any, explorer: str, story: Story
) -> None:
    page.goto(f"{explorer}/tx/{story.tx_ids[0]}")  # cash.issue by bank-a
    amount = page.locator('[data-arg="amount"]')
    expect(amount).to_contain_text("CNY")
    shown = amount.locator(".amount").inner_text()
    assert "." in shown, shown  # decimals, not minor units
    expect(page.locator('[data-arg="to"] a.org')).to_have_attribute("href", "/org/bigauto")
    expect(page.get_by_test_id("event-fields").first.locator("a.org").first).to_be_visible()
    screenshot(page, "tx-formatted")
    page.get_by_test_id("raw-toggle").click()
    expect(page).to_have_url(f"{explorer}/tx/{story.tx_ids[0]}?raw=1")
    raw = page.locator('[data-arg="amount"] pre').inner_text()
    assert raw.strip().isdigit() and raw.strip() != shown
    screenshot(page, "tx-raw")
