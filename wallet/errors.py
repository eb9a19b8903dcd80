"""What the SDK clients raise: the node's coded errors, and a committed call that failed."""

from __future__ import annotations

import json
from typing import Any

from ledger.errors import TallyError

NODE_UNREACHABLE = "NODE_UNREACHABLE"  # no answer: refused, reset, timed out
NOT_A_NODE_ERROR = "HTTP_ERROR"  # an error status whose body is not the node's JSON error
BAD_RESPONSE = "BAD_RESPONSE"  # a success status with a body that is not what the route answers
NO_GENESIS = "NO_GENESIS"  # a verified read asked of a client given no trusted genesis


class ApiError(TallyError):
    """A node answered with an error (`code` is the node's), or not at all (NODE_UNREACHABLE).

    `status` is the HTTP status (0 when there was no answer). The codes above are the SDK's own,
    for answers that carry no code of the node's. `retry_after`: the seconds a busy node (503)
    asked the client to wait, when it said (wallet/retry.py).
    """

    def __init__(
        self, code: str, message: str, status: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(code, message)
        self.status = status
        self.retry_after = retry_after


class TxFailed(TallyError):
    """The transaction was committed but its contract call failed; `receipt` says why."""

    def __init__(self, tx_id: str, receipt: dict[str, Any]) -> None:
        error = receipt.get("error") or {}
        super().__init__(error.get("code", "FAILED"), error.get("message", "transaction failed"))
        self.tx_id = tx_id
        self.receipt = receipt


def error_of_answer(raw: bytes, status: int, path: str) -> ApiError:
    """The ApiError for an error status: the node's code and message, if its body has them."""
    try:
        detail = json.loads(raw)["error"]
        return ApiError(str(detail["code"]), str(detail["message"]), status)
    except (ValueError, KeyError, TypeError):
        return ApiError(NOT_A_NODE_ERROR, f"HTTP {status} from {path}", status)


def refusal_of(result: dict[str, Any], held: str) -> ApiError | None:
    """The ApiError of one tx's refused submission (`POST /v1/txs` result), or None when it was
    accepted or the node holds it already (its error code is `held`)."""
    error = result.get("error") or {}
    if result.get("accepted") or error.get("code") == held:
        return None
    return ApiError(error.get("code", "REJECTED"), error.get("message", "rejected"), 400)
