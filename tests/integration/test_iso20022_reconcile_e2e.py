"""Reconciliation on a real 4-bank localnet after both stories: statements that add up.

Both stories of the demo (supply-chain finance, cross-border with netting) run on one shared
localnet of four validators. Then every bank's camt.053 in every currency, for every UTC day the
chain has blocks on, validates against the official schema; its opening balance plus its entries
is its closing balance, account by account; a day's closing is the next day's opening; and the
last day's closing is, to the minor unit, what `/v1/orgs` shows for each account. The story
payment's UETR is the same in the API record, its lookup, pacs.008, pacs.009 COV, and the
camt.053/camt.054 entries (the explorer's side: tests/browser/test_payment_downloads_browser.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from node.cli import tally
from tests.support.localnet_tools import signed_client
from wallet.client import Client
from wallet.localnet_keys import localnet_keys
from wallet.stories import StoryResult, cross_border_story, supply_chain_story

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=4)
def schema(name: str) -> etree.XMLSchema:
    shared = os.environ.get("TALLY_SHARED")
    path = (Path(shared) if shared else REPO.parent / "shared") / "data" / "iso20022"
    xsd = path / f"{name}.xsd"
    if not xsd.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"official ISO 20022 schema {xsd} is absent")
        pytest.skip(f"official ISO 20022 schema {xsd} is absent (set TALLY_SHARED)")
    return etree.XMLSchema(etree.parse(str(xsd)))


def valid(xml: bytes, name: str) -> etree._Element:
    document = etree.fromstring(xml)
    assert schema(name).validate(document), schema(name).error_log
    return document


def uetrs(document: etree._Element) -> list[str]:
    return [str(found.text) for found in document.iter() if str(found.tag).endswith("}UETR")]


@pytest.fixture(scope="module")
def run(module_localnet: Callable[..., dict[str, Any]]) -> tuple[dict[str, Any], StoryResult]:
    net = module_localnet(nodes=4)
    client = signed_client(net["nodes"][0]["api"])
    keys = localnet_keys(net)
    supply_chain_story(client, keys, lambda words: None)
    return net, cross_border_story(client, keys, lambda words: None)


def _days(client: Client) -> list[str]:
    """Every UTC day from block 1's to the tip's."""
    first = datetime.fromtimestamp(client.block(1)["time_ms"] / 1000, tz=UTC).date()
    last = datetime.fromtimestamp(client.block(client.height())["time_ms"] / 1000, tz=UTC)
    days = []
    while first <= last.date():
        days.append(first.isoformat())
        first += timedelta(days=1)
    return days


def _pages(client: Client, bank: str, code: str, day: str) -> list[dict[str, Any]]:
    pages, after = [], None
    while True:
        page = client.statement(bank, code, day, after)
        pages.append(page)
        if page["next"] is None:
            return pages
        after = page["next"]


def test_every_statement_adds_up_and_closes_at_what_the_orgs_hold(
    run: tuple[dict[str, Any], StoryResult],
) -> None:
    net, _ = run
    client = signed_client(net["nodes"][0]["api"])
    orgs = client.orgs()
    banks = [o["id"] for o in orgs if o["kind"] == "bank"]
    codes = [c["code"] for c in client.currencies()]
    closing: dict[tuple[str, str], int] = {}  # (owner, currency) -> the latest closing seen
    entries = 0
    for day in _days(client):
        for bank in banks:
            for code in codes:
                valid(client.statement_xml(bank, code, day), "camt.053.001.08")
                for page in _pages(client, bank, code, day):
                    for account in page["accounts"]:
                        key = (account["owner"], code)
                        moved = sum(
                            e["amount"] if e["direction"] == "CRDT" else -e["amount"]
                            for e in account["entries"]
                        )
                        assert account["opening"] + moved == account["closing"], (day, bank, key)
                        assert closing.get(key, account["opening"]) == account["opening"], key
                        closing[key] = account["closing"]
                        entries += len(account["entries"])
    assert entries > 20  # both stories moved money: this is not a run of empty statements
    for org in orgs:
        for code in codes:
            held = int(org.get("balances", {}).get(code, 0))
            assert closing.get((org["id"], code), 0) == held, (org["id"], code)
            if held:
                assert (org["id"], code) in closing  # every balance is on some bank's statement


def test_one_uetr_across_the_api_pacs008_pacs009_and_the_banks_camt(
    run: tuple[dict[str, Any], StoryResult], tmp_path: Path
) -> None:
    net, story = run
    client = signed_client(net["nodes"][0]["api"])
    payment = client.payment(story.ids["payment"])
    uetr = payment["uetr"]
    assert story.ids["uetr"] == uetr
    assert (client.payment_by_uetr(uetr) or {}).get("id") == payment["id"]
    assert uetrs(valid(client.payment_iso20022(payment["id"]), "pacs.008.001.09")) == [uetr]
    assert uetrs(valid(client.payment_pacs009(payment["id"]), "pacs.009.001.09")) == [uetr]
    assert len(payment["statements"]) >= 3
    day = payment["date"]
    for shown in payment["statements"]:
        bank, code = shown["bank"], shown["currency"]
        statement = valid(client.statement_xml(bank, code, day), "camt.053.001.08")
        notes = valid(client.statement_xml(bank, code, day, notes=True), "camt.054.001.08")
        assert uetr in uetrs(statement) and uetr in uetrs(notes), (bank, code)
    out, notes_out = tmp_path / "c.xml", tmp_path / "n.xml"
    result = CliRunner().invoke(tally, [
        "statement", "bank-c", "EUR", day, "-o", str(out), "--notifications", str(notes_out),
        "--localnet", net["dir"], "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert page["bank"] == "bank-c" and page["accounts"][0]["owner"] == "bank-c"
    assert uetr in uetrs(valid(out.read_bytes(), "camt.053.001.08"))
    assert uetr in uetrs(valid(notes_out.read_bytes(), "camt.054.001.08"))
    found = CliRunner().invoke(tally, ["payment", "find", uetr, "--localnet", net["dir"], "--json"])
    assert found.exit_code == 0 and json.loads(found.stdout)["id"] == payment["id"]
