"""Issue 12, finding 1, against a real four-validator localnet, driven through `tally`.

Governance sanctions rhein-parts, expires ore-mining's KYC and gives acme-steel a 100.00 CNY
daily limit. Then every movement of value the finding saw succeed is refused with its code and
changes no balance and no piece: `tally pay --plain` (cash.transfer) to and from the sanctioned
org, from the KYC-expired org and over the limit, a redemption, a new receivable, a financing
and a piece passed on by the sanctioned org; and a KYC expiry that is no `YYYY-MM-DD` day is
refused when proposed (finding 3). No block of those refusals writes any state key
(tests/support/unchanged_state.py): balances, pieces, offers, counters. Finally bigauto repays
the sanctioned org's invoice: the money is held, `tally receivable trace` says so and why, and
lifting the sanction pays it out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from node.cli import tally
from tests.support.localnet_tools import signed_client
from tests.support.unchanged_state import assert_no_state_change_since
from wallet.client import Client

pytestmark = pytest.mark.slow

ORGS = ("acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts", "bank-a")
INVOICE = "RP-2026-0042"
FACE = 1_000_000  # 10,000.00 CNY


def run(net: dict[str, Any], *args: str, json_output: bool = True) -> tuple[int, Any]:
    """A `tally` command in process against the localnet: its exit code and answer."""
    flags = ["--localnet", str(net["dir"])] + (["--json"] if json_output else [])
    result = CliRunner().invoke(tally, [*args, *flags])
    if not json_output:
        return result.exit_code, result.output
    text = result.output.strip()
    return result.exit_code, json.loads(text[text.index("{") :]) if "{" in text else text


def ok(net: dict[str, Any], *args: str) -> Any:
    code, answer = run(net, *args)
    assert code == 0, answer
    return answer


def refused(net: dict[str, Any], *args: str) -> str:
    code, answer = run(net, *args)
    assert code == 1, f"tally {' '.join(args)} succeeded: {answer}"
    return str(answer["error"]["code"])


def governance(net: dict[str, Any], action: str, **params: str) -> None:
    """Propose as bank-a, approve as bank-b and bank-c: ⌈2·4/3⌉ = 3 of the 4 banks."""
    flags = [part for name, value in params.items() for part in ("--param", f"{name}={value}")]
    proposal = ok(net, "governance", "propose", action, *flags, "--as", "bank-a")["id"]
    ok(net, "governance", "approve", proposal, "--as", "bank-b")
    ok(net, "governance", "approve", proposal, "--as", "bank-c")


def snapshot(client: Client, piece_id: str) -> dict[str, Any]:
    balances = {org: client.org(org).get("balances", {}) for org in ORGS}
    return {"balances": balances, "piece": client.get(f"/v1/receivables/{piece_id}")}


def test_the_finding_is_refused_on_a_real_chain_and_a_held_repayment_is_released(
    localnet: Callable[..., dict[str, Any]],
) -> None:
    net = localnet(nodes=4)
    client = signed_client(net["nodes"][0]["api"])
    for org in ("acme-steel", "rhein-parts", "ore-mining", "bigauto", "bank-a"):
        ok(net, "cash", "issue", "CNY", org, "100,000.00", "--as", "bank-a")
    # Before any sanction: rhein-parts' invoice, accepted, and a bank's offer for it.
    issue = ["--debtor", "bigauto", "--amount", "10,000.00", "--currency", "CNY", "--days", "90"]
    piece_id = ok(net, "receivable", "issue", "--invoice", INVOICE, *issue, "--as", "rhein-parts")[
        "id"
    ]
    ok(net, "receivable", "accept", piece_id, "--as", "bigauto")
    offer = ok(net, "receivable", "offer", piece_id, "--rate", "2%", "--as", "bank-a")["id"]

    governance(net, "set_sanctioned", org="rhein-parts", sanctioned="true")
    governance(net, "set_kyc", org="ore-mining", kyc_expires="2025-12-31")
    governance(net, "set_limit", org="acme-steel", currency="CNY", amount="100.00")
    before, mark = snapshot(client, piece_id), client.height()

    pay = ["pay", "--plain"]
    assert refused(net, *pay, "rhein-parts", "10.00", "CNY", "--as", "acme-steel") == "SANCTIONED"
    assert refused(net, *pay, "acme-steel", "10.00", "CNY", "--as", "rhein-parts") == "SANCTIONED"
    assert refused(net, *pay, "bigauto", "10.00", "CNY", "--as", "ore-mining") == "KYC_EXPIRED"
    over = refused(net, *pay, "bigauto", "5,000.00", "CNY", "--as", "acme-steel")
    assert over == "DAILY_LIMIT_EXCEEDED"
    assert refused(net, "pay", "rhein-parts", "10.00", "CNY", "--as", "acme-steel") == (
        "SANCTIONED"
    )
    assert refused(net, "cash", "redeem", "CNY", "10.00", "--as", "rhein-parts") == "SANCTIONED"
    again = ["receivable", "issue", "--invoice", "RP-2026-0043", *issue, "--as", "rhein-parts"]
    assert refused(net, *again) == "SANCTIONED"
    assert refused(net, "receivable", "finance", offer, "--as", "rhein-parts") == "SANCTIONED"
    passed_on = ["receivable", "transfer", piece_id, "--to", "fuel-co", "--amount", "100.00"]
    assert refused(net, *passed_on, "--as", "rhein-parts") == "SANCTIONED"
    for not_a_day in ("2026-W01-1", "20260101xx"):
        kyc = ["--param", "org=acme-steel", "--param", f"kyc_expires={not_a_day}"]
        assert refused(net, "governance", "propose", "set_kyc", *kyc, "--as", "bank-a") == (
            "BAD_ARGUMENT"
        )
    assert_no_state_change_since(client, mark)
    assert snapshot(client, piece_id) == before

    # The debtor repays: rhein-parts' money is held on the ledger, not paid, and not refused.
    repaid = ok(net, "receivable", "repay", piece_id, "--as", "bigauto")["result"]
    assert repaid == {"paid": {}, "outstanding": 0, "held": {"rhein-parts": FACE}}
    after = snapshot(client, piece_id)["balances"]
    assert after["rhein-parts"] == before["balances"]["rhein-parts"]
    assert after["bigauto"]["CNY"] == before["balances"]["bigauto"]["CNY"] - FACE
    code, trace = run(net, "receivable", "trace", piece_id, json_output=False)
    assert code == 0 and "REPAYMENT BLOCKED: 10,000.00 CNY held for rhein-parts since" in trace
    assert re.search(r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: rhein-parts was sanctioned", trace)
    assert "(SANCTIONED)" in trace, trace

    governance(net, "set_sanctioned", org="rhein-parts", sanctioned="false")
    released = client.org("rhein-parts")["balances"]["CNY"]
    assert released == before["balances"]["rhein-parts"]["CNY"] + FACE
    code, trace = run(net, "receivable", "trace", piece_id, json_output=False)
    assert code == 0, trace
    assert re.search(r"released to rhein-parts on \d{4}-\d\d-\d\d [0-9:]{8} UTC", trace), trace
