"""The state keys of public interest (DESIGN.md §6), spelled once for contracts and verifiers.

An auditor proves what these hold with `GET /v1/state/proof`; the contracts store there. Their
layout is a contract: `cash/bal/{CURRENCY}/{org}` holds an organization's balance as an integer
in minor units (absent: 0), `rcv/piece/{id}` a receivable piece (absent: no such piece),
`esc/rec/{id}` an escrow (absent: no such escrow; once released it holds the preimage, so the
other ledger of an atomic swap can be shown the secret with a proof).
"""

from __future__ import annotations


def balance_key(currency: str, org: str) -> str:
    """Where `org`'s balance in `currency` (ISO 4217 code) is stored."""
    return f"cash/bal/{currency}/{org}"


def piece_key(piece_id: str) -> str:
    """Where the receivable piece `piece_id` (64 hex) is stored."""
    return "rcv/piece/" + piece_id


def escrow_key(escrow_id: str) -> str:
    """Where the escrow `escrow_id` (64 hex) is stored."""
    return "esc/rec/" + escrow_id
