"""The `tally` output layer and node selection, without a node (issue 17): exit statuses, what a
write prints, people's units in text, the lookup order, failover over real sockets."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.audit_text import balances_text, org_text
from ledger.errors import TallyError
from wallet.cli.netting import window_text
from wallet.cli.nodes import DEFAULT_NODE, UsageProblem, choose_nodes
from wallet.cli.output import Committed, exit_status, utc_time, with_commits
from wallet.cli.tx import worded
from wallet.errors import ApiError, TxFailed
from wallet.failover import FailoverClient

DECIMALS = {"CNY": 2, "JPY": 0, "KWD": 3}
RECEIPT = {"tx": "ab" * 32, "height": 7, "status": "ok", "index": 0, "result": None}


def test_exit_status_says_who_refused() -> None:
    assert exit_status(TxFailed("ab", {"error": {"code": "INSUFFICIENT_FUNDS"}})) == 1
    assert exit_status(ApiError("NOT_FOUND", "no such org", 404)) == 1
    assert exit_status(ApiError("BAD_AMOUNT", "the node's own refusal", 400)) == 1
    assert exit_status(ApiError("NODE_UNREACHABLE", "no answer")) == 3
    assert exit_status(TallyError("BAD_AMOUNT", "1.2.3 is not an amount")) == 2
    assert exit_status(UsageProblem("NO_LOCALNET", "no localnet folder x")) == 2
    assert exit_status(TallyError("SOMETHING_ELSE", "a local failure")) == 1


def test_a_write_record_carries_the_committed_tx() -> None:
    commit = Committed.of_receipt(RECEIPT, None)
    record = with_commits({"amount": 100, "currency": "CNY"}, [commit])
    assert record == {"amount": 100, "currency": "CNY", "tx": "ab" * 32, "height": 7,
                      "status": "ok", "receipt": RECEIPT}  # fmt: skip
    assert with_commits({"a": 1}, []) == {"a": 1}
    assert with_commits([1], [commit, commit])["txs"] == [commit.to_json()] * 2


def test_a_write_says_where_to_see_it() -> None:
    plain = Committed.of_receipt(RECEIPT, None)
    assert (
        plain.text("tally tx show X") == f"committed tx {'ab' * 32} in block 7; see tally tx show X"
    )
    explored = Committed.of_receipt(RECEIPT, "http://127.0.0.1:8080/")
    assert explored.explorer == f"http://127.0.0.1:8080/tx/{'ab' * 32}"
    assert explored.to_json()["explorer"] == explored.explorer
    assert explored.text("unused").endswith(f"see http://127.0.0.1:8080/tx/{'ab' * 32}")


def test_tx_fields_in_people_units_and_dates() -> None:
    args = {"amount": 148_264_834, "currency": "CNY", "to": "acme-steel"}
    assert worded(args, DECIMALS) == "amount=1,482,648.34 CNY  currency=CNY  to=acme-steel"
    assert worded({"amount": 5, "currency": "JPY"}, DECIMALS) == "amount=5 JPY  currency=JPY"
    paid = worded({"currency": "KWD", "paid": {"bank-a": 1500}}, DECIMALS)
    assert paid == "currency=KWD  paid=bank-a 1.500 KWD"
    assert worded({"close_ms": 0, "n": 3}, DECIMALS) == "close_ms=1970-01-01 00:00:00 UTC  n=3"
    assert worded({"amount": 5, "currency": "XXX"}, DECIMALS) == "amount=5  currency=XXX"
    assert utc_time(1_796_186_780_118) == "2026-12-02 04:46:20 UTC"


def test_netting_window_as_text() -> None:
    record = {
        "id": "w1", "status": "settled", "currency": "CNY", "opener": "bank-a",
        "opened_height": 4, "close_ms": 0, "gross": 150_000, "count": 2, "net": 50_000,
        "positions": {"bank-a": -50_000, "bank-b": 50_000},
        "obligations": [{"from": "bank-a", "to": "bank-b", "amount": 150_000, "height": 5,
                         "ref": "INV-A1"}],
        "transfers": [{"from": "bank-a", "to": "bank-b", "amount": 50_000}],
    }  # fmt: skip
    text = window_text(record, 2)
    assert "window w1  settled  CNY, opened by bank-a in block 4, closes 1970-01-01" in text
    assert "gross 1,500.00 CNY in 2 obligation(s), net 500.00 CNY" in text
    assert "    bank-a       -500.00 CNY" in text
    assert "bank-a       owes bank-b       1,500.00 CNY  ref INV-A1  block 5" in text
    assert "… and 1 more (see --json)" in text
    assert "    bank-a       → bank-b       500.00 CNY" in text


def test_audit_trace_of_an_org_in_people_units() -> None:
    result = {
        "kind": "org",
        "org": {"id": "acme-steel", "name": "Acme", "kind": "enterprise",
                "balances": {"CNY": 148_264_834, "KWD": 1}},
        "held": [], "owed": {"error": "not yours to read"},
        "payments": [{"id": "p" * 64, "roles": ["sent"], "payer": "acme-steel",
                      "payee": "rhein-parts", "credit_amount": 500, "credit_currency": "CNY"}],
    }  # fmt: skip
    lines = org_text(result, DECIMALS)
    assert lines[1] == "  balances: 1,482,648.34 CNY, 0.001 KWD"
    assert "  receivables owed: (not yours to read)" in lines
    assert lines[-1].endswith("acme-steel → rhein-parts  5.00 CNY")
    assert balances_text({}, DECIMALS) == "none"
    assert balances_text({"XYZ": 5}, DECIMALS) == "5 XYZ (minor units)"


def _localnet(folder: Path, port: int) -> None:
    folder.mkdir(parents=True)
    nodes = [{"name": "v", "api": f"http://127.0.0.1:{port}", "pid": 0}]
    (folder / "localnet.json").write_text(json.dumps({"chain": "c", "nodes": nodes}))


def test_the_lookup_order_and_what_it_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("TALLY_NODE", "TALLY_LOCALNET"):
        monkeypatch.delenv(name, raising=False)
    assert choose_nodes((), None).urls == (DEFAULT_NODE,)
    _localnet(tmp_path / "demo-data", 2)
    assert choose_nodes((), None).picked == "localnet demo-data/ found in the working folder"
    _localnet(tmp_path / "localnet", 1)
    assert choose_nodes((), None).urls == ("http://127.0.0.1:1",)
    _localnet(tmp_path / "other", 3)
    monkeypatch.setenv("TALLY_LOCALNET", "other")
    assert choose_nodes((), None).picked == "localnet other from $TALLY_LOCALNET"
    monkeypatch.setenv("TALLY_NODE", "http://a, http://b")
    assert choose_nodes((), None).urls == ("http://a", "http://b")
    named = choose_nodes((), "demo-data")
    assert named.urls == ("http://127.0.0.1:2",) and named.picked is None
    both = choose_nodes(("http://x",), "demo-data")
    assert both.urls == ("http://x",) and both.localnet is not None
    with pytest.raises(UsageProblem) as missing:
        choose_nodes((), "no-such-dir")
    assert missing.value.code == "NO_LOCALNET"
    monkeypatch.delenv("TALLY_NODE")
    monkeypatch.setenv("TALLY_LOCALNET", "gone")
    with pytest.raises(UsageProblem):
        choose_nodes((), None)


class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"chain": "c", "height": 5}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def live_node() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_failover_moves_on_once_and_stays(live_node: str) -> None:
    dead = "http://127.0.0.1:9"
    heard: list[str] = []
    client = FailoverClient([dead, live_node], timeout=5, on_switch=heard.append)
    assert client.height() == 5 and client.height() == 5
    assert heard == [f"{dead} gives no answer; trying {live_node}"]
    lost = FailoverClient([dead, dead + "/"], timeout=5)
    with pytest.raises(ApiError) as nobody:
        lost.status()
    assert nobody.value.code == "NODE_UNREACHABLE"
