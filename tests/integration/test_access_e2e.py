"""Access (DESIGN.md §9) on a live four-validator localnet in `members` mode.

The story is written through the SDK, each organization signing its own requests: ore-mining
issues an invoice to bigauto, splits it to fuel-co, which sells its piece to bank-c; bigauto
pays fuel-co. acme-steel takes part in none of it. Every read the test asserts is then signed by
http-message-signatures (tests/support/rfc9421.py), an RFC 9421 implementation that is not the
node's, so a mistake shared by the node's checker and the SDK's signer cannot pass unseen.
"""

from __future__ import annotations

import base64
import datetime
import json
from datetime import timedelta
from typing import Any

import pytest
import requests

from ledger.crypto import Ed25519Key
from ledger.hashing import sha256
from node.ops.localnet_access import localnet_client
from tests.support.rfc9421 import send, signed_request
from wallet.localnet_keys import localnet_key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

MILLION = 100_000_000
ENTERPRISE = "acme-steel"  # a member with no part in the story
PARTIES = ("ore-mining", "bigauto", "fuel-co", "bank-c")  # creditor, debtor, holder, bank


@pytest.fixture(scope="module")
def net(module_localnet: Any) -> dict[str, Any]:
    return dict(module_localnet(nodes=4, access="members"))


def signed_client(net: dict[str, Any], org: str) -> Any:
    """An SDK client of the first node that signs its requests as `org`."""
    return localnet_client(net, org=org, timeout=60)


def _call(
    net: dict[str, Any], org: str, method: str, args: dict[str, Any], role: str = "operator"
) -> dict[str, Any]:
    """`org` signs the tx and its HTTP request; the committed receipt."""
    contract, _, name = method.partition(".")
    return signed_client(net, org).call(localnet_key(net, org, role), contract, name, args)


@pytest.fixture(scope="module")
def story(net: dict[str, Any]) -> dict[str, str]:
    """The receivable and the payment, committed; their ids and the story's tx ids."""
    for org, amount in (("bigauto", MILLION), ("bank-c", MILLION)):
        _call(net, "bank-a", "cash.issue", {"currency": "CNY", "to": org, "amount": amount})
    now_ms = int(signed_client(net, "audit-co").status()["time_ms"])
    today = datetime.datetime.fromtimestamp(now_ms / 1000, datetime.UTC).date()
    issued = _call(
        net,
        "ore-mining",
        "receivables.issue",
        {
            "invoice_no": "ACCESS-1",
            "debtor": "bigauto",
            "amount": MILLION,
            "currency": "CNY",
            "issue_date": today.isoformat(),
            "due_date": (today + timedelta(days=90)).isoformat(),
            "doc_hash": sha256(b"ACCESS-1.pdf"),
        },
    )
    root = issued["result"]["id"]
    _call(net, "bigauto", "receivables.accept", {"id": root})
    split = _call(
        net,
        "ore-mining",
        "receivables.transfer",
        {"id": root, "to": "fuel-co", "amount": MILLION // 4},
    )
    piece = split["result"]["id"]
    offer = _call(
        net,
        "bank-c",
        "receivables.offer_financing",
        {"id": piece, "rate_bps": 500, "expires_ms": now_ms + 3_600_000},
    )["result"]["id"]
    _call(net, "fuel-co", "receivables.accept_financing", {"offer": offer})
    paid = _call(net, "bigauto", "payments.send", _payment("ACCESS-PAY-1", 12_345))
    return {
        "root": root,
        "piece": piece,
        "payment": paid["result"]["id"],
        "payment_tx": paid["tx"],
        "issue_tx": issued["tx"],
    }


def _payment(end_to_end_id: str, amount: int) -> dict[str, Any]:
    return {
        "to": "fuel-co",
        "currency": "CNY",
        "amount": amount,
        "end_to_end_id": end_to_end_id,
        "purpose": "GDDS",
        "remittance": "Invoice BA-2026-7, fuel",
        "originator": {"name": "BigAuto", "town": "Wuhan", "country": "CN"},
        "beneficiary": {"name": "Fuel Co", "town": "Wuhan", "country": "CN"},
    }


def _api(net: dict[str, Any]) -> str:
    return str(net["nodes"][0]["api"])


def _get(net: dict[str, Any], org: str, path: str, role: str = "operator") -> requests.Response:
    """GET `path`, signed as `org` by the independent library."""
    return send(signed_request(localnet_key(net, org, role), "GET", _api(net) + path))


def _error(answer: requests.Response) -> str:
    return str(answer.json()["error"]["code"])


# -- who may talk at all -------------------------------------------------------------------------


def test_unsigned_request_is_401_with_accept_signature(net: dict[str, Any]) -> None:
    answer = requests.get(_api(net) + "/v1/status", timeout=10)
    assert answer.status_code == 401 and _error(answer) == "UNAUTHENTICATED"
    accept = answer.headers["Accept-Signature"]
    assert '"@method" "@path" "@query" "content-digest"' in accept and 'alg="ed25519"' in accept
    assert _get(net, ENTERPRISE, "/v1/status").status_code == 200


def test_probes_answer_unsigned(net: dict[str, Any]) -> None:
    assert requests.get(_api(net) + "/healthz", timeout=10).status_code == 200
    metrics = requests.get(_api(net) + "/metrics", timeout=10)
    assert metrics.status_code == 200 and "tally_chain_height" in metrics.text


def test_bad_signature_is_401(net: dict[str, Any]) -> None:
    prepared = signed_request(localnet_key(net, ENTERPRISE), "GET", _api(net) + "/v1/status")
    label, _, value = str(prepared.headers["Signature"]).partition("=:")
    raw = bytearray(base64.b64decode(value.rstrip(":")))
    raw[0] ^= 1
    prepared.headers["Signature"] = f"{label}=:{base64.b64encode(bytes(raw)).decode()}:"
    answer = send(prepared)
    assert answer.status_code == 401 and _error(answer) == "UNAUTHENTICATED"


def test_signature_for_another_path_is_401(net: dict[str, Any]) -> None:
    prepared = signed_request(localnet_key(net, ENTERPRISE), "GET", _api(net) + "/v1/status")
    prepared.url = _api(net) + "/v1/validators"
    answer = send(prepared)
    assert answer.status_code == 401 and _error(answer) == "UNAUTHENTICATED"


def test_stale_created_is_401_stale_signature(net: dict[str, Any]) -> None:
    old = datetime.datetime.now(datetime.UTC) - timedelta(seconds=900)
    key = localnet_key(net, ENTERPRISE)
    answer = send(signed_request(key, "GET", _api(net) + "/v1/status", created=old))
    assert answer.status_code == 401 and _error(answer) == "STALE_SIGNATURE"
    assert "Accept-Signature" in answer.headers


def test_replayed_headers_with_another_body_are_401_digest_mismatch(net: dict[str, Any]) -> None:
    key = localnet_key(net, ENTERPRISE)
    tx = build_tx(key, net["chain"], "cash", "transfer", {"to": "bigauto"}, 10**6)
    first = json.dumps({"txs": [tx.encode().hex()]}).encode()
    prepared = signed_request(key, "POST", _api(net) + "/v1/txs", first)
    prepared.body = json.dumps({"txs": ["00" * 40]}).encode()
    prepared.headers["Content-Length"] = str(len(prepared.body))
    answer = send(prepared)
    assert answer.status_code == 401 and _error(answer) == "DIGEST_MISMATCH"


def test_key_registered_to_no_organization_is_401(net: dict[str, Any]) -> None:
    answer = send(signed_request(Ed25519Key.generate(), "GET", _api(net) + "/v1/status"))
    assert answer.status_code == 401 and _error(answer) == "UNAUTHENTICATED"
    assert "registered to no organization" in answer.json()["error"]["message"]


# -- what each may read --------------------------------------------------------------------------


def test_a_member_with_no_part_reads_404(net: dict[str, Any], story: dict[str, str]) -> None:
    for path in (
        f"/v1/receivables/{story['root']}",
        f"/v1/receivables/{story['piece']}",
        f"/v1/receivables/{story['root']}/trace",
        f"/v1/payments/{story['payment']}",
        "/v1/orgs/bigauto",
    ):
        answer = _get(net, ENTERPRISE, path)
        assert answer.status_code == 404 and _error(answer) == "NOT_FOUND", path
    tx = _get(net, ENTERPRISE, f"/v1/txs/{story['payment_tx']}").json()
    assert tx["status"] == "unknown" and tx["tx"] is None
    rows = {row["id"]: row for row in _get(net, ENTERPRISE, "/v1/orgs").json()["orgs"]}
    assert "balances" not in rows["bigauto"] and "balances" in rows[ENTERPRISE]
    assert _get(net, ENTERPRISE, f"/v1/orgs/{ENTERPRISE}").status_code == 200


def test_every_party_and_the_auditor_read_the_receivable(
    net: dict[str, Any], story: dict[str, str]
) -> None:
    for org in (*PARTIES, "audit-co"):
        for piece in (story["root"], story["piece"]):
            answer = _get(net, org, f"/v1/receivables/{piece}")
            assert answer.status_code == 200, (org, piece, answer.text)
            assert answer.json()["id"] == piece
    assert _get(net, "bank-d", f"/v1/receivables/{story['root']}").status_code == 404
    assert _get(net, "bank-c", f"/v1/receivables/{story['piece']}").json()["holder"] == "bank-c"


def test_payment_reads(net: dict[str, Any], story: dict[str, str]) -> None:
    for org in ("bigauto", "fuel-co", "bank-a", "audit-co"):  # bank-a services CNY accounts
        answer = _get(net, org, f"/v1/payments/{story['payment']}")
        assert answer.status_code == 200, (org, answer.text)
        assert answer.json()["amount"] == 12_345
    assert _get(net, "bank-d", f"/v1/payments/{story['payment']}").status_code == 404
    balances = _get(net, "audit-co", "/v1/orgs/bigauto").json()["balances"]
    assert balances["CNY"] == MILLION - 12_345


def _events(net: dict[str, Any], org: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = _get(net, org, f"/v1/events?after={after}&limit=500").json()
        found += page["events"]
        if page["next"] == after:
            return found
        after = page["next"]


def test_an_enterprise_lists_only_its_events(net: dict[str, Any], story: dict[str, str]) -> None:
    everything = {e["tx"] for e in _events(net, "audit-co")}
    assert {story["payment_tx"], story["issue_tx"]} <= everything
    own = _events(net, ENTERPRISE)
    assert not {e["tx"] for e in own} & {story["payment_tx"], story["issue_tx"]}
    for record in own:
        assert record["tx"] in everything
    fuel = {e["tx"] for e in _events(net, "fuel-co")}
    assert story["payment_tx"] in fuel and story["issue_tx"] in fuel


def _stream_events(answer: requests.Response, until_tx: str) -> tuple[list[Any], list[Any]]:
    """Blocks and events of an SSE answer, read until an event of `until_tx` arrives."""
    blocks: list[Any] = []
    events: list[Any] = []
    kind = ""
    for raw in answer.iter_lines():
        line = raw.decode()
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            (blocks if kind == "block" else events).append(data)
            if kind == "event" and data["tx"] == until_tx:
                return blocks, events
    raise AssertionError("the stream ended before the awaited event")


def test_the_stream_of_an_enterprise_carries_only_its_events(
    net: dict[str, Any], story: dict[str, str]
) -> None:
    prepared = signed_request(localnet_key(net, ENTERPRISE), "GET", _api(net) + "/v1/stream")
    with requests.Session() as session:
        answer = session.send(prepared, stream=True, timeout=15)
        assert answer.status_code == 200
        try:
            other = _call(net, "bigauto", "payments.send", _payment("ACCESS-PAY-2", 1))
            mine = _call(
                net, "bank-a", "cash.issue", {"currency": "CNY", "to": ENTERPRISE, "amount": 7}
            )
            blocks, events = _stream_events(answer, mine["tx"])
        finally:
            answer.close()
    assert other["height"] in {block["height"] for block in blocks}  # its block went by
    assert all(event["tx"] != other["tx"] for event in events)
    assert any(
        event["event"].get("to") == ENTERPRISE for event in events if event["tx"] == mine["tx"]
    )


# -- a removed key -------------------------------------------------------------------------------


def test_a_key_governance_removed_fails_at_the_next_request(net: dict[str, Any]) -> None:
    key = localnet_key(net, "rhein-parts")
    assert send(signed_request(key, "GET", _api(net) + "/v1/status")).status_code == 200
    params = {"action": "remove_key", "params": {"org": "rhein-parts", "public": key.public}}
    proposal = _call(net, "bank-a", "registry.propose", params, "admin")["result"]["id"]
    _call(net, "bank-b", "registry.approve", {"id": proposal}, "admin")
    passed = _call(net, "bank-d", "registry.approve", {"id": proposal}, "admin")
    assert passed["result"] == {"passed": True}
    answer = send(signed_request(key, "GET", _api(net) + "/v1/status"))
    assert answer.status_code == 401 and _error(answer) == "UNAUTHENTICATED"
    admin = localnet_key(net, "rhein-parts", "admin")
    assert send(signed_request(admin, "GET", _api(net) + "/v1/status")).status_code == 200
