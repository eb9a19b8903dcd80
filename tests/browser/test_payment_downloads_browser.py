"""A PvP payment's page in headless Chromium: its three ISO 20022 downloads, one UETR in all.

pacs.008 (the customer transfer), pacs.009 COV (the dealer bank's cover leg) and the camt.053 of
every bank whose account a leg moved, each downloaded through the page's button, valid against
the official schema, and carrying the UETR the page shows; the UETR typed in the search box
leads back to the payment.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.story import Story

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]
UETR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@lru_cache(maxsize=4)
def _schema(name: str) -> etree.XMLSchema:
    shared = os.environ.get("TALLY_SHARED")
    path = (Path(shared) if shared else REPO.parent / "shared") / "data" / "iso20022"
    xsd = path / f"{name}.xsd"
    if not xsd.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"official ISO 20022 schema {xsd} is absent")
        pytest.skip(f"official ISO 20022 schema {xsd} is absent (set TALLY_SHARED)")
    return etree.XMLSchema(etree.parse(str(xsd)))


def _download(page: Any, test_id: str, schema: str) -> etree._Element:
    with page.expect_download() as download:
        page.get_by_test_id(test_id).click()
    document = etree.parse(download.value.path()).getroot()
    assert _schema(schema).validate(document), _schema(schema).error_log
    return document


def _uetrs(document: etree._Element) -> set[str]:
    return {str(found.text) for found in document.iter() if str(found.tag).endswith("}UETR")}


def test_a_pvp_payment_page_downloads_pacs008_pacs009_cov_and_camt053_with_one_uetr(
    page: Any, explorer: str, story: Story
) -> None:
    if not story.fx_payment_id:
        pytest.skip("the payments contract is not on this chain")
    page.goto(f"{explorer}/payment/{story.fx_payment_id}")
    uetr = page.get_by_test_id("uetr").inner_text().strip()
    assert UETR.fullmatch(uetr), uetr
    screenshot(page, "payment-downloads")
    assert _uetrs(_download(page, "pacs008", "pacs.008.001.09")) == {uetr}
    cover = _download(page, "pacs009", "pacs.009.001.09")
    assert _uetrs(cover) == {uetr}
    assert any(str(e.tag).endswith("}UndrlygCstmrCdtTrf") for e in cover.iter())
    buttons = page.locator("[data-testid^='camt053-']")
    assert buttons.count() >= 3  # payer's bank, the dealer in both currencies, payee's bank
    for index in range(buttons.count()):
        test_id = str(buttons.nth(index).get_attribute("data-testid"))
        assert uetr in _uetrs(_download(page, test_id, "camt.053.001.08")), test_id
    page.goto(explorer + "/")
    page.get_by_role("searchbox").fill(uetr.upper())
    page.get_by_role("searchbox").press("Enter")
    expect(page).to_have_url(re.compile(rf"/payment/{story.fx_payment_id}$"))
