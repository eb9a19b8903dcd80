"""The pages on the index in headless Chromium: the transactions list filtered through its form
and paged, an organization's statement agreeing with the node's balance, its CSV download
checked row by row against the table, and the list at a phone's width."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, signed_client
from tests.browser.story import Story
from wallet.amounts import format_amount

pytestmark = pytest.mark.browser


def _caught_up(page: Any, url: str, tip: int, timeout_s: float = 60.0) -> None:
    """Reload `url` until the explorer's own index has reached `tip`."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(url)
        if int(page.get_by_test_id("index-height").inner_text()) >= tip:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the explorer's index did not reach block {tip}")
        page.wait_for_timeout(250)


def test_transactions_filtered_by_form_and_paged(
    page: Any, explorer: str, node_url: str, story: Story, localnet: Any
) -> None:
    _caught_up(page, f"{explorer}/txs", signed_client(localnet).height())
    form = page.get_by_test_id("tx-filters")
    form.locator('input[name="org"]').fill("bigauto")
    form.locator('select[name="status"]').select_option("ok")
    form.locator('button[type="submit"]').click()
    expect(page).to_have_url(f"{explorer}/txs?org=bigauto&contract=&method=&status=ok"
                             "&currency=&from_height=&to_height=&since=&until=")  # fmt: skip
    rows = page.locator('[data-testid="txs-table"] tbody tr')
    assert rows.count() >= 3
    for i in range(rows.count()):
        text = rows.nth(i).inner_text()
        assert "bigauto" in text and "ok" in text
    page.goto(f"{explorer}/txs?contract=cash&method=issue")
    issues = page.locator('[data-testid="txs-table"] tbody tr')
    expect(issues.first).to_contain_text("cash.issue")
    assert all("cash.issue" in issues.nth(i).inner_text() for i in range(issues.count()))
    expect(issues.first.locator("td.num")).to_contain_text("CNY")  # amounts with decimals
    screenshot(page, "index-txs-filtered")
    page.goto(f"{explorer}/txs?since=2026-02-30")
    expect(page.locator("h1")).to_have_text("Bad filter")


def test_statement_agrees_with_the_node_and_its_csv_with_the_table(
    page: Any, explorer: str, node_url: str, story: Story, localnet: Any
) -> None:
    client = signed_client(localnet)
    balance = client.org("bigauto")["balances"]["CNY"]
    _caught_up(page, f"{explorer}/statement?org=bigauto&currency=CNY", client.height())
    expect(page.get_by_test_id("closing")).to_have_text(format_amount(balance, 2, "CNY"))
    expect(page.get_by_test_id("opening")).to_have_text("0.00 CNY")
    table = page.locator('[data-testid="statement-table"] tbody tr')
    screenshot(page, "index-statement")
    with page.expect_download() as download:
        page.get_by_test_id("statement-csv").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == table.count() >= 2
    for i, row in enumerate(rows):
        cells = table.nth(i).locator("td")
        assert cells.nth(0).inner_text() == row["height"]
        assert row["method"] in cells.nth(3).inner_text()
        shown = format_amount(int(row["amount_minor"]), 2, "CNY")
        assert shown in (cells.nth(5).inner_text(), cells.nth(6).inner_text())
        assert cells.nth(7).inner_text() == format_amount(int(row["balance_minor"]), 2, "CNY")
    assert int(rows[-1]["balance_minor"]) == balance


def test_the_transactions_list_fits_a_phone(browser: Any, explorer: str, story: Story) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        phone.goto(f"{explorer}/txs")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        wide = phone.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + '.' + e.className)"
        )
        screenshot(phone, "index-txs-phone")
        assert overflow <= 1, f"the page is {overflow}px wider than the phone: {wide}"
    finally:
        context.close()


def test_quotes_and_currencies_from_the_index(
    page: Any, explorer: str, node_url: str, story: Story, localnet: Any
) -> None:
    client = signed_client(localnet)
    _caught_up(page, f"{explorer}/fx", client.height())
    if story.fx_payment_id:
        quote = page.locator('[data-testid="fx-table"] tbody tr').first
        expect(quote).to_contain_text("bank-b")
        expect(quote).to_contain_text("CNY→EUR")
        expect(quote).to_contain_text("0.12800000")  # the rate × 10^8 shown as a rate
        expect(quote).to_contain_text("78,000.00 CNY")  # used by the PvP payment
        screenshot(page, "index-fx")
    page.goto(f"{explorer}/currencies")
    cny = sum(org["balances"].get("CNY", 0) for org in client.orgs())
    supply = page.locator('[data-testid="currencies-table"] tr[data-currency="CNY"]')
    expect(supply.get_by_test_id("supply")).to_have_text(format_amount(cny, 2, "CNY"))
    expect(supply).to_contain_text("bank-a")
    screenshot(page, "index-currencies")
    for path in ("netting", "proposals"):
        page.goto(f"{explorer}/{path}")
        expect(page.locator("h1")).to_contain_text(
            "Netting windows" if path == "netting" else "Governance proposals"
        )


def test_validators_signed_and_missed_over_a_window(
    page: Any, explorer: str, node_url: str, story: Story, localnet: Any
) -> None:
    _caught_up(page, f"{explorer}/validators?window=1000", signed_client(localnet).height())
    blocks = int(page.get_by_test_id("index-height").first.inner_text())
    rows = page.locator('[data-testid="validators-table"] tbody tr')
    expect(rows).to_have_count(4)
    signed = [int(rows.nth(i).get_by_test_id("signed").inner_text()) for i in range(4)]
    missed = [int(rows.nth(i).get_by_test_id("missed").inner_text()) for i in range(4)]
    assert all(s + m == min(blocks, 1000) for s, m in zip(signed, missed, strict=True))
    assert sum(signed) >= 3 * min(blocks, 1000)  # every certificate holds a quorum of 3 of 4
    screenshot(page, "index-validators")
