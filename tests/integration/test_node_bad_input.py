"""Bad input on every write route and malformed queries get a 4xx JSON error with a stable code
(or, for a validly ordered tx whose call fails, a failed receipt with its code); the node keeps
serving throughout."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import msgpack
import pytest

from ledger.types import SignedTx
from tests.support.localnet_tools import remember, sign_request
from wallet.localnet_keys import localnet_key as _key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow


def _request(
    api: str, method: str, path: str, body: bytes | None = None, content_type: str | None = None
) -> tuple[int, Any]:
    headers = {
        "Content-Type": content_type or "application/json",
        **sign_request(api + path, method, body or b""),
    }
    request = urllib.request.Request(api + path, body, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _submit(api: str, hexes: list[str], wait: bool = False) -> tuple[int, Any]:
    path = "/v1/txs?wait=commit" if wait else "/v1/txs"
    return _request(api, "POST", path, json.dumps({"txs": hexes}).encode())


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from node.ops import localnet

    directory = tmp_path_factory.mktemp("badinput")
    info = remember(localnet.up(directory, 1))
    yield info
    localnet.down(directory, grace=5.0)


def _code(answer: Any) -> str:
    return str(answer["error"]["code"])


def test_malformed_transactions_are_refused_with_stable_codes(net: Any) -> None:
    api = net["nodes"][0]["api"]
    chain = net["chain"]
    bank = _key(net, "bank-a")
    good = build_tx(
        bank, chain, "cash", "issue", {"currency": "CNY", "to": "bigauto", "amount": 1}, 100
    )

    forged = SignedTx(good.body_bytes, bytes(64), good.body, good.id)
    unsorted = msgpack.packb({"sig": good.sig, "body": good.body_bytes}, use_bin_type=True)
    big_args = {"currency": "CNY", "to": "bigauto", "amount": 1, "memo": "x" * 70_000}
    cases = {
        "NOT_HEX": "zz",
        "BAD_ENCODING": "c1",
        "NON_CANONICAL": unsorted.hex(),
        "BAD_TX": msgpack.packb({"body": b"x", "sig": b"y"}, use_bin_type=True).hex(),
        "BAD_SIGNATURE": forged.encode().hex(),
        "WRONG_CHAIN": build_tx(bank, "other-chain", "cash", "issue", {}, 100).encode().hex(),
        "EXPIRED": build_tx(bank, chain, "cash", "issue", {}, 0).encode().hex(),
        "VALIDITY_TOO_LONG": build_tx(bank, chain, "cash", "issue", {}, 10**6).encode().hex(),
        "TX_TOO_LARGE": build_tx(bank, chain, "cash", "transfer", big_args, 100).encode().hex(),
    }
    for code, item in cases.items():
        status, answer = _submit(api, [item])
        assert status == 400, (code, answer)
        assert _code(answer) == code
        assert answer["results"][0]["accepted"] is False
        assert answer["results"][0]["error"]["code"] == code

    status, answer = _submit(api, [good.encode().hex(), cases["NOT_HEX"]], wait=True)
    assert status == 200
    assert [r["accepted"] for r in answer["results"]] == [True, False]
    assert answer["results"][0]["receipt"]["status"] == "ok"
    status, answer = _submit(api, [good.encode().hex()])
    assert status == 400 and _code(answer) == "DUPLICATE_TX"


def test_validly_ordered_failures_have_failed_receipts_with_codes(net: Any) -> None:
    api = net["nodes"][0]["api"]
    chain = net["chain"]
    supplier = _key(net, "fuel-co")
    calls = {
        "UNKNOWN_METHOD": (supplier, "cash", "steal", {}),
        "BAD_ARGUMENT": (supplier, "cash", "transfer", {"currency": "CNY", "to": 7, "amount": 1}),
        "NOT_AUTHORIZED": (
            _key(net, "fuel-co"),
            "registry",
            "add_key",
            {"org": "fuel-co", "public": bytes(32), "role": "viewer"},
        ),
        "INSUFFICIENT_FUNDS": (
            supplier,
            "cash",
            "transfer",
            {"currency": "CNY", "to": "bigauto", "amount": 10**12},
        ),
    }
    txs = {
        code: build_tx(key, chain, contract, method, args, 200)
        for code, (key, contract, method, args) in calls.items()
    }
    status, answer = _submit(api, [tx.encode().hex() for tx in txs.values()], wait=True)
    assert status == 200
    for code, result in zip(txs, answer["results"], strict=True):
        assert result["accepted"], result
        assert result["receipt"]["status"] == "failed"
        assert result["receipt"]["error"]["code"] == code


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", None, 400, "BAD_JSON"),
        (b"[1, 2]", None, 400, "BAD_REQUEST"),
        (b'{"txs": "00"}', None, 400, "BAD_REQUEST"),
        (b'{"txs": []}', None, 400, "BAD_REQUEST"),
        (json.dumps({"txs": ["00"] * 10_001}).encode(), None, 400, "TOO_MANY_TXS"),
        (b"txs=00", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
        # issue 11, finding 8: 100k nested brackets answered 500 with a logged RecursionError
        (b"[" * 100_000, None, 400, "BAD_JSON"),
        (b"[" * 2_000 + b"]" * 2_000, None, 400, "BAD_JSON"),  # deeper than the parser goes
        (b"[" * 100 + b"]" * 100, None, 400, "BAD_JSON"),  # valid JSON, deeper than allowed
        (b"[" + b"0," * 2_000_000 + b"0]", None, 400, "BAD_JSON"),  # seconds of parsing
    ],
)
def test_malformed_bodies_get_json_errors(
    net: Any, body: bytes, content_type: str | None, status: int, code: str
) -> None:
    got, answer = _request(net["nodes"][0]["api"], "POST", "/v1/txs", body, content_type)
    assert (got, _code(answer)) == (status, code)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/blocks?from=abc", 400, "BAD_QUERY"),
        ("GET", "/v1/blocks?limit=0", 400, "BAD_QUERY"),
        ("GET", "/v1/blocks/999999", 404, "NOT_FOUND"),
        ("GET", "/v1/blocks/zz", 400, "BAD_ID"),
        ("GET", "/v1/blocks/" + "ab" * 32, 404, "NOT_FOUND"),
        ("GET", "/v1/txs/abc", 400, "BAD_ID"),
        ("GET", "/v1/txs/" + "00" * 32, 404, "NOT_FOUND"),
        ("GET", "/v1/txs/" + "00" * 32 + "/proof", 404, "NOT_FOUND"),
        ("GET", "/v1/txs/" + "00" * 32 + "?wait=soon", 400, "BAD_QUERY"),
        ("GET", "/v1/orgs/nobody", 404, "NOT_FOUND"),
        ("GET", "/v1/events?after=-1", 400, "BAD_QUERY"),
        ("GET", "/v1/nothing-here", 404, "NOT_FOUND"),
        ("POST", "/v1/status", 405, "METHOD_NOT_ALLOWED"),
    ],
)
def test_malformed_queries_and_unknown_ids_get_json_errors(
    net: Any, method: str, path: str, status: int, code: str
) -> None:
    body = b"{}" if method == "POST" else None
    got, answer = _request(net["nodes"][0]["api"], method, path, body)
    assert (got, _code(answer)) == (status, code)


def _raw_exchange(api: str, request: bytes) -> bytes:
    """Send raw bytes to the node's HTTP port; everything it answers until it closes."""
    address = urllib.parse.urlsplit(api)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",  # no method, path or version
        b"GET /v1/status HTTP/9.9\r\nHost: x\r\n\r\n",  # unknown version
        b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # request line too long
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000 + b"\r\n\r\n",
        b"GET /v1/status HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n",  # no colon
        b"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ],
)
def test_malformed_http_gets_the_json_error_not_a_text_page(net: Any, request_bytes: bytes) -> None:
    """aiohttp's own 400 pages were plain text (issue 11, finding 8)."""
    answer = _raw_exchange(net["nodes"][0]["api"], request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *headers = head.decode("latin-1").split("\r\n")
    assert status_line.split()[1] == "400", answer[:300]
    assert "content-type: application/json" in (h.lower() for h in headers), head
    assert json.loads(body)["error"]["code"] == "BAD_REQUEST"


def test_node_keeps_serving_and_counts_rejections_by_code(net: Any) -> None:
    api = net["nodes"][0]["api"]
    for _ in range(3):
        _submit(api, ["zz", "c1"])
    status, answer = _request(api, "GET", "/v1/status")
    assert status == 200 and answer["chain"] == net["chain"]
    with urllib.request.urlopen(api + "/metrics", timeout=30) as response:
        metrics = response.read().decode()
    assert 'tally_tx_rejections_total{code="NOT_HEX"}' in metrics
    assert 'tally_tx_rejections_total{code="BAD_ENCODING"}' in metrics
