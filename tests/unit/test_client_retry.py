"""The SDK's retries and timeout model (wallet/retry.py, wallet/client.py) against a real
local HTTP server that answers as a busy node would: 503 (with Retry-After) and then 200."""

from __future__ import annotations

import http.server
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.stub_http import serving
from wallet import retry
from wallet.client import ApiError, Client
from wallet.retry import NO_RETRY

MAX_WAIT_MS = 120_000  # node/api/chain.py's cap on timeout_ms


@dataclass
class Script:
    """What the server answers, in turn (the last one again when the list runs out)."""

    answers: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def next(self, path: str) -> tuple[int, dict[str, str], Any]:
        self.seen.append(path)
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        if int(query.get("timeout_ms", ["0"])[0]) > MAX_WAIT_MS:  # as the node refuses it
            return 400, {}, {"error": {"code": "BAD_QUERY", "message": "timeout_ms too big"}}
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def node() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, headers, body = script.next(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, script


BUSY = (503, {"Retry-After": "0"}, {"error": {"code": "BUSY", "message": "busy"}})
STATUS = (200, {}, {"chain": "c", "height": 7})


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", waited.append)
    return waited


def test_a_read_answered_503_then_200_is_retried(
    node: tuple[str, Script], pauses: list[float]
) -> None:
    url, script = node
    script.answers = [BUSY, STATUS]
    assert Client(url).height() == 7
    assert len(script.seen) == 2 and pauses == [0.0]


def test_retry_after_is_honoured_and_the_tries_are_bounded(
    node: tuple[str, Script], pauses: list[float]
) -> None:
    url, script = node
    script.answers = [(503, {"Retry-After": "2"}, {"error": {"code": "BUSY", "message": "b"}})]
    with pytest.raises(ApiError) as busy:
        Client(url).status()
    assert busy.value.code == "BUSY" and busy.value.retry_after == 2.0
    assert len(script.seen) == Client.retry_policy.attempts and pauses == [2.0, 2.0]


def test_a_refusal_is_final_and_no_retry_turns_retries_off(
    node: tuple[str, Script], pauses: list[float]
) -> None:
    url, script = node
    script.answers = [(404, {}, {"error": {"code": "NOT_FOUND", "message": "no"}})]
    with pytest.raises(ApiError):
        Client(url).tx("00" * 32)
    assert len(script.seen) == 1
    script.answers, script.seen = [BUSY], []
    quiet = Client(url)
    quiet.retry_policy = NO_RETRY
    with pytest.raises(ApiError):
        quiet.status()
    assert len(script.seen) == 1 and pauses == []


def test_tx_submission_is_retried_after_503(node: tuple[str, Script], pauses: list[float]) -> None:
    url, script = node
    accepted = (200, {}, {"results": [{"id": "ab", "accepted": True, "error": None}]})
    script.answers = [BUSY, accepted]
    assert Client(url).submit_hex(["00"]) == [{"id": "ab", "accepted": True, "error": None}]
    assert script.seen == ["/v1/txs", "/v1/txs"]


def test_no_answer_is_retried_with_backoff(pauses: list[float]) -> None:
    with pytest.raises(ApiError) as unreachable:
        Client("http://127.0.0.1:9").status()  # the discard port: connection refused
    assert unreachable.value.code == "NODE_UNREACHABLE"
    assert pauses == [0.25, 0.5]


def test_wait_for_receipt_longer_than_the_nodes_poll_cap(node: tuple[str, Script]) -> None:
    url, script = node
    receipt = {"tx": "ab", "status": "ok", "height": 3}
    committed = {"status": "committed", "receipt": receipt}
    script.answers = [(200, {}, {"status": "pending"}), (200, {}, committed)]
    assert Client(url).wait_for_receipt("ab", timeout=300) == receipt
    polls = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query) for p in script.seen]
    assert all(int(q["timeout_ms"][0]) <= MAX_WAIT_MS for q in polls) and len(polls) == 2
