"""The explorer signed in, on a `members` localnet (DESIGN.md §9): as acme-steel it shows
acme-steel's world only — another enterprise's payment and receivable are "not visible to
acme-steel", a block of others' txs still verifies from the leaf hashes — and as audit-co
everything. `tally explorer --localnet DIR --as ORG` signs in; the header says as whom."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, signed_client, start_localnet_explorer, stop
from tests.browser.story import Story, keys
from tests.browser.test_index_browser import _caught_up
from tests.support.receivables_flow import issue_args

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def others(localnet: Any, story: Story) -> dict[str, Any]:
    """fuel-co's invoice to bigauto and bigauto's FX payment to rhein-parts, acme-steel party
    to neither; acme-steel's own invoice to bigauto; and the block that holds that payment."""
    client = signed_client(localnet)
    today = datetime.fromtimestamp(client.clock_ms() / 1000, tz=UTC).date()
    issued = {}
    for creditor in ("fuel-co", "acme-steel"):
        invoice_no = f"{creditor[:2].upper()}-{story.invoice_no}"
        dates = {
            "issue_date": today.isoformat(),
            "due_date": (today + timedelta(days=60)).isoformat(),
        }
        args = issue_args(invoice_no=invoice_no, amount=40_000_00, **dates)
        receipt = client.call(keys(localnet)[creditor], "receivables", "issue", args)
        issued[creditor] = (receipt["result"]["id"], invoice_no)
    payment_tx = story.tx_ids[-1]  # the story's last call: bigauto's send_fx to rhein-parts
    height = int(client.tx(payment_tx)["receipt"]["height"])
    return {
        "receivable": issued["fuel-co"][0],
        "invoice_no": issued["fuel-co"][1],
        "own_invoice_no": issued["acme-steel"][1],
        "height": height,
        "tip": client.height(),
    }


def _explorer(localnet: Any, org: str) -> Iterator[str]:
    process, url = start_localnet_explorer(localnet, org)
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def as_acme(localnet: Any, others: Any) -> Iterator[str]:
    yield from _explorer(localnet, "acme-steel")


@pytest.fixture(scope="module")
def as_auditor(localnet: Any, others: Any) -> Iterator[str]:
    yield from _explorer(localnet, "audit-co")


def test_acme_steel_sees_its_own_world_only(
    page: Any, as_acme: str, story: Story, others: Any
) -> None:
    signed_in = page.get_by_test_id("signed-in")
    page.goto(as_acme + "/")
    expect(signed_in).to_have_text("signed in as acme-steel (enterprise)")
    expect(page.get_by_test_id("height")).not_to_have_text("")
    latest = page.locator("main")
    expect(latest).to_contain_text("not visible to acme-steel")  # the others' txs, by id only
    expect(latest).to_contain_text("receivables.issue")  # its own invoice's tx
    expect(latest).not_to_contain_text("payments.send_fx")
    screenshot(page, "signed-in-acme-steel")

    _caught_up(page, f"{as_acme}/txs", others["tip"], 30.0)  # its index: what it may read
    expect(page.locator("main")).to_contain_text("receivables.issue")
    expect(page.locator("main")).not_to_contain_text("payments.send_fx")
    screenshot(page, "signed-in-acme-steel-txs")

    page.goto(f"{as_acme}/org/acme-steel")
    expect(page.locator("main")).to_contain_text(others["own_invoice_no"])
    expect(page.locator("main")).not_to_contain_text(others["invoice_no"])
    screenshot(page, "signed-in-acme-steel-receivables")

    for path in (f"/payment/{story.fx_payment_id}", f"/receivable/{others['receivable']}"):
        response = page.goto(as_acme + path)
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Not visible to acme-steel")
        expect(signed_in).to_have_text("signed in as acme-steel (enterprise)")
        expect(page.locator("main")).not_to_contain_text("gearbox housings")
    screenshot(page, "signed-in-acme-steel-not-visible")

    page.goto(f"{as_acme}/block/{others['height']}")
    verdict = page.get_by_test_id("block-verdict")
    expect(verdict).to_have_attribute("data-ok", "true")  # BLS certificate and both roots
    expect(page.get_by_test_id("withheld")).to_contain_text("not visible to acme-steel")
    expect(page.locator("main")).to_contain_text("from the node's leaf hashes")
    screenshot(page, "signed-in-acme-steel-block")


def test_audit_co_sees_the_other_enterprises_records(
    page: Any, as_auditor: str, story: Story, others: Any
) -> None:
    page.goto(as_auditor + "/")
    expect(page.get_by_test_id("signed-in")).to_have_text("signed in as audit-co (auditor)")
    expect(page.get_by_test_id("height")).not_to_have_text("")
    latest = page.locator("main")
    expect(latest).to_contain_text("fuel-co")  # the sender of its invoice, among the latest
    expect(latest).not_to_contain_text("not visible to")
    screenshot(page, "signed-in-audit-co")

    page.goto(f"{as_auditor}/payment/{story.fx_payment_id}")
    expect(page.locator("main")).to_contain_text("gearbox housings")
    page.goto(f"{as_auditor}/org/fuel-co")
    expect(page.locator("main")).to_contain_text(others["invoice_no"])
    screenshot(page, "signed-in-audit-co-receivables")
    page.goto(f"{as_auditor}/block/{others['height']}")
    expect(page.get_by_test_id("block-verdict")).to_have_attribute("data-ok", "true")
    expect(page.get_by_test_id("withheld")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("payments.send_fx")
