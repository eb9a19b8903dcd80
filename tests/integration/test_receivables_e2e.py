"""The supply-chain finance story against a real node process, driven through `tally receivable`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.localnet_tools import signed_client
from wallet.localnet_keys import localnet_key as _key

TALLY = str(Path(sys.executable).parent / "tally")
MILLION = 100_000_000


def _dir(net: dict[str, Any]) -> str:
    return str(net.get("dir") or net.get("_dir"))


def _tally(net: dict[str, Any], *args: str, as_org: str | None = None) -> Any:
    command = [TALLY, "receivable", *args, "--json", "--localnet", _dir(net)]
    if as_org:
        command += ["--as", as_org]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("nodes", [1, 4], ids=["one-validator", "four-validators"])
def test_story_through_the_cli(localnet: Any, nodes: int) -> None:
    net = localnet(nodes=nodes)
    client = signed_client(net["nodes"][0]["api"])

    def balance(org: str) -> int:
        return int(client.org(org)["balances"].get("CNY", 0))

    for org in ("bigauto", "bank-a"):
        args = {"currency": "CNY", "to": org, "amount": MILLION}
        client.call(_key(net, "bank-a"), "cash", "issue", args)

    issued = _tally(
        net, "issue", "--invoice", "INV-1001", "--debtor", "bigauto", "--amount", "1,000,000.00",
        "--currency", "CNY", "--days", "90", as_org="acme-steel",
    )  # fmt: skip
    root = issued["id"]
    assert _tally(net, "show", "INV-1001", "--creditor", "acme-steel")["status"] == "issued"

    _tally(net, "accept", "INV-1001", as_org="bigauto")
    assert _tally(net, "show", root)["status"] == "accepted"

    ore = _tally(
        net, "transfer", root, "--to", "ore-mining", "--amount", "300,000.00", as_org="acme-steel"
    )["id"]
    fuel = _tally(
        net, "transfer", ore, "--to", "fuel-co", "--amount", "100,000.00", as_org="ore-mining"
    )["id"]
    assert [_tally(net, "show", p)["amount"] for p in (root, ore, fuel)] == [
        70_000_000, 20_000_000, 10_000_000
    ]  # fmt: skip
    assert _tally(net, "show", fuel)["holder"] == "fuel-co"

    offer = _tally(net, "offer", ore, "--rate", "6%", as_org="bank-a")["id"]
    price = _tally(net, "finance", offer, as_org="ore-mining")["result"]["price"]
    assert 0 < price < 20_000_000
    assert balance("ore-mining") == price
    assert balance("bank-a") == MILLION - price
    assert _tally(net, "show", ore)["holder"] == "bank-a"

    paid = _tally(net, "repay", "INV-1001", as_org="bigauto")["result"]["paid"]
    assert paid == {"acme-steel": 70_000_000, "bank-a": 20_000_000, "fuel-co": 10_000_000}
    assert balance("bigauto") == 0
    assert balance("acme-steel") == 70_000_000
    assert balance("fuel-co") == 10_000_000
    assert balance("bank-a") == MILLION - price + 20_000_000

    trace = _tally(net, "trace", "INV-1001", "--creditor", "acme-steel")
    assert [p["id"] for p in trace["pieces"]] == [root, ore, fuel]
    assert {p["status"] for p in trace["pieces"]} == {"settled"}
    assert trace["totals"]["settled"] == MILLION
    for step in trace["steps"]:
        assert client.tx(step["tx"])["status"] == "committed"

    command = [TALLY, "receivable", "trace", "INV-1001", "--creditor", "acme-steel"]
    human = subprocess.run(
        [*command, "--localnet", _dir(net)],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "└─" in human and "financed by bank-a" in human and "fuel-co" in human
