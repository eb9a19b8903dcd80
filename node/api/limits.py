"""The HTTP API's bounds: what one client may hold of the node, in time, bytes and threads.

Every size or duration a client controls has a bound here, checked before the work it would
cost (issue 11): connections and how long each may stay silent, how long a body may take to
arrive and a response to leave, how many heavy reads run at once and how large one answer may
grow, how many live streams, how deep and how many values a JSON body may hold. The `[api]`
table of the node config (node/config.py) sets them; these are the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiLimits:
    max_body_bytes: int = 16 * 1024 * 1024
    """Largest request body accepted (413 BODY_TOO_LARGE above it)."""
    max_connections: int = 512
    """Open HTTP connections at most; at the cap the oldest idle one makes room, or a new one
    gets 503 BUSY if every connection is serving a request."""
    header_timeout_s: float = 10.0
    """A connection must send a complete request head within this long of opening, or of
    sending its first byte after a response (silent sockets, slowloris)."""
    keepalive_timeout_s: float = 30.0
    """An idle keep-alive connection is closed after this long without a new request."""
    body_timeout_s: float = 30.0
    """A request body must arrive in full within this long (408 BODY_TIMEOUT)."""
    send_timeout_s: float = 30.0
    """A connection whose unsent answer does not shrink for this long is closed (a client
    that stops reading holds no memory for longer)."""
    read_threads: int = 1
    """Threads that run heavy reads (blocks, raw blocks, proofs, events...) off the loop. The
    work holds the GIL but for LevelDB reads, so a second thread adds little but contention
    with the loop thread."""
    max_heavy_reads: int = 8
    """Heavy reads admitted at once (running or waiting for a thread); more get 503 BUSY."""
    answer_max_bytes: int = 4 * 1024 * 1024
    """Listing answers stop adding rows at this many bytes (always at least one row); the
    cursor `next` continues."""
    max_stream_clients: int = 32
    """Concurrent GET /v1/stream subscribers; more get 503 BUSY."""
    max_json_depth: int = 32
    """Deepest nesting of arrays and objects accepted in a JSON body (400 BAD_JSON)."""
    max_document_bytes: int = 4 * 1024 * 1024
    """Largest invoice document (plaintext bytes) a node keeps an encrypted envelope of
    (413 DOCUMENT_TOO_LARGE above it); sent as hex, so `max_body_bytes` must hold twice it."""

    def check(self) -> list[str]:
        """Which limits are out of range, as `name: reason` (empty when all are usable)."""
        problems = []
        for name in (
            "max_body_bytes",
            "max_connections",
            "read_threads",
            "max_heavy_reads",
            "answer_max_bytes",
            "max_stream_clients",
            "max_json_depth",
            "max_document_bytes",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        for name in ("header_timeout_s", "keepalive_timeout_s", "body_timeout_s", "send_timeout_s"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be more than 0")
        if 2 * self.max_document_bytes + 64 * 1024 > self.max_body_bytes:
            problems.append("max_body_bytes must hold a document in hex: 2 x max_document_bytes")
        return problems


DEFAULT_LIMITS = ApiLimits()
