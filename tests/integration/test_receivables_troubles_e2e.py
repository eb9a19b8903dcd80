"""When things go wrong, on 4 real validators through `tally receivable`, balances checked to
the minor unit after each step: a partial repayment shared pro rata, a dispute that freezes the
invoice and a settlement that shrinks every piece; a back-dated invoice defaulted; and, with the
block clock moved on by `tally localnet time`, a piece sold with recourse turned back on its
seller after default and repaid by it. Every rule and refusal is also tested at executor level
(tests/unit/test_receivables_partial.py, _default.py, _disputes.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.localnet_tools import signed_client
from wallet.client import Client
from wallet.localnet_keys import localnet_key as _key

TALLY = str(Path(sys.executable).parent / "tally")
MILLION = 100_000_000


def _dir(net: dict[str, Any]) -> str:
    return str(net.get("dir") or net.get("_dir"))


def _run(net: dict[str, Any], args: tuple[str, ...], as_org: str | None) -> Any:
    command = [TALLY, "receivable", *args, "--localnet", _dir(net)]
    if as_org:
        command += ["--as", as_org]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _tally(net: dict[str, Any], *args: str, as_org: str | None = None) -> Any:
    done = _run(net, (*args, "--json"), as_org)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _refused(net: dict[str, Any], code: str, *args: str, as_org: str) -> None:
    done = _run(net, args, as_org)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"error: {code}" in done.stderr + done.stdout, done.stderr


@pytest.mark.slow
def test_partial_repayment_and_dispute_on_four_validators(localnet: Any) -> None:
    net = localnet(nodes=4)
    client = signed_client(net["nodes"][-1]["api"])

    def balances() -> dict[str, int]:
        orgs = ("bigauto", "acme-steel", "ore-mining", "fuel-co", "bank-b")
        return {org: int(client.org(org)["balances"].get("CNY", 0)) for org in orgs}

    for org in ("bigauto", "bank-b"):
        client.call(
            _key(net, "bank-a"), "cash", "issue", {"currency": "CNY", "to": org, "amount": MILLION}
        )
    root = _tally(
        net, "issue", "--invoice", "INV-1002", "--debtor", "bigauto", "--amount", "1,000,000.00",
        "--currency", "CNY", "--days", "90", "--grace-days", "10", as_org="acme-steel",
    )["id"]  # fmt: skip
    assert _tally(net, "show", root)["grace_days"] == 10
    _tally(net, "accept", root, as_org="bigauto")
    ore = _tally(
        net, "transfer", root, "--to", "ore-mining", "--amount", "300,000.00", as_org="acme-steel"
    )["id"]
    fuel = _tally(
        net, "transfer", ore, "--to", "fuel-co", "--amount", "100,000.00", as_org="ore-mining"
    )["id"]
    offer = _tally(net, "offer", ore, "--rate", "6%", "--with-recourse", as_org="bank-b")["id"]
    price = _tally(net, "finance", offer, as_org="ore-mining")["result"]["price"]
    assert _tally(net, "show", ore)["financing"]["with_recourse"] is True
    before = balances()
    assert before["ore-mining"] == price and before["bank-b"] == MILLION - price

    # 333,333.33 CNY shared 700/200/100: floors leave one unit, for bank-b's larger remainder.
    paid = _tally(net, "repay", "INV-1002", "--amount", "333,333.33", as_org="bigauto")["result"]
    assert paid == {
        "paid": {"acme-steel": 23_333_333, "bank-b": 6_666_667, "fuel-co": 3_333_333},
        "outstanding": 66_666_667,
    }
    after = balances()
    assert after["bigauto"] == MILLION - 33_333_333
    assert after["acme-steel"] == before["acme-steel"] + 23_333_333
    assert after["bank-b"] == before["bank-b"] + 6_666_667
    assert after["fuel-co"] == before["fuel-co"] + 3_333_333
    assert [_tally(net, "show", p)["outstanding"] for p in (root, ore, fuel)] == [
        46_666_667, 13_333_333, 6_666_667
    ]  # fmt: skip

    _tally(net, "dispute", "INV-1002", "--reason", "short delivery", as_org="bigauto")
    _refused(
        net,
        "DISPUTED",
        "transfer",
        fuel,
        "--to",
        "rhein-parts",
        "--amount",
        "1.00",
        as_org="fuel-co",
    )
    _refused(net, "DISPUTED", "repay", "INV-1002", "--amount", "1.00", as_org="bigauto")
    human = _run(net, ("trace", "INV-1002"), None).stdout
    assert "FROZEN: disputed by bigauto (short delivery)" in human
    assert balances() == after

    first = _tally(net, "settle", "INV-1002", "--reduction", "100,000.00", as_org="acme-steel")
    assert first["result"] == {"applied": False}
    second = _tally(net, "settle", "INV-1002", "--reduction", "100,000.00", as_org="bigauto")
    assert second["result"] == {"applied": True}
    # 100,000.00 off what is owed (46,666,667 / 13,333,333 / 6,666,667): 70,000.00 / 20,000.00
    # / 10,000.00 (bank-b's 19,999.9997 floors to 19,999.99 and takes the unit left).
    trace = _tally(net, "trace", "INV-1002")
    assert trace["face"] == 90_000_000 and trace["frozen"] is False
    assert [p["reduced"] for p in trace["pieces"]] == [7_000_000, 2_000_000, 1_000_000]
    assert [p["outstanding"] for p in trace["pieces"]] == [39_666_667, 11_333_333, 5_666_667]
    assert sum(p["amount"] for p in trace["pieces"]) == 90_000_000
    assert balances() == after  # a reduction moves no money

    rest = _tally(net, "repay", "INV-1002", as_org="bigauto")["result"]
    assert rest == {
        "paid": {"acme-steel": 39_666_667, "bank-b": 11_333_333, "fuel-co": 5_666_667},
        "outstanding": 0,
    }
    final = balances()
    assert final["bigauto"] == MILLION - 90_000_000
    assert final["acme-steel"] == before["acme-steel"] + 63_000_000
    assert final["bank-b"] == before["bank-b"] + 18_000_000
    assert final["fuel-co"] == before["fuel-co"] + 9_000_000
    trace = _tally(net, "trace", "INV-1002")
    assert {p["status"] for p in trace["pieces"]} == {"settled"}
    steps = [s["action"] for s in trace["steps"]]
    assert steps.count("dispute") == 3 and steps.count("dispute_settled") == 3
    for step in trace["steps"]:
        assert client.tx(step["tx"])["status"] == "committed"

    # An invoice already past its due date and its (zero) grace days: defaulted by its holder
    # through the CLI, still repaid in part; a bank that holds none of it has no recourse
    # (and, under the read policy, does not even see the receivable).
    late = _tally(
        net, "issue", "--invoice", "INV-1003", "--debtor", "bigauto", "--amount", "50,000.00",
        "--currency", "CNY", "--issue-date", "2025-01-01", "--due-date", "2025-02-01",
        "--grace-days", "0", as_org="rhein-parts",
    )["id"]  # fmt: skip
    _tally(net, "accept", late, as_org="bigauto")
    _refused(net, "NOT_HOLDER", "default", "INV-1003", as_org="bigauto")
    _tally(net, "default", "INV-1003", as_org="rhein-parts")
    assert _tally(net, "show", late)["status"] == "defaulted"
    _refused(net, "NOT_FOUND", "recourse", late, as_org="bank-b")  # it may not even read it
    part = _tally(net, "repay", "INV-1003", "--amount", "0.01", as_org="bigauto")["result"]
    assert part == {"paid": {"rhein-parts": 1}, "outstanding": 4_999_999}
    human = _run(net, ("trace", "INV-1003"), None).stdout
    assert "default (by rhein-parts)" in human and "still owed" in human


EUR_ORGS = ("bigauto", "rhein-parts", "fuel-co", "bank-b")


class EurBooks:
    """Every party's EUR balance, checked to the minor unit after each step: `step(**moves)`
    says which balances the step changed and by how much; every other balance must not move."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.expected = self.read()

    def read(self) -> dict[str, int]:
        return {o: int(self.client.org(o)["balances"].get("EUR", 0)) for o in EUR_ORGS}

    def step(self, **moves: int) -> None:
        for org, delta in moves.items():
            self.expected[org.replace("_", "-")] += delta
        assert self.read() == self.expected


@pytest.mark.slow
def test_recourse_story_with_the_block_clock_moved_on_four_validators(localnet: Any) -> None:
    """The demo's third story (wallet/recourse_story.py) through the CLI: INV-1002 of
    rhein-parts to bigauto, split, the rest sold to bank-b with recourse; the clock moves 100
    days; bigauto repays 40 % shared pro rata; the invoice defaults; bank-b turns its piece on
    rhein-parts, which repays it in two parts. Every balance to the minor unit after each step."""
    net = localnet(nodes=4)
    client = signed_client(net["nodes"][1]["api"])
    books = EurBooks(client)
    for org, amount in (
        ("bigauto", 200_000_00),
        ("bank-b", 500_000_00),
        ("rhein-parts", 100_000_00),
    ):
        client.call(
            _key(net, "bank-b"), "cash", "issue", {"currency": "EUR", "to": org, "amount": amount}
        )
    books.step(bigauto=200_000_00, bank_b=500_000_00, rhein_parts=100_000_00)
    root = _tally(
        net, "issue", "--invoice", "INV-1002", "--debtor", "bigauto", "--amount", "500,000.00",
        "--currency", "EUR", "--days", "90", "--grace-days", "5", as_org="rhein-parts",
    )["id"]  # fmt: skip
    books.step()
    _tally(net, "accept", "INV-1002", as_org="bigauto")
    books.step()
    fuel = _tally(
        net, "transfer", root, "--to", "fuel-co", "--amount", "150,000.00", as_org="rhein-parts"
    )["id"]
    books.step()  # a piece given in payment moves no cash
    offer = _tally(net, "offer", root, "--rate", "6%", "--with-recourse", as_org="bank-b")["id"]
    books.step()
    price = _tally(net, "finance", offer, as_org="rhein-parts")["result"]["price"]
    # 350,000.00 at 6 % for 90 days: discount floor(35,000,000 × 600 × 90 / 3,600,000)
    assert price == 35_000_000 - 525_000
    books.step(rhein_parts=price, bank_b=-price)

    moved = subprocess.run(
        [TALLY, "localnet", "time", "--dir", _dir(net), "--advance", "100", "--json"],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert moved.returncode == 0, moved.stdout + moved.stderr
    books.step()
    _tally(net, "overdue", "INV-1002", as_org="fuel-co")
    books.step()
    paid = _tally(net, "repay", "INV-1002", "--amount", "200,000.00", as_org="bigauto")["result"]
    assert paid == {"paid": {"bank-b": 140_000_00, "fuel-co": 60_000_00}, "outstanding": 300_000_00}
    books.step(bigauto=-200_000_00, bank_b=140_000_00, fuel_co=60_000_00)
    assert books.expected["bigauto"] == 0

    _tally(net, "default", "INV-1002", as_org="bank-b")
    books.step()
    assert {p["status"] for p in _tally(net, "trace", "INV-1002")["pieces"]} == {"defaulted"}
    turned = _tally(net, "recourse", root, as_org="bank-b")["result"]
    assert turned == {"debtor": "rhein-parts", "amount": 210_000_00}
    books.step()  # recourse changes who owes, not who holds cash
    shown = _tally(net, "show", root)
    assert shown["debtor"] == "rhein-parts" and shown["recourse_from"] == "bigauto"
    assert shown["status"] == "accepted" and shown["outstanding"] == 210_000_00
    human = _run(net, ("trace", "INV-1002"), None).stdout
    assert "RECOURSE: owed by rhein-parts (was bigauto)" in human

    part = _tally(net, "repay", root, "--amount", "100,000.00", as_org="rhein-parts")["result"]
    assert part == {"paid": {"bank-b": 100_000_00}, "outstanding": 110_000_00}
    books.step(rhein_parts=-100_000_00, bank_b=100_000_00)
    rest = _tally(net, "repay", root, as_org="rhein-parts")["result"]
    assert rest == {"paid": {"bank-b": 110_000_00}, "outstanding": 0}
    books.step(rhein_parts=-110_000_00, bank_b=110_000_00)
    # bank-b paid 344,750.00 and got 140,000.00 + 210,000.00 back; rhein-parts kept
    # 344,750.00 − 210,000.00 for its 350,000.00; fuel-co got 60,000.00 of its 150,000.00.
    assert books.expected == {
        "bigauto": 0,
        "rhein-parts": 100_000_00 + price - 210_000_00,
        "fuel-co": 60_000_00,
        "bank-b": 500_000_00 - price + 350_000_00,
    }
    trace = _tally(net, "trace", "INV-1002")
    assert [p["id"] for p in trace["pieces"]] == [root, fuel]
    assert [p["status"] for p in trace["pieces"]] == ["settled", "defaulted"]
    assert trace["pieces"][1]["outstanding"] == 90_000_00  # fuel-co's piece: still bigauto's debt
    # the invoice's own debtor and due date, though its first piece is now rhein-parts' debt
    assert trace["debtor"] == "bigauto" and trace["due_date"] == trace["pieces"][1]["due_date"]
