"""The explorer in headless Chromium against a live localnet: pages, verification, search, live."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    screenshot,
    signed_client,
    start_explorer,
    start_tamper_proxy,
    stop,
)
from tests.browser.story import Story, keys

pytestmark = pytest.mark.browser


def test_every_page_loads_and_verifies(page: Any, explorer: str, story: Story) -> None:
    page.goto(explorer + "/")
    expect(page.get_by_test_id("height")).not_to_have_text("")
    expect(page.locator("#frag-blocks .badge.ok").first).to_have_text("verified")
    screenshot(page, "dashboard")

    page.goto(explorer + "/blocks")
    expect(page.locator("h1")).to_have_text("Blocks")
    expect(page.locator(".grid .badge.ok").first).to_have_text("verified")
    expect(page.locator(".grid .badge.bad")).to_have_count(0)
    page.goto(explorer + "/blocks?limit=5")
    expect(page.locator("tbody tr")).to_have_count(5)
    page.get_by_test_id("older").click()
    expect(page).to_have_url(re.compile(r"/blocks\?before=\d+&limit=5$"))
    expect(page.locator("tbody tr")).to_have_count(5)

    page.goto(explorer + "/block/5")
    verdict = page.get_by_test_id("block-verdict")
    expect(verdict).to_have_attribute("data-ok", "true")
    # At least 2f+1 = 3 of the 4 validators signed; which ones depends on who voted first.
    expect(verdict).to_contain_text(re.compile(r"Verified here: signed by Bank .*\([34] of 4\)"))
    expect(verdict).to_contain_text("txs_root")
    screenshot(page, "block")

    tx_id = story.tx_ids[-1]
    page.goto(f"{explorer}/tx/{tx_id}")
    expect(page.get_by_test_id("proof-verdict")).to_have_attribute("data-ok", "true")
    expect(page.get_by_test_id("proof-verdict")).to_contain_text("Inclusion proof verified here")

    page.goto(explorer + "/org/bigauto")
    expect(page.get_by_test_id("balances")).to_contain_text("CNY")
    page.goto(explorer + "/orgs")
    expect(page.locator("table")).to_contain_text("acme-steel")
    page.goto(explorer + "/block/0")
    expect(page.locator("h1")).to_contain_text("Genesis")


def test_receivable_and_payment_pages(page: Any, explorer: str, story: Story) -> None:
    if not story.receivable_root:
        pytest.skip("the receivables contract is not on this chain")
    page.goto(f"{explorer}/receivable/{story.receivable_root}")
    graph = page.get_by_test_id("receivable-graph")
    expect(graph).to_be_visible()
    expect(graph.locator("a.edge.split")).to_have_count(2)
    expect(graph.locator("a.edge.financing")).to_have_count(1)
    expect(page.locator("h1")).to_contain_text(story.invoice_no)
    screenshot(page, "receivable")
    if not story.fx_payment_id:
        pytest.skip("the payments contract is not on this chain")
    page.goto(f"{explorer}/payment/{story.fx_payment_id}")
    expect(page.locator("body")).to_contain_text("EUR per CNY")
    expect(page.get_by_test_id("pacs008")).to_be_visible()
    screenshot(page, "payment")
    with page.expect_download() as download:
        page.get_by_test_id("pacs008").click()
    assert download.value.suggested_filename.endswith(".xml")


def test_search_finds_every_kind_of_identifier(page: Any, explorer: str, story: Story) -> None:
    page.goto(explorer + "/block/3")
    full_hash = page.locator(".kv .hash").first.get_attribute("title")
    queries = [
        ("3", r"/block/3$"),
        (full_hash, r"/block/3$"),
        (story.tx_ids[0], rf"/tx/{story.tx_ids[0]}$"),
        ("acme-steel", r"/org/acme-steel$"),
    ]
    if story.receivable_root:
        queries += [
            (story.invoice_no, rf"/receivable/{story.receivable_root}$"),
            (story.receivable_piece, rf"/receivable/{story.receivable_piece}$"),
        ]
    if story.payment_id:
        queries.append((story.payment_id, rf"/payment/{story.payment_id}$"))
    for query, expected in queries:
        page.goto(explorer + "/")
        page.get_by_role("searchbox").fill(str(query))
        page.get_by_role("searchbox").press("Enter")
        expect(page).to_have_url(re.compile(expected))
    page.get_by_role("searchbox").fill("no-such-thing-anywhere")
    page.get_by_role("searchbox").press("Enter")
    expect(page.locator("h1")).to_contain_text("Nothing found")


def test_bad_identifiers_get_friendly_pages(page: Any, explorer: str) -> None:
    for path, status in (
        ("/block/not-a-height", 400),
        ("/block/999999999", 404),
        ("/tx/xyz", 400),
        ("/tx/" + "ab" * 32, 404),
        ("/org/NOT_AN_ORG", 400),
        ("/org/nobody-here", 404),
        ("/receivable/" + "cd" * 32, 404),
        ("/payment/123", 400),
        ("/no/such/page", 404),
    ):
        response = page.goto(explorer + path)
        assert response is not None and response.status == status, path
        expect(page.locator(".error-code, .error-card")).not_to_have_count(0)
        expect(page.locator("body")).not_to_contain_text("Traceback")


def test_dashboard_updates_when_a_block_commits(
    page: Any, explorer: str, node_url: str, localnet: Any
) -> None:
    page.goto(explorer + "/")
    height = page.get_by_test_id("height")
    expect(height).not_to_have_text("")
    before = height.inner_text()
    expect(page.locator("#live-dot.on")).to_have_count(1)
    signer = keys(localnet)["bank-a"]
    signed_client(localnet).call(
        signer, "cash", "issue", {"currency": "CNY", "to": "bank-a", "amount": 1}
    )
    expect(height).not_to_have_text(before, timeout=20_000)


@pytest.mark.parametrize("mode", ["header", "agg_sig"])
def test_tampered_block_fails_verification(
    page: Any, node_url: str, localnet: Any, story: Story, mode: str
) -> None:
    proxy, proxy_url = start_tamper_proxy(node_url, 4, mode)
    try:
        process, url = start_explorer(proxy_url, localnet["genesis"], localnet)
        try:
            page.goto(url + "/block/4")
            verdict = page.get_by_test_id("block-verdict")
            expect(verdict).to_have_attribute("data-ok", "false")
            expect(verdict.locator(".badge.bad").first).to_have_text("failed")
            reason = "block hash" if mode == "header" else "BLS aggregate signature"
            expect(verdict).to_contain_text(reason)
            if mode == "header":
                screenshot(page, "tampered-block")
            page.goto(url + "/block/5")  # links to the served block 4: fails only if it changed
            next_verdict = page.get_by_test_id("block-verdict")
            if mode == "header":
                expect(next_verdict).to_have_attribute("data-ok", "false")
                expect(next_verdict).to_contain_text("header.prev ≠ hash of block 4")
            else:
                expect(next_verdict).to_have_attribute("data-ok", "true")
            page.goto(url + "/block/6")
            expect(page.get_by_test_id("block-verdict")).to_have_attribute("data-ok", "true")
            page.goto(url + "/blocks?before=8")
            expect(page.locator("tr", has_text="failed")).to_have_count(1)
        finally:
            stop(process)
    finally:
        stop(proxy)


def test_explorer_without_genesis_says_unverified(
    page: Any, node_url: str, story: Story, localnet: Any
) -> None:
    process, url = start_explorer(node_url, None, localnet)
    try:
        page.goto(url + "/block/2")
        expect(page.locator(".banner.unverified")).to_contain_text(
            "Unverified: genesis taken from the node"
        )
    finally:
        stop(process)
