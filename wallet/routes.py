"""The read routes of the node API (DESIGN.md §9), each spelled once for both SDK clients.

`wallet.client.Client` and `wallet.async_client.AsyncClient` differ only in how they wait; the
path each read asks for, and which part of the answer it returns, live here so the two cannot
drift apart.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from wallet.errors import BAD_RESPONSE, ApiError

STATUS = "/v1/status"
ORGS = "/v1/orgs"
CURRENCIES = "/v1/currencies"
RAW_GENESIS = "/v1/raw/genesis"
STREAM = "/v1/stream"


def segment(value: str) -> str:
    """`value` as one path segment (nothing in it can reach another route)."""
    return quote(value, safe="")


def tx(tx_id: str) -> str:
    return f"/v1/txs/{segment(tx_id)}"


def tx_proof(tx_id: str) -> str:
    return f"/v1/txs/{segment(tx_id)}/proof"


def block(height: int) -> str:
    return f"/v1/blocks/{int(height)}"


def block_by_hash(block_hash: str) -> str:
    return f"/v1/blocks/{segment(block_hash)}"


def blocks(from_height: int, limit: int) -> str:
    return f"/v1/blocks?from={int(from_height)}&limit={int(limit)}"


def raw_block(height: int) -> str:
    return f"/v1/raw/blocks/{int(height)}"


def raw_blocks(from_height: int, limit: int) -> str:
    return f"/v1/raw/blocks?from={int(from_height)}&limit={int(limit)}"


def events(after: int, limit: int) -> str:
    """Committed events with a sequence number above `after`, oldest first."""
    return f"/v1/events?after={int(after)}&limit={int(limit)}"


def org(org_id: str) -> str:
    return f"/v1/orgs/{segment(org_id)}"


def receivable(piece_id: str) -> str:
    return f"/v1/receivables/{segment(piece_id)}"


def receivable_trace(piece_id: str) -> str:
    return f"/v1/receivables/{segment(piece_id)}/trace"


def receivables(**query: str) -> str:
    """A listing by holder=, debtor=, creditor= or invoice= (an invoice number)."""
    return "/v1/receivables?" + "&".join(f"{k}={segment(v)}" for k, v in query.items())


def payment(payment_id: str) -> str:
    return f"/v1/payments/{segment(payment_id)}"


def payments(org_id: str) -> str:
    return f"/v1/payments?org={segment(org_id)}"


def payment_iso20022(payment_id: str) -> str:
    return f"/v1/payments/{segment(payment_id)}/iso20022"


def escrow(escrow_id: str) -> str:
    return f"/v1/escrows/{segment(escrow_id)}"


def escrows(org_id: str, status: str | None = None) -> str:
    path = f"/v1/escrows?org={segment(org_id)}"
    return path if status is None else f"{path}&status={segment(status)}"


def payment_pacs009(payment_id: str) -> str:
    """The pacs.009 COV of a PvP payment's cover leg."""
    return f"/v1/payments/{segment(payment_id)}/pacs009"


def payment_by_uetr(uetr: str) -> str:
    return f"/v1/payments?uetr={segment(uetr)}"


def statement(
    bank: str, code: str, day: str, *, after: int | None = None, form: str = "xml",
    notifications: bool = False,
) -> str:  # fmt: skip
    """A bank's camt.053 (or, `notifications`, camt.054) page for a currency and UTC day."""
    path = f"/v1/banks/{segment(bank)}/statements/{segment(code)}/{segment(day)}"
    path += "/notifications" if notifications else ""
    query = [f"format={form}"] + ([] if after is None else [f"after={after}"])
    return path + "?" + "&".join(query)


def state_proof(key: str, height: int | None = None) -> str:
    """The proof of one state key (DESIGN.md §6), at `height` or the tip."""
    path = f"/v1/state/proof?key={quote(key, safe='/')}"
    return path if height is None else f"{path}&height={int(height)}"


def listed(answer: Any, key: str, path: str) -> list[Any]:
    """The list under `key` of a listing answer (a bare list is taken as it is)."""
    items = answer.get(key) if isinstance(answer, dict) else answer
    if not isinstance(items, list):
        raise ApiError(BAD_RESPONSE, f"{path} did not answer a list of {key}")
    return items


def record(answer: Any, path: str) -> dict[str, Any]:
    """An answer that must be one JSON object."""
    if not isinstance(answer, dict):
        raise ApiError(BAD_RESPONSE, f"{path} did not answer an object")
    return answer
