"""One ordered tx applied over a block's overlay: its receipt, and its writes if all encode.

Whatever one tx does — a contract raising, a result or a write the codec cannot encode — ends
as that tx's failed receipt, its writes dropped, the same on every replica, so a block can
always be built from what is left (DESIGN.md §7, liveness).
"""

from __future__ import annotations

import logging
from typing import Any

from contracts.runtime import BlockInfo, apply_tx
from ledger import codec
from ledger.errors import TallyError
from ledger.state import StateOverlay
from ledger.types import ErrorInfo, Receipt, SignedTx

log = logging.getLogger(__name__)

# The receipt code of a tx whose execution failed other than by a contract rule.
FAULT_CODE = "CONTRACT_FAULT"


def _fault_receipt(tx: SignedTx, height: int, index: int, what: str, error: Exception) -> Receipt:
    """The failed receipt of a tx that raised: the same text on every replica, always encodable."""
    text = f"{what}: {type(error).__name__}: {error}"[:200]
    message = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return Receipt(tx.id, height, index, "failed", ErrorInfo(FAULT_CODE, message), (), None)


def _check_encodable(writes: dict[str, Any]) -> None:
    """Raise unless the state tree and the store can encode these writes: each key must have
    UTF-8 bytes and each value a canonical encoding (checked as the pair `[[key, value]]`,
    which needs both), integers by their range alone."""
    for key, value in writes.items():
        if type(value) is int and type(key) is str:
            if not codec.INT_MIN <= value <= codec.INT_MAX:
                raise TallyError("INT_RANGE", "integer out of the 64-bit range")
            key.encode()  # a lone surrogate cannot be a key on disk
        elif value is not None or type(key) is not str:
            codec.encode([[key, value]])


def apply_one(
    overlay: StateOverlay, info: BlockInfo, tx: SignedTx, index: int
) -> tuple[Receipt, bytes]:
    """Execute one ordered tx over `overlay`: its receipt and the receipt's encoding. Its
    writes land only if they and the receipt encode. The second line behind the contracts'
    own range checks: any exception here is a bug of a contract (or of ours), so it is logged
    with the tx, and the tx fails alone, deterministically, with `CONTRACT_FAULT`."""
    stage = "execution failed"
    try:
        outcome = apply_tx(overlay.get, info, tx.id, tx.body)
        receipt = Receipt(
            tx.id, info.height, index, outcome.status, outcome.error, outcome.events, outcome.result
        )
        stage = "result cannot be encoded"
        encoded = receipt.encode()
        stage = "writes cannot be encoded"
        if outcome.call_state is not None:
            _check_encodable(outcome.call_state.writes)
    except Exception as error:
        if isinstance(error, TallyError | UnicodeError):
            log.warning("tx %s at height %d: %s: %s", tx.id.hex(), info.height, stage, error)
        else:
            log.exception("tx %s at height %d: %s", tx.id.hex(), info.height, stage)
        fault = _fault_receipt(tx, info.height, index, stage, error)
        return fault, fault.encode()
    if outcome.call_state is not None:
        overlay.merge(outcome.call_state)
    return receipt, encoded
