"""JSON forms of ledger objects as the API answers them (DESIGN.md §9)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ledger.types import Block, Certificate, ErrorInfo, Receipt, SignedTx
from node.api.responses import json_response, to_json


def error_json(error: ErrorInfo | None) -> dict[str, Any] | None:
    """`{code, message}`, and `details` (raw values for scripts) when the error has any."""
    return None if error is None else to_json(error.to_value())


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    value: dict[str, Any] = to_json(receipt.to_value())
    return value


def tx_json(tx: SignedTx) -> dict[str, Any]:
    body: dict[str, Any] = to_json(tx.body.to_value())
    body["sig"] = tx.sig.hex()
    return body


def certificate_json(certificate: Certificate | None) -> dict[str, Any] | None:
    return None if certificate is None else to_json(certificate.to_value())


def block_json(block: Block, certificate: Certificate | None) -> dict[str, Any]:
    header = block.header
    tx_ids = [SignedTx.id_of(raw).hex() for raw in block.txs]
    return {
        "height": header.height,
        "hash": header.hash().hex(),
        "header": header.encode().hex(),
        **to_json(header.to_value()),
        "txs": tx_ids,
        "certificate": certificate_json(certificate),
    }


def unknown_tx(tx_id: bytes) -> web.Response:
    """`GET /v1/txs/{id}`'s 404, with the status field too, so clients reading either one
    understand; also what a caller not entitled to the tx gets (node/api/access_policy.py)."""
    error = {"code": "NOT_FOUND", "message": "no such tx (pending or committed)"}
    body = {"id": tx_id, "status": "unknown", "tx": None, "receipt": None, "error": error}
    return json_response(body, status=404)
