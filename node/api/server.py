"""The HTTP listener: aiohttp's request handler under the connection guard, errors as JSON.

aiohttp alone keeps a silent or trickling socket for an hour, answers a malformed request line
or oversized header with a plain-text page and a logged traceback, and has no connection cap
(issue 11, finding 8). `GuardedHandler` is aiohttp's `RequestHandler` with the guard of
node/api/guard.py told of every connection, byte and request, and its own errors rendered as
the JSON error of DESIGN.md §9, logged through a throttle. `ApiServer` runs it: the listener
(https with the config's `tls_cert`/`tls_key`, node/api/tls.py), the guard's once-a-second
sweep, the guard's counts in /metrics, and the loop's handler of failed `accept()` calls
(network/accept_errors.py, shared with the P2P listener).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from network.accept_errors import AcceptErrors, listening_address
from network.throttle import ThrottledLog
from node.api.context import NODE
from node.api.guard import ConnectionGuard
from node.api.limits import ApiLimits
from node.api.reads import READS
from node.api.responses import code_of_status, error_body
from node.api.stream import STREAMS

log = logging.getLogger(__name__)

SWEEP_S = 1.0
LOG_INTERVAL_S = 10.0  # malformed requests and failed accepts: one line per interval at most
SUMMARY_S = 60.0  # at most one log line this often about limits reached
MAX_ERROR_TEXT = 200
_REFUSAL_BODY = error_body("BUSY", "the node serves as many connections as it allows; retry")
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)


class GuardedHandler(web.RequestHandler):
    """One connection: aiohttp's handler, reporting to the guard; refused at the cap."""

    __slots__ = ("_admitted", "_bad_requests", "_guard", "lost")

    def __init__(
        self,
        manager: web.Server,
        guard: ConnectionGuard,
        bad_requests: ThrottledLog,
        **options: Any,
    ) -> None:
        super().__init__(manager, **options)
        self._guard = guard
        self._bad_requests = bad_requests
        self._admitted = False
        # Done when the client goes: a live stream learns it at once, not at its next write.
        self.lost: asyncio.Future[None] = self._loop.create_future()

    # -- what the guard needs (guard.Conn) ------------------------------------------------------

    def unsent_bytes(self) -> int:
        transport = self.transport
        return 0 if transport is None else transport.get_write_buffer_size()

    def close_idle(self) -> None:
        self.force_close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.force_close()

    # -- asyncio protocol -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._guard.admit(self, self._loop.time()):
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REFUSAL)
            transport.close()
            return
        self._admitted = True
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self._guard.received(self, self._loop.time())
            super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.forget(self)
        if not self.lost.done():
            self.lost.set_result(None)
        if self._admitted:
            super().connection_lost(exc)

    # -- requests ------------------------------------------------------------------------------

    def request_started(self) -> None:
        self._guard.request_started(self)

    def request_finished(self) -> None:
        self._guard.request_finished(self, self._loop.time())

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own errors (bad request line, headers too large...) as §9 JSON."""
        if request.writer.output_size > 0:
            raise ConnectionError("an answer was partly sent; it cannot become an error")
        if status >= 500:
            log.error("error serving %s: %r", request.remote, exc, exc_info=exc)
            text = "internal error; the node logged it"
        else:
            said = exc.message if isinstance(exc, HttpProcessingError) else message
            text = str(said or "malformed request")[:MAX_ERROR_TEXT]
            self._bad_requests.event(code_of_status(status), "from %s: %s", request.remote, text)
        response = web.Response(
            body=error_body(code_of_status(status), text),
            status=status,
            content_type="application/json",
        )
        response.force_close()
        return response


@web.middleware
async def track_requests(request: web.Request, handler: Any) -> web.StreamResponse:
    """Tell the guard when a connection serves a request, so no deadline for idle ones cuts
    a slow answer or a long poll."""
    conn = request.protocol
    if not isinstance(conn, GuardedHandler):
        response: web.StreamResponse = await handler(request)
        return response
    conn.request_started()
    try:
        response = await handler(request)
        return response
    finally:
        conn.request_finished()


class _GuardedSite(web.BaseSite):
    """A TCP site whose connections are made by `factory` (aiohttp's TCPSite uses the
    runner's plain handler), over TLS when given a context."""

    __slots__ = ("_factory", "_handshake_s", "_host", "_port")

    def __init__(
        self,
        runner: web.BaseRunner,
        address: tuple[str, int],
        factory: Callable[[], GuardedHandler],
        tls: ssl.SSLContext | None,
        handshake_s: float,
    ) -> None:
        super().__init__(runner, backlog=512, ssl_context=tls)
        (self._host, self._port), self._factory = address, factory
        self._handshake_s = handshake_s

    @property
    def name(self) -> str:
        scheme = "http" if self._ssl_context is None else "https"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        # The guard sees a TLS connection only once its handshake is done (asyncio's SSL
        # protocol sits in front), so the handshake gets the head's deadline of its own.
        tls_options: dict[str, Any] = {}
        if self._ssl_context is not None:
            tls_options = {"ssl": self._ssl_context, "ssl_handshake_timeout": self._handshake_s}
        self._server = await loop.create_server(
            self._factory,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
            **tls_options,
        )

    def sockets(self) -> list[Any]:
        server = self._server
        return list(server.sockets) if isinstance(server, asyncio.Server) else []


class ApiServer:
    """The node's HTTP listener, its connection guard and the guard's sweep."""

    def __init__(self, app: web.Application, limits: ApiLimits) -> None:
        self.guard = ConnectionGuard(limits)
        self._app = app
        self._limits = limits
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=3.0)
        self._sweeper: asyncio.Task[None] | None = None
        self._bad_requests = ThrottledLog(
            log, logging.WARNING, LOG_INTERVAL_S, "malformed HTTP", "malformed requests"
        )
        self._accept_errors: AcceptErrors | None = None
        self.addresses: set[str] = set()  # "host:port" of the listening sockets
        handle = app.get(NODE)
        if handle is not None:
            handle.metrics.registry.register(ApiCollector(app, self))

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> None:
        """Listen on host:port, https when `tls` holds the certificate and key."""
        await self._runner.setup()
        server = self._runner.server
        if server is None:
            raise RuntimeError("the app runner did not set up")
        loop = asyncio.get_running_loop()
        # aiohttp's own keep-alive check stays as a backstop behind the guard's deadlines.
        options = {
            "loop": loop,
            "access_log": None,
            "keepalive_timeout": self._limits.keepalive_timeout_s,
        }

        def factory() -> GuardedHandler:
            return GuardedHandler(server, self.guard, self._bad_requests, **options)

        self._accept_errors = AcceptErrors.acquire(LOG_INTERVAL_S, self._accept_failed)
        handshake_s = self._limits.header_timeout_s
        site = _GuardedSite(self._runner, (host, port), factory, tls, handshake_s)
        await site.start()
        self.addresses = {listening_address(sock) for sock in site.sockets()}
        self._sweeper = asyncio.create_task(self._sweep())

    def _accept_failed(self) -> None:
        """Counted and logged by AcceptErrors; the guard's closes free the fds in time."""

    def accept_errors(self) -> int:
        errors = self._accept_errors
        return 0 if errors is None else errors.count_for(self.addresses)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        reported, report_at = self.limits_reached(), loop.time() + SUMMARY_S
        while True:
            await asyncio.sleep(SWEEP_S)
            self.guard.sweep(loop.time())
            if loop.time() >= report_at:
                counts = self.limits_reached()
                line = describe_limits(reported, counts)
                if line:
                    log.warning("HTTP limits reached in the last %d s: %s", SUMMARY_S, line)
                reported, report_at = counts, loop.time() + SUMMARY_S

    def limits_reached(self) -> dict[str, int]:
        """Running counts of what the API's limits turned away (idle closes are routine)."""
        guard = self.guard
        return {
            f"connections refused at the cap of {self._limits.max_connections}": guard.refused,
            "idle connections evicted to make room": guard.closed["EVICTED"],
            "heads not sent in time": guard.closed["HEADER_TIMEOUT"],
            "answers not read in time": guard.closed["SEND_TIMEOUT"],
            "heavy reads refused (BUSY)": self._app[READS].slots.refused,
            "streams refused (BUSY)": self._app[STREAMS].slots.refused,
        }

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        errors = self._accept_errors
        if errors is not None:
            # asyncio re-arms a listener a second after an accept error; closing it before
            # then makes that retry fail with a traceback (as network/peers.py waits too)
            loop = asyncio.get_running_loop()
            await asyncio.sleep(max(0.0, errors.retries_done_at(self.addresses) - loop.time()))
        await self._runner.cleanup()
        self._bad_requests.close()
        if errors is not None:
            errors.release(self._accept_failed)
            self._accept_errors = None


class ApiCollector(Collector):
    """The guard's, the read pool's and the stream hub's counts, read at scrape time."""

    def __init__(self, app: web.Application, server: ApiServer) -> None:
        self._app = app
        self._server = server

    def collect(self) -> Iterator[Metric]:
        guard, reads, streams = self._server.guard, self._app[READS].slots, self._app[STREAMS].slots
        yield GaugeMetricFamily("tally_api_connections", "Open HTTP connections", len(guard.conns))
        yield GaugeMetricFamily(
            "tally_api_heavy_reads", "Heavy reads running or waiting for a thread", reads.taken
        )
        yield GaugeMetricFamily("tally_api_streams", "Open GET /v1/stream clients", streams.taken)
        closed = CounterMetricFamily(
            "tally_api_connections_closed",
            "HTTP connections the node closed, by reason",
            labels=["reason"],
        )
        for reason in ("EVICTED", "HEADER_TIMEOUT", "IDLE", "SEND_TIMEOUT"):
            closed.add_metric([reason], guard.closed[reason])
        yield closed
        refused = CounterMetricFamily(
            "tally_api_busy", "Answers 503 BUSY, by what was full", labels=["what"]
        )
        refused.add_metric(["connections"], guard.refused)
        refused.add_metric(["heavy_reads"], reads.refused)
        refused.add_metric(["streams"], streams.refused)
        yield refused
        yield CounterMetricFamily(
            "tally_api_accept_errors",
            "accept() calls on the HTTP port that failed for lack of file descriptors or memory",
            self._server.accept_errors(),
        )


def describe_limits(before: dict[str, int], after: dict[str, int]) -> str:
    """What grew between two `limits_reached` counts, as "3 heads not sent in time, ..."."""
    grown = [(name, after[name] - before.get(name, 0)) for name in after]
    return ", ".join(f"{count:,} {name}" for name, count in grown if count > 0)
