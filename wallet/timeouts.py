"""The SDK's timeout model (issue 17), one rule for both clients.

- A client's `timeout` bounds one HTTP request: the synchronous `Client` sets it as the socket
  timeout (connect, and each wait for bytes), the `AsyncClient` as the request's total time.
- A node holds one long poll (`?wait=commit&timeout_ms=`) for at most `MAX_POLL_S`, 120 s
  (node/api/chain.py, MAX_WAIT_MS); a longer `timeout_ms` is refused with 400 BAD_QUERY. So
  `wait_for_receipt(tx_id, timeout)` takes any `timeout`, 120 s or a day: it is a series of long
  polls, each `poll_seconds(left, ...)` long, asked again until the receipt comes or the whole
  `timeout` has passed (then ApiError NOT_COMMITTED).
- The sync client cannot stretch its socket timeout per request, so its polls end a second
  before it (`request_timeout`); the async client gives each poll its own total timeout, the
  poll plus `POLL_MARGIN_S`, whatever the session's default (aiohttp's is 300 s in all).
- `POST /v1/txs?wait=commit` is a long poll too: the node is asked to answer within
  `commit_wait_ms(timeout)`, before the client's request timeout, and a tx without a receipt by
  then is waited for with `wait_for_receipt`.
- The live stream (`GET /v1/stream`) has no total timeout: only an idle one, `STREAM_IDLE_S`
  (wallet/sse.py) between bytes, against the node's heartbeat every 15 s.
"""

from __future__ import annotations

MAX_POLL_S = 120.0  # the node's cap on one long poll
POLL_MARGIN_S = 5.0  # what an async long poll's request timeout adds to the poll


def poll_seconds(left: float, request_timeout: float | None = None) -> float:
    """The next long poll of a wait with `left` seconds to go: within the node's cap and, for a
    client whose every request is bounded by `request_timeout`, answered before that."""
    poll = min(left, MAX_POLL_S)
    if request_timeout is not None:
        poll = min(poll, max(request_timeout - 1.0, request_timeout / 2))
    return max(poll, 0.0)


def poll_ms(seconds: float) -> int:
    """A poll's `timeout_ms` query value."""
    return max(int(seconds * 1000), 0)


def commit_wait_ms(request_timeout: float) -> int:
    """How long `POST /v1/txs?wait=commit` asks the node to hold the answer."""
    return poll_ms(poll_seconds(MAX_POLL_S, request_timeout))
