"""The node's live stream (`GET /v1/stream`, Server-Sent Events) for the SDK: a line parser, what
its messages mean to a subscriber, and a blocking reader for the synchronous client.

The node sends `event: block` per commit, `event: event` per contract event (with its `seq`),
a `: heartbeat` comment after 15 s of silence, and `event: overflow` before it drops a
subscriber that fell too far behind. The node subscribes a client before it sends the answer's
head, so once `LiveStream.open` returns, no later commit can slip past the stream.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wallet.checkpoint import Event
from wallet.errors import NODE_UNREACHABLE, ApiError, error_of_answer

STREAM_LOST = "STREAM_LOST"  # the node ended the stream, or dropped this slow subscriber
NO_STREAM = "NO_STREAM"  # the node answered GET /v1/stream, but not with an event stream
STREAM_IDLE_S = 45.0  # no byte for this long (three heartbeats): the node is taken as gone


@dataclass(slots=True)
class SseParser:
    """Server-Sent Events lines in, complete messages (name, data) out (the WHATWG rules the
    node's stream uses: `event:` and `data:` fields, a blank line ends a message, a line that
    starts with `:` is a comment)."""

    name: str = ""
    data: list[str] = field(default_factory=list)
    has_data: bool = False

    def feed(self, line: str) -> tuple[str, str] | None:
        """One line without its line end; the message it completes, if any."""
        if not line:
            message = (self.name or "message", "\n".join(self.data)) if self.has_data else None
            self.name, self.data, self.has_data = "", [], False
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self.name = value
        elif name == "data":
            self.data.append(value)
            self.has_data = True
        return None


def live_event(message: tuple[str, str]) -> Event | None:
    """The contract event a stream message carries (None for a block summary or anything
    else); ApiError STREAM_LOST for the node's `overflow`."""
    name, data = message
    if name == "overflow":
        raise ApiError(STREAM_LOST, "the node dropped this subscriber (it fell behind)")
    if name != "event":
        return None
    try:
        record = json.loads(data)
    except ValueError:
        raise ApiError(STREAM_LOST, "the stream sent an event that is not JSON") from None
    return Event.of(record)


class LiveStream:
    """An open `GET /v1/stream` of one node, read line by line with a blocking socket.

    `interrupt()` may be called from another thread: it shuts the socket down, which wakes a
    reader blocked in `messages()`.
    """

    def __init__(self, connection: http.client.HTTPConnection, sock: socket.socket) -> None:
        self._connection = connection
        self._socket = sock
        self._response: http.client.HTTPResponse | None = None

    @classmethod
    def open(
        cls,
        url: str,
        path: str,
        idle_timeout: float = STREAM_IDLE_S,
        headers: dict[str, str] | None = None,
    ) -> LiveStream:
        """Connect to the node at `url` and ask for `path`; return once the node has answered
        200 with an event stream (ApiError NODE_UNREACHABLE, NO_STREAM or the node's error).
        `idle_timeout` bounds each wait for a byte, so a node that went silent is noticed."""
        parts = urlsplit(url)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = kind(parts.netloc, timeout=idle_timeout)
        asked = {"Accept": "text/event-stream", **(headers or {})}
        try:
            connection.connect()
            stream = cls(connection, connection.sock)
            connection.request("GET", parts.path.rstrip("/") + path, headers=asked)
            response = connection.getresponse()
            if response.status == 200 and "event-stream" in (
                response.getheader("Content-Type") or ""
            ):
                stream._response = response
                return stream
            raw = response.read(64 * 1024)
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise ApiError(NODE_UNREACHABLE, f"cannot reach {url}: {error}") from None
        connection.close()
        if response.status >= 400:
            raise error_of_answer(raw, response.status, path)
        raise ApiError(NO_STREAM, f"{url} serves no event stream", response.status)

    def messages(self) -> Iterator[tuple[str, str]]:
        """The stream's messages as they arrive; ApiError STREAM_LOST when the node ends it,
        NODE_UNREACHABLE when the connection breaks or stays silent past the idle timeout."""
        if self._response is None:
            raise ApiError(NO_STREAM, "the stream is not open")
        parser = SseParser()
        while True:
            try:
                line = self._response.readline()
            except (OSError, http.client.HTTPException, ValueError) as error:
                # ValueError: the response was closed under the reader (`close()`).
                raise ApiError(NODE_UNREACHABLE, f"stream lost: {error!r}") from None
            if not line:
                raise ApiError(STREAM_LOST, "the node ended the stream")
            message = parser.feed(line.decode("utf-8", "replace").rstrip("\r\n"))
            if message is not None:
                yield message

    def interrupt(self) -> None:
        """Wake a reader blocked in `messages()` (from any thread): it gets an error and closes
        the stream itself, so no two threads close one connection at once."""
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not connected any more: nothing to wake

    def close(self) -> None:
        """Close the connection (by the thread that reads it)."""
        self.interrupt()
        self._connection.close()
