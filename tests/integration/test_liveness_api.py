"""No HTTP client can starve or exhaust a node (issue 11, findings 4 and 8), against real node
processes over real sockets.

Finding 4: two dozen clients asking the primary for pages of large blocks starved the loop that
runs consensus (view change) and three raw pages took it from 197 to 760 MB. Finding 8: silent
and trickling sockets were held forever, connections had no cap, live streams no bound, and at
the file limit asyncio logged its accept failure thousands of times a second.

No test asserts a duration: deadlines are set short in the node's config, and each test waits
for the event (a socket closed by the node, a metric, an answer), with a generous safety net.
"""

from __future__ import annotations

import asyncio
import json
import resource
import select
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from node.ops import bench_reads, layout, localnet, processes
from tests.support.localnet_tools import wait_until

pytestmark = pytest.mark.slow

LIMITS: dict[str, Any] = {
    "max_connections": 24,
    "header_timeout_s": 2.0,
    "keepalive_timeout_s": 3.0,
    "body_timeout_s": 10.0,
    "send_timeout_s": 3.0,
    "max_stream_clients": 2,
}
SAFETY_S = 60.0  # how long a socket waits for the node before the test calls it a failure


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One validator with short HTTP deadlines and small caps."""
    directory = tmp_path_factory.mktemp("tight")
    info = bench_reads.start_localnet(directory, 1, LIMITS)
    yield {**info, "dir": directory}
    localnet.down(directory, grace=5.0)


def _address(api: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(api)
    return str(parts.hostname), int(parts.port or 80)


def _connect(api: str) -> socket.socket:
    sock = socket.create_connection(_address(api), timeout=SAFETY_S)
    return sock


def _closed_by_node(sock: socket.socket) -> bool:
    """Wait (up to SAFETY_S) for the node to close `sock`; True if it closed without answering."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _metric(api: str, name: str, labels: str = "") -> float:
    with urllib.request.urlopen(api + "/metrics", timeout=30) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return 0.0


def _get(api: str, path: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(api + path, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


# -- finding 8: sockets that say nothing, or too little, or too many --------------------------


def test_silent_sockets_are_closed_after_the_header_timeout(tight: dict[str, Any]) -> None:
    api = tight["nodes"][0]["api"]
    sockets = [_connect(api) for _ in range(8)]
    try:
        assert all(_closed_by_node(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()
    assert _get(api, "/healthz")[0] == 200


def test_a_head_sent_a_byte_a_second_is_cut_off_before_it_ends(tight: dict[str, Any]) -> None:
    """Slowloris: the head would take a minute; the node closes each socket long before."""
    api = tight["nodes"][0]["api"]
    head = b"GET /v1/status HTTP/1.1\r\nHost: node\r\nX-Slow: " + b"a" * 20 + b"\r\n\r\n"
    sockets = [_connect(api) for _ in range(3)]
    open_sockets = list(sockets)
    try:
        for byte in head[:-1]:  # never the last byte: the node must not wait for it
            for sock in list(open_sockets):
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    open_sockets.remove(sock)
            # one byte a second, unless the node closes a socket meanwhile
            readable, _, _ = select.select(open_sockets, [], [], 1.0)
            for sock in readable:
                assert _closed_by_node(sock), "the node answered an incomplete head"
                open_sockets.remove(sock)
            if not open_sockets:
                break
        assert not open_sockets, "the node kept trickling sockets for the whole head"
    finally:
        for sock in sockets:
            sock.close()


def _closed_to_make_room(api: str) -> float:
    """Connections the node closed because others came (or because they stayed silent)."""
    name = "tally_api_connections_closed_total"
    evicted = _metric(api, name, '{reason="EVICTED"}')
    return evicted + _metric(api, name, '{reason="HEADER_TIMEOUT"}')


def test_a_flood_of_connections_is_capped_and_real_clients_still_get_in(
    tight: dict[str, Any],
) -> None:
    api = tight["nodes"][0]["api"]
    closed_before = _closed_to_make_room(api)
    flood = [_connect(api) for _ in range(LIMITS["max_connections"] + 16)]
    try:
        status, answer = _get(api, "/v1/status")
        assert status == 200 and answer["chain"] == tight["chain"]
        assert _metric(api, "tally_api_connections") <= LIMITS["max_connections"]
        assert _closed_to_make_room(api) - closed_before >= 16
    finally:
        for sock in flood:
            sock.close()


def _slow_post(api: str) -> socket.socket:
    """A connection busy in a request: the head, then a tenth of the announced body.

    `Expect: 100-continue` makes the node say when it has begun serving the request, so the
    test knows the connection is busy (and not evictable) before it opens the next one."""
    sock = _connect(api)
    sock.sendall(
        b"POST /v1/txs HTTP/1.1\r\nHost: node\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
    )
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        assert chunk, "the node closed a request it had not answered"
        interim += chunk
    assert interim.startswith(b"HTTP/1.1 100"), interim
    sock.sendall(b'{"txs": [ ')
    return sock


def _answer(sock: socket.socket) -> tuple[int, Any]:
    """Status and JSON body of the node's answer on `sock` (it closes after it)."""
    raw = b""
    try:
        while chunk := sock.recv(65536):
            raw += chunk
    except ConnectionResetError:
        pass
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_when_every_connection_serves_a_newcomer_gets_busy_and_slow_bodies_time_out(
    tight: dict[str, Any],
) -> None:
    api = tight["nodes"][0]["api"]
    busy = [_slow_post(api) for _ in range(LIMITS["max_connections"])]
    try:
        status, answer = _get(api, "/healthz")
        assert (status, answer["error"]["code"]) == (503, "BUSY")
        answers = [_answer(sock) for sock in busy]
    finally:
        for sock in busy:
            sock.close()
    assert {(status, body["error"]["code"]) for status, body in answers} == {(408, "BODY_TIMEOUT")}
    assert _get(api, "/healthz")[0] == 200


def test_a_client_that_stops_reading_is_cut_off(tight: dict[str, Any]) -> None:
    api = tight["nodes"][0]["api"]
    before = _metric(api, "tally_api_connections_closed_total", '{reason="SEND_TIMEOUT"}')
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(SAFETY_S)
    sock.connect(_address(api))
    try:
        sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: node\r\n\r\n" * 200)  # never read
        wait_until(
            lambda: (
                _metric(api, "tally_api_connections_closed_total", '{reason="SEND_TIMEOUT"}')
                > before
            ),
            SAFETY_S,
            "the node cuts off a client that does not read",
        )
    finally:
        sock.close()


def _open_stream(api: str) -> tuple[socket.socket, int]:
    sock = _connect(api)
    sock.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: node\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, int(head.split()[1])


def _stream_if_free(api: str) -> tuple[socket.socket, int] | None:
    sock, status = _open_stream(api)
    if status == 200:
        return sock, status
    sock.close()
    return None


def test_live_stream_subscribers_are_capped(tight: dict[str, Any]) -> None:
    api = tight["nodes"][0]["api"]
    streams = [_open_stream(api) for _ in range(LIMITS["max_stream_clients"])]
    try:
        assert [status for _, status in streams] == [200] * LIMITS["max_stream_clients"]
        status, answer = _get(api, "/v1/stream")
        assert status == 503 and answer["error"]["code"] == "BUSY"
        streams.pop()[0].close()
        streams.append(
            wait_until(lambda: _stream_if_free(api), SAFETY_S, "a slot frees when a client leaves")
        )
    finally:
        for sock, _ in streams:
            sock.close()


def test_accept_failures_at_the_file_limit_are_logged_once_per_interval(tmp_path: Path) -> None:
    """A node at its fd limit: asyncio logs each failed accept, up to the backlog, every
    second (finding 8 saw 134,000 lines in a minute); the node logs one line per interval."""
    directory = tmp_path / "net"
    info = localnet.init_network(directory, 1, access="open")  # raw sockets, unsigned
    name = info["nodes"][0]["name"]
    api = info["nodes"][0]["api"]
    log_path = directory / name / "node.log"
    limit = 96

    def low_fd_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    config = layout.node_config_path(directory, name).resolve()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "node", "node", "start", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=config.parent,
            preexec_fn=low_fd_limit,
        )
    flood: list[socket.socket] = []
    try:
        wait_until(lambda: processes.fetch_status(api) is not None, SAFETY_S, "the node starts")
        flood = [_connect(api) for _ in range(2 * limit)]
        wait_until(lambda: "accept" in log_path.read_text(), SAFETY_S, "an accept failure")
        for sock in flood:  # the node frees its fds as it closes the silent ones
            sock.close()
        flood = []
        wait_until(lambda: processes.fetch_status(api) is not None, SAFETY_S, "the node recovers")
        lines = [line for line in log_path.read_text().splitlines() if "accept" in line]
        assert 1 <= len(lines) <= 3, "\n".join(lines[:10])
    finally:
        for sock in flood:
            sock.close()
        process.terminate()
        process.wait(30)


# -- finding 4: heavy readers on the primary -----------------------------------------------------

HEAVY_LIMITS: dict[str, Any] = {"answer_max_bytes": 2 * 1024 * 1024}
BLOCKS = 120
READERS = 32
HAMMER_S = 15.0
RSS_GROWTH_MB = 400  # generous: the old node grew by 1.7 GB under this load


def test_heavy_readers_on_the_primary_do_not_stop_consensus(tmp_path: Path) -> None:
    net = bench_reads.start_localnet(tmp_path / "net", 4, HEAVY_LIMITS, dict(bench_reads.PARAMS))
    try:
        _hammer_and_check(net)
    finally:
        localnet.down(tmp_path / "net", grace=5.0)


def _hammer_and_check(net: dict[str, Any]) -> None:
    async def run() -> tuple[Any, Any, bench_reads.ReaderTally, float]:
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=READERS + 8)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            tx_ids = await bench_reads.fill_large_blocks(session, net, BLOCKS, 16_000, 16)
            apis = [entry["api"] for entry in net["nodes"]]
            status = await (await session.get(apis[0] + "/v1/status")).json()
            primary = next(e for e in net["nodes"] if e["name"] == status["primary"])
            rss_before = bench_reads.resident_mb(int(primary["pid"]))
            views_before = await bench_reads.view_changes(session, apis)
            makers = bench_reads.heavy_paths(int(status["height"]), tx_ids)
            tally = bench_reads.ReaderTally()
            readers = [
                bench_reads.reader(session, primary["api"], makers[i % len(makers)], tally)
                for i in range(READERS)
            ]
            phase = await bench_reads.measure_phase(session, net, HAMMER_S, readers)
            views_after = await bench_reads.view_changes(session, apis)
            return phase, (views_before, views_after, status["view"]), tally, rss_before

    phase, (views_before, views_after, view), tally, rss_before = asyncio.run(run())
    assert views_after == views_before, f"view changes during the hammer: {phase}"
    for entry in net["nodes"]:
        status = processes.fetch_status(entry["api"])
        assert status is not None and status["view"] == view
    assert phase.commits >= 3 and phase.commit_ms.n >= 3, phase  # commits went on
    assert tally.statuses["200"] > 0, tally  # the readers were served, some of them
    assert set(tally.statuses) <= {"200", "503"}, tally
    assert tally.max_answer_bytes <= HEAVY_LIMITS["answer_max_bytes"], tally.max_answer_bytes
    assert phase.primary_rss_mb <= rss_before + RSS_GROWTH_MB, (rss_before, phase)
