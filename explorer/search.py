"""The search box: which page a height, hash, id, organization or invoice number leads to.

`candidates` is pure (what a query could be, by its shape); `resolve` asks the node about each
candidate at once and keeps those that exist, in the order of `candidates`, so a 64-hex string
that is a tx id goes to the tx before anyone looks for a block with that hash.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from explorer.reader import NodeError, NodeReader

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
UETR = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
HEIGHT = re.compile(r"^\d{1,19}$")
MAX_QUERY = 140


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # block | tx | receivable | payment | escrow | org | invoice (a UETR: a payment)
    key: str
    label: str

    @property
    def url(self) -> str:
        return f"/{self.kind}/{self.key}"


def candidates(query: str) -> list[str]:
    """The kinds `query` could name, most specific first; [] when it cannot name anything."""
    text = query.strip()
    if not text or len(text) > MAX_QUERY:
        return []
    if HEIGHT.match(text):
        return ["height"]
    if HEX64.match(text):
        return ["tx", "block", "receivable", "payment", "escrow"]
    if UETR.match(text):  # a payment's UETR, as its ISO 20022 messages carry it
        return ["uetr"]
    kinds = []
    if ORG_ID.match(text):
        kinds.append("org")
    if not any(c.isspace() for c in text):
        kinds.append("invoice")
    return kinds


async def _exists(lookup: Awaitable[Any]) -> Any:
    """The node's answer, or None when it says there is no such thing (or cannot say)."""
    try:
        return await lookup
    except NodeError as error:
        if error.status == 502 and error.code == "NODE_UNREACHABLE":
            raise
        return None


async def height_of_hash(reader: NodeReader, block_hash: str) -> int:
    """The height of the block with `block_hash` (NodeError 404 when there is none)."""
    return int((await reader.block_by_hash(block_hash))["height"])


async def _invoice_targets(reader: NodeReader, number: str) -> list[Target]:
    items = await _exists(reader.receivables(invoice=number))
    return [
        Target(
            "receivable",
            str(item["id"]),
            f"invoice {number} of {item.get('creditor', '?')} to {item.get('debtor', '?')}",
        )
        for item in items or []
        if isinstance(item, dict) and "id" in item
    ]


async def resolve(reader: NodeReader, query: str) -> list[Target]:
    """Every page `query` names on this node, best first; [] when nothing matches."""
    text = query.strip()
    kinds = candidates(text)
    if kinds == ["height"]:
        height = int(text)
        block = await _exists(reader.block(height))
        return [Target("block", str(height), f"block {height}")] if block else []
    lowered = text.lower()
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        "tx": lambda: reader.tx(lowered),
        "block": lambda: height_of_hash(reader, lowered),
        "receivable": lambda: reader.receivable(lowered),
        "payment": lambda: reader.payment(lowered),
        "escrow": lambda: reader.escrow(lowered),
        "uetr": lambda: reader.payment_by_uetr(lowered),
        "org": lambda: reader.org(text),
        "invoice": lambda: _invoice_targets(reader, text),
    }
    answers = await asyncio.gather(*(_exists(checks[kind]()) for kind in kinds))
    targets: list[Target] = []
    for kind, answer in zip(kinds, answers, strict=True):
        if answer is None or answer == []:
            continue
        if kind == "tx" and isinstance(answer, dict) and answer.get("status") == "unknown":
            continue
        if kind == "block":
            targets.append(Target("block", str(answer), f"block {answer}"))
        elif kind == "invoice":
            targets.extend(answer)
        elif kind == "uetr":
            targets.append(Target("payment", str(answer["id"]), f"payment with UETR {lowered}"))
        else:
            targets.append(Target(kind, lowered if kind != "org" else text, f"{kind} {text}"))
    return targets
