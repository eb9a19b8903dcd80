"""The escrow page: what is locked, for whom, under which hash lock and times, and how it ended.

The escrow's record is proved by its state proof against the trusted genesis (the fields the
page shows are compared with the proved record, and a difference is marked), and the explorer
checks a released escrow's preimage itself: its SHA-256 must be the condition. That is what the
other leg of an atomic swap relies on, so an auditor sees it verified here, not taken on trust.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from aiohttp import web

from explorer.web import PageError, render, view

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
SHOWN_FIELDS = ("status", "payer", "payee", "amount", "currency", "condition", "preimage")


def _hex(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def preimage_matches(record: dict[str, Any]) -> bool | None:
    """sha256(preimage) == condition, checked here; None when there is nothing to check."""
    preimage, condition = record.get("preimage"), record.get("condition")
    if not isinstance(preimage, str) or not isinstance(condition, str):
        return None
    try:
        return hashlib.sha256(bytes.fromhex(preimage)).hexdigest() == condition
    except ValueError:
        return False


def differences(record: dict[str, Any], proved: dict[str, Any] | None) -> list[str]:
    """The shown fields where the node's answer and the proved record disagree."""
    if proved is None:
        return []
    return [name for name in SHOWN_FIELDS if _hex(proved.get(name)) != record.get(name)]


async def escrow(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not HEX64.match(raw):
        raise PageError(400, "Malformed escrow id", "An escrow id is 64 hex characters.")
    escrow_id = raw.lower()
    chain_view = view(request)
    height = await chain_view.prover.tip()
    record, proof, _ = await asyncio.gather(
        chain_view.reader.escrow(escrow_id),
        chain_view.prover.escrow(escrow_id, height),
        chain_view.currency_decimals(),
    )
    proved = proof.value if proof.ok and isinstance(proof.value, dict) else None
    return render(
        request,
        "escrow.html",
        e=record,
        state=proof,
        proved=proved,
        mismatched=differences(record, proved),
        preimage_ok=preimage_matches(record),
        page="escrow",
    )


ROUTES: list[web.RouteDef] = [web.get("/escrow/{id}", escrow)]
