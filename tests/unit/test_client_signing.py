"""The SDK's clients sign every request and the stream (DESIGN.md §9): `Client`,
`FailoverClient`, `AsyncClient` and both subscriptions, against a local server that checks each
request with the node's own checker (ledger/httpsig.py) and answers 401 as a `members` node
does. A 401 is the node's answer: raised with its code, never retried or failed over."""

from __future__ import annotations

import asyncio
import http.server
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from ledger.crypto import Ed25519Key
from ledger.httpsig import SignatureRefused, verify_request
from tests.support.stub_http import serving
from wallet.async_client import AsyncClient
from wallet.client import Client
from wallet.errors import ApiError
from wallet.failover import FailoverClient
from wallet.request_signing import RequestSigner

KEY = Ed25519Key.from_seed(bytes(range(32)))
SIGNER = RequestSigner.of(KEY)
STALE = RequestSigner(SIGNER.signer, clock=lambda: time.time() - 3600)
STATUS = {"chain": "c", "height": 7}


@dataclass
class Checked:
    """What the server saw: each request's target and who signed it (None: refused)."""

    seen: list[tuple[str, bytes | None]] = field(default_factory=list)


@pytest.fixture
def node() -> Iterator[tuple[str, Checked]]:
    checked = Checked()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {name: value for name, value in self.headers.items()}
            try:
                signed = verify_request(self.command, self.path, headers, body, time.time())
            except SignatureRefused as refusal:
                checked.seen.append((self.path, None))
                error = {"error": {"code": refusal.code, "message": refusal.message}}
                return self._send(401, "application/json", json.dumps(error).encode())
            checked.seen.append((self.path, signed.public))
            if self.path == "/v1/stream":
                return self._send(200, "text/event-stream", b": heartbeat\n\n")
            if self.path.startswith("/v1/txs"):
                txs = json.loads(body)["txs"]
                answer = {"results": [{"id": t, "accepted": True} for t in txs]}
                return self._send(200, "application/json", json.dumps(answer).encode())
            self._send(200, "application/json", json.dumps(STATUS).encode())

        def _send(self, status: int, kind: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *_: Any) -> None:
            pass

    with serving(Handler) as url:
        yield url, checked


def test_client_signs_reads_writes_and_the_stream(node: tuple[str, Checked]) -> None:
    url, checked = node
    client = Client(url, request_signer=SIGNER)
    assert client.height() == 7
    assert client.submit_hex(["ab"], wait=True)[0]["accepted"]
    client.open_stream(idle_timeout=2).close()
    assert [public for _, public in checked.seen] == [KEY.public] * 3


def test_unsigned_request_gets_the_nodes_code_once(node: tuple[str, Checked]) -> None:
    url, checked = node
    with pytest.raises(ApiError) as refused:
        Client(url).status()
    assert (refused.value.code, refused.value.status) == ("UNAUTHENTICATED", 401)
    assert len(checked.seen) == 1  # not retried as if the node were down


def test_a_stale_signature_is_not_retried(node: tuple[str, Checked]) -> None:
    url, checked = node
    with pytest.raises(ApiError) as refused:
        Client(url, request_signer=STALE).status()
    assert refused.value.code == "STALE_SIGNATURE"
    assert len(checked.seen) == 1


def test_failover_client_signs_and_does_not_fail_over_on_401(node: tuple[str, Checked]) -> None:
    url, checked = node
    switches: list[str] = []
    other = "http://127.0.0.1:9"  # nothing listens: the first node's answer must stand
    with pytest.raises(ApiError) as refused:
        FailoverClient([url, other], on_switch=switches.append).status()
    assert refused.value.code == "UNAUTHENTICATED" and switches == []
    signed = FailoverClient([other, url], on_switch=switches.append, request_signer=SIGNER)
    assert signed.height() == 7 and checked.seen[-1] == ("/v1/status", KEY.public)
    assert len(switches) == 1


def test_async_client_signs_reads_writes_and_the_stream(node: tuple[str, Checked]) -> None:
    url, checked = node

    async def go() -> None:
        async with AsyncClient(url, request_signer=SIGNER) as client:
            assert await client.height() == 7
            assert (await client.submit_hex(["ab", "cd"], wait=True))[1]["accepted"]
            lines = [line async for line in client.stream()]
            assert lines[0] == ": heartbeat"

    asyncio.run(go())
    assert [public for _, public in checked.seen] == [KEY.public] * 3


def test_async_client_raises_the_nodes_401_codes_once(node: tuple[str, Checked]) -> None:
    url, checked = node

    async def refusal(client: AsyncClient, stream: bool) -> str:
        async with client:
            try:
                if stream:
                    [line async for line in client.stream()]
                else:
                    await client.status()
            except ApiError as error:
                assert error.status == 401
                return error.code
        raise AssertionError("no refusal")

    assert asyncio.run(refusal(AsyncClient(url), stream=False)) == "UNAUTHENTICATED"
    assert asyncio.run(refusal(AsyncClient(url, request_signer=STALE), False)) == "STALE_SIGNATURE"
    assert asyncio.run(refusal(AsyncClient(url), stream=True)) == "UNAUTHENTICATED"
    assert len(checked.seen) == 3


def test_subscriptions_stop_on_401_instead_of_reconnecting(node: tuple[str, Checked]) -> None:
    url, checked = node
    with pytest.raises(ApiError) as refused:
        next(iter(Client(url).subscribe()))
    assert refused.value.code == "UNAUTHENTICATED"

    async def first_event() -> None:
        async with AsyncClient(url) as client:
            async for _ in client.subscribe():
                break

    with pytest.raises(ApiError) as async_refused:
        asyncio.run(first_event())
    assert async_refused.value.code == "UNAUTHENTICATED"
    assert len(checked.seen) == 2
