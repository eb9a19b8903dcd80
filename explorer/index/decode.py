"""A verified raw block (GET /v1/raw/blocks) decoded into what the writer stores.

Only called after explorer.audit.check_block has passed the block: the encodings here are the
ones whose roots were recomputed and whose certificate was checked, so nothing of the node's
decoded JSON is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ledger.types import Header, Receipt, SignedTx, bitmap_indexes
from wallet.forms import parse_certificate


@dataclass(frozen=True, slots=True)
class TxRecord:
    tx: SignedTx
    receipt: Receipt

    @property
    def id(self) -> str:
        return self.tx.id.hex()


@dataclass(frozen=True, slots=True)
class BlockRecord:
    header: Header
    hash: str
    signers: tuple[int, ...]
    txs: tuple[TxRecord, ...]
    receipts: tuple[bytes, ...]  # the encodings, kept for blocks that change the validator set

    @property
    def height(self) -> int:
        return self.header.height


def jsonable(value: Any) -> Any:
    """A decoded value with bytes as hex, for JSON columns and exports."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def to_text(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def decode_block(raw: dict[str, Any], validators: int) -> BlockRecord:
    """The block answer's encodings decoded (they were verified against its header); only
    the txs the node showed."""
    header = Header.decode(bytes.fromhex(raw["header"]))
    certificate = parse_certificate(raw["certificate"])
    # a tx the node withheld from this reader (null, DESIGN.md §9) is not indexed
    pairs = [(t, r) for t, r in zip(raw["txs"], raw["receipts"], strict=True) if t is not None]
    receipts = tuple(bytes.fromhex(r) for _, r in pairs)
    txs = tuple(
        TxRecord(SignedTx.decode(bytes.fromhex(t)), Receipt.decode(r))
        for (t, _), r in zip(pairs, receipts, strict=True)
    )
    return BlockRecord(
        header,
        header.hash().hex(),
        tuple(bitmap_indexes(certificate.signers, validators)),
        txs,
        receipts,
    )
