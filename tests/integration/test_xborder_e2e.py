"""The cross-border story against a real node: CLI and SDK, committed blocks, real LevelDB.

Acme Steel pays Rhein Parts 50,000.00 EUR through Bank C's CNY→EUR quote with `tally pay --fx`,
exports the pacs.008 and validates it against the official schema; then three banks net.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from node.cli import tally
from tests.support.localnet_tools import signed_client
from wallet.client import Client, TxFailed
from wallet.localnet_keys import localnet_key as key

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def schema_path(name: str) -> Path:
    shared = os.environ.get("TALLY_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "data" / "iso20022" / f"{name}.xsd"


@pytest.fixture(params=[1, 4], ids=["one-validator", "four-validators"])
def net(localnet: Callable[..., dict[str, Any]], request: pytest.FixtureRequest) -> dict[str, Any]:
    """A localnet of one and of four validators from the shared fixture (stopped at teardown)."""
    return localnet(nodes=request.param)


def cli(info: dict[str, Any], *args: str) -> Any:
    """Run a `tally` command in process against the localnet; its --json answer."""
    result = CliRunner().invoke(tally, [*args, "--localnet", str(info["dir"]), "--json"])
    assert result.exit_code == 0, result.output
    out = result.stdout  # notes such as "reading as audit-co" go to stderr
    return json.loads(out) if out.strip().startswith("{") else out


def balance(client: Client, org: str, code: str) -> int:
    return int(client.org(org).get("balances", {}).get(code, 0))


def test_cross_border_story_on_a_real_node(net: dict[str, Any], tmp_path: Path) -> None:
    client = signed_client(net["nodes"][0]["api"])
    cli(net, "cash", "issue", "CNY", "acme-steel", "500,000.00", "--as", "bank-a")
    cli(net, "cash", "issue", "EUR", "bank-c", "60,000.00", "--as", "bank-b")
    assert balance(client, "acme-steel", "CNY") == 50_000_000

    quote = cli(
        net, "fx", "quote", "CNY", "EUR", "0.12820513", "--max", "450,000.00", "--as", "bank-c"
    )["id"]
    listed = cli(net, "fx", "list", "--base", "CNY")
    assert [q["id"] for q in listed["quotes"]] == [quote]

    paid = cli(
        net,
        "pay",
        "rhein-parts",
        "50,000.00",
        "EUR",
        "--fx",
        quote,
        "--remittance",
        "Invoice RP-2026-0042",
        "--beneficiary-account",
        "DE89370400440532013000",
        "--as",
        "acme-steel",
    )
    assert paid["credit"] == 5_000_000 and paid["base_amount"] == 39_000_000
    assert balance(client, "acme-steel", "CNY") == 50_000_000 - 39_000_000
    assert balance(client, "bank-c", "CNY") == 39_000_000
    assert balance(client, "bank-c", "EUR") == 6_000_000 - 5_000_000
    assert balance(client, "rhein-parts", "EUR") == 5_000_000

    out = tmp_path / "pacs008.xml"
    exported = CliRunner().invoke(
        tally, ["payment", "export", paid["id"], "-o", str(out), "--localnet", str(net["dir"])]
    )
    assert exported.exit_code == 0, exported.output
    assert out.read_bytes().startswith(b"<?xml")
    xsd_file = schema_path("pacs.008.001.09")
    if xsd_file.is_file() or os.environ.get("CI"):
        xsd = etree.XMLSchema(etree.parse(str(xsd_file)))
        assert xsd.validate(etree.parse(str(out))), xsd.error_log
    record = client.get(f"/v1/payments/{paid['id']}")
    assert record["legs"][1] == {
        "currency": "EUR",
        "from": "bank-c",
        "to": "rhein-parts",
        "amount": 5_000_000,
    }
    page = client.get("/v1/payments?org=acme-steel")
    assert [p["id"] for p in page["payments"]] == [paid["id"]]

    # Same-currency payment with ISO details, and a plain cash transfer.
    sent = cli(
        net, "pay", "acme-steel", "1,000.00", "EUR", "--e2e", "RP-REFUND-1", "--as", "rhein-parts"
    )
    assert client.get(f"/v1/payments/{sent['id']}")["end_to_end_id"] == "RP-REFUND-1"
    cli(net, "pay", "bank-b", "0.50", "EUR", "--plain", "--as", "rhein-parts")
    assert balance(client, "rhein-parts", "EUR") == 5_000_000 - 100_000 - 50

    # Governance: a daily limit needs three of the four banks.
    proposal = cli(
        net,
        "governance",
        "propose",
        "set_limit",
        "--param",
        "org=rhein-parts",
        "--param",
        "currency=EUR",
        "--param",
        "amount=100",
        "--as",
        "bank-a",
    )
    assert proposal["passed"] is False
    approved = cli(net, "governance", "approve", proposal["id"], "--as", "bank-b")
    assert approved["passed"] is False and approved["status"] == "ok"  # and the tx it committed
    assert cli(net, "governance", "approve", proposal["id"], "--as", "bank-c")["passed"] is True
    refused = CliRunner().invoke(
        tally,
        ["pay", "acme-steel", "1.01", "EUR", "--as", "rhein-parts", "--localnet", str(net["dir"])],
    )
    assert refused.exit_code == 1 and "DAILY_LIMIT_EXCEEDED" in refused.output

    # End of day: three banks net EUR obligations.
    for bank in ("bank-a", "bank-b"):
        cli(net, "cash", "issue", "EUR", bank, "10,000.00", "--as", "bank-b")
    close_ms = int(time.time() * 1000) + 1500
    window = client.call(
        key(net, "bank-a"),
        "netting",
        "open",
        {"currency": "EUR", "participants": ["bank-a", "bank-b", "bank-c"], "close_ms": close_ms},
    )["result"]["id"]
    for payer, payee, value in (
        ("bank-a", "bank-b", 300_000),
        ("bank-b", "bank-c", 250_000),
        ("bank-c", "bank-a", 100_000),
    ):
        args = {"window": window, "to": payee, "amount": value}
        client.call(key(net, payer), "netting", "submit", args)
    before = {b: balance(client, b, "EUR") for b in ("bank-a", "bank-b", "bank-c")}
    deadline = time.monotonic() + 60
    while True:  # settle is refused (WINDOW_OPEN) until a block's time passes the close
        try:
            settled = client.call(key(net, "bank-c"), "netting", "settle", {"window": window})
            break
        except TxFailed as error:
            assert error.code == "WINDOW_OPEN" and time.monotonic() < deadline
    positions = settled["result"]["positions"]
    assert positions == {"bank-a": -200_000, "bank-b": 50_000, "bank-c": 150_000}
    after = {b: balance(client, b, "EUR") for b in before}
    assert {b: after[b] - before[b] for b in before} == positions
