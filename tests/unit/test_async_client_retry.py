"""The AsyncClient's retries, timeout model and typed results (wallet/async_client.py,
wallet/retry.py, wallet/timeouts.py, wallet/async_results.py) against the scripted local
server of test_client_retry.py, which answers as a busy node would and refuses a poll longer
than the node's cap."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from ledger.crypto import Ed25519Key
from tests.unit.test_client_retry import BUSY, MAX_WAIT_MS, STATUS, Script, node
from wallet import timeouts
from wallet.async_client import AsyncClient
from wallet.errors import ApiError
from wallet.retry import NO_RETRY, RetryPolicy, retrying_async
from wallet.txbuilder import build_tx

__all__ = ["node"]  # the fixture

T = TypeVar("T")


def run(client: AsyncClient, call: Callable[[AsyncClient], Awaitable[T]]) -> T:
    async def go() -> T:
        async with client:
            return await call(client)

    return asyncio.run(go())


def test_a_read_answered_503_then_200_is_retried(node: tuple[str, Script]) -> None:
    url, script = node
    script.answers = [BUSY, STATUS]
    assert run(AsyncClient(url), lambda c: c.height()) == 7
    assert len(script.seen) == 2


def test_retries_are_bounded_and_no_retry_turns_them_off(node: tuple[str, Script]) -> None:
    url, script = node
    script.answers = [BUSY]
    with pytest.raises(ApiError) as busy:
        run(AsyncClient(url), lambda c: c.status())
    assert busy.value.code == "BUSY" and busy.value.retry_after == 0.0
    assert len(script.seen) == AsyncClient.retry_policy.attempts
    script.seen.clear()
    quiet = AsyncClient(url)
    quiet.retry_policy = NO_RETRY
    with pytest.raises(ApiError):
        run(quiet, lambda c: c.status())
    assert len(script.seen) == 1


def test_a_refusal_is_final(node: tuple[str, Script]) -> None:
    url, script = node
    script.answers = [(404, {}, {"error": {"code": "NOT_FOUND", "message": "no"}})]
    with pytest.raises(ApiError) as missing:
        run(AsyncClient(url), lambda c: c.tx("00" * 32))
    assert missing.value.code == "NOT_FOUND" and len(script.seen) == 1


def test_no_answer_is_retried_with_a_pause_that_doubles() -> None:
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    async def unreachable() -> None:
        raise ApiError("NODE_UNREACHABLE", "refused")

    with pytest.raises(ApiError):
        asyncio.run(retrying_async(RetryPolicy(attempts=4), unreachable, pause))
    assert pauses == [0.25, 0.5, 1.0]


def test_wait_for_receipt_longer_than_the_nodes_poll_cap(node: tuple[str, Script]) -> None:
    url, script = node
    receipt = {"tx": "ab", "status": "ok", "height": 3, "index": 0}
    committed = {"id": "ab", "status": "committed", "receipt": receipt}
    script.answers = [(200, {}, {"status": "pending"}), (200, {}, committed)]
    assert run(AsyncClient(url), lambda c: c.wait_for_receipt("ab", timeout=300)) == receipt
    polls = [urllib.parse.parse_qs(urllib.parse.urlparse(p).query) for p in script.seen]
    assert [int(q["timeout_ms"][0]) for q in polls] == [MAX_WAIT_MS, MAX_WAIT_MS]
    script.answers = [(200, {}, committed)]
    status = run(AsyncClient(url), lambda c: c.tx_status("ab"))
    assert status.status == "committed" and status.receipt is not None and status.receipt.ok


def test_a_submission_that_waits_asks_the_node_to_answer_before_the_request_times_out(
    node: tuple[str, Script],
) -> None:
    url, script = node
    receipt = {"tx": "ab", "status": "ok", "height": 3, "index": 0}
    script.answers = [(200, {}, {"results": [{"id": "ab", "accepted": True, "receipt": receipt}]})]
    tx = build_tx(Ed25519Key.generate(), "c", "cash", "issue", {}, 10)
    typed = run(AsyncClient(url, timeout=8), lambda c: c.receipt_of(tx))
    assert typed.ok and typed.height == 3
    (path,) = script.seen
    assert path == "/v1/txs?wait=commit&timeout_ms=7000"


def test_the_timeout_model_keeps_each_poll_within_the_cap_and_the_request() -> None:
    assert timeouts.poll_seconds(300) == timeouts.MAX_POLL_S == MAX_WAIT_MS / 1000
    assert timeouts.poll_seconds(300, request_timeout=30) == 29
    assert timeouts.poll_seconds(0.4, request_timeout=30) == 0.4
    assert timeouts.poll_seconds(-1) == 0
    assert timeouts.commit_wait_ms(600) == MAX_WAIT_MS and timeouts.commit_wait_ms(1) == 500


def test_a_node_without_a_stream_is_told_apart_from_one_that_is_down(
    node: tuple[str, Script],
) -> None:
    """`stream()` (the explorer's live view) says NO_STREAM for any answer that is not an event
    stream, and NODE_UNREACHABLE when nothing answers."""
    url, script = node

    async def first_line(client: AsyncClient) -> str:
        async for line in client.stream():
            return line
        return ""

    for answer in [(404, {}, {"error": {"code": "NOT_FOUND", "message": "no"}}), STATUS]:
        script.answers = [answer]
        with pytest.raises(ApiError) as missing:
            run(AsyncClient(url), first_line)
        assert missing.value.code == "NO_STREAM"
    with pytest.raises(ApiError) as down:
        run(AsyncClient("http://127.0.0.1:9"), first_line)
    assert down.value.code == "NODE_UNREACHABLE"
