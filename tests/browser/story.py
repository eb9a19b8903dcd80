"""Load a small, named history onto a localnet: cash, a split and financed invoice, payments.

The explorer tests then look for each of these on its pages. Contracts that are not on the
chain yet are skipped (their part of the story is simply absent from the result).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.crypto import Ed25519Key
from wallet.client import ApiError, Client
from wallet.localnet_keys import localnet_keys


@dataclass(slots=True)
class Story:
    tx_ids: list[str] = field(default_factory=list)
    invoice_no: str = ""
    receivable_root: str = ""
    receivable_piece: str = ""
    payment_id: str = ""
    fx_payment_id: str = ""


def keys(localnet: dict[str, Any]) -> dict[str, Ed25519Key]:
    """Each organization's operator key from localnet.json."""
    return localnet_keys(localnet)


def _call(
    client: Client, story: Story, key: Ed25519Key, contract: str, method: str, args: dict[str, Any]
) -> Any:
    receipt = client.call(key, contract, method, args)
    story.tx_ids.append(receipt["tx"])
    return receipt.get("result")


def load(client: Client, localnet: dict[str, Any]) -> Story:
    signer = keys(localnet)
    story = Story()
    _call(
        client,
        story,
        signer["bank-a"],
        "cash",
        "issue",
        {"currency": "CNY", "to": "bigauto", "amount": 500_000_000},
    )
    _call(
        client,
        story,
        signer["bank-a"],
        "cash",
        "issue",
        {"currency": "CNY", "to": "bank-a", "amount": 900_000_000},
    )
    _call(
        client,
        story,
        signer["bank-b"],
        "cash",
        "issue",
        {"currency": "EUR", "to": "bank-b", "amount": 50_000_000},
    )
    _call(
        client,
        story,
        signer["bigauto"],
        "cash",
        "transfer",
        {"currency": "CNY", "to": "acme-steel", "amount": 12_345_67, "memo": "deposit"},
    )
    try:
        _receivables(client, story, signer)
    except ApiError as error:
        if error.code not in ("UNKNOWN_CONTRACT", "UNKNOWN_METHOD"):
            raise
    try:
        _payments(client, story, signer)
    except ApiError as error:
        if error.code not in ("UNKNOWN_CONTRACT", "UNKNOWN_METHOD"):
            raise
    return story


def _receivables(client: Client, story: Story, signer: dict[str, Ed25519Key]) -> None:
    today = datetime.now(UTC).date()
    story.invoice_no = f"INV-{int(time.time() * 1000) % 10**7}"
    root = _call(
        client,
        story,
        signer["acme-steel"],
        "receivables",
        "issue",
        {
            "invoice_no": story.invoice_no,
            "debtor": "bigauto",
            "amount": 100_000_000,
            "currency": "CNY",
            "issue_date": today.isoformat(),
            "due_date": (today + timedelta(days=90)).isoformat(),
            "doc_hash": hashlib.sha256(story.invoice_no.encode()).digest(),
        },
    )["id"]
    story.receivable_root = root
    _call(client, story, signer["bigauto"], "receivables", "accept", {"id": root})
    piece = _call(
        client,
        story,
        signer["acme-steel"],
        "receivables",
        "transfer",
        {"id": root, "to": "ore-mining", "amount": 30_000_000},
    )["id"]
    story.receivable_piece = piece
    _call(
        client,
        story,
        signer["ore-mining"],
        "receivables",
        "transfer",
        {"id": piece, "to": "fuel-co", "amount": 10_000_000},
    )
    offer = _call(
        client,
        story,
        signer["bank-a"],
        "receivables",
        "offer_financing",
        {
            "id": root,
            "rate_bps": 450,
            "expires_ms": int(time.time() * 1000) + 86_400_000,
        },
    )["id"]
    _call(client, story, signer["acme-steel"], "receivables", "accept_financing", {"offer": offer})
    _call(client, story, signer["bigauto"], "receivables", "repay", {"id": root})


def _payments(client: Client, story: Story, signer: dict[str, Ed25519Key]) -> None:
    story.payment_id = _call(
        client,
        story,
        signer["bigauto"],
        "payments",
        "send",
        {
            "to": "acme-steel",
            "currency": "CNY",
            "amount": 2_500_000,
            "end_to_end_id": f"E2E-STEEL-{story.invoice_no}",
            "purpose": "GDDS",
            "remittance": "steel coil order 77",
        },
    )["id"]
    quote = _call(
        client,
        story,
        signer["bank-b"],
        "fx",
        "quote",
        {
            "base": "CNY",
            "quote": "EUR",
            "rate": 12_800_000,
            "max_base": 100_000_000,
            "expires_ms": int(time.time() * 1000) + 3_600_000,
        },
    )["id"]
    story.fx_payment_id = _call(
        client,
        story,
        signer["bigauto"],
        "payments",
        "send_fx",
        {
            "to": "rhein-parts",
            "quote": quote,
            "base_amount": 7_800_000,
            "end_to_end_id": f"E2E-RHEIN-{story.invoice_no}",
            "purpose": "GDDS",
            "remittance": "gearbox housings",
        },
    )["id"]
