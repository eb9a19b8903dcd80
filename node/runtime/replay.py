"""The per-tx loops of a block: ordering a live one, and replaying a certified one.

`Batch` is what either loop leaves: the txs and receipts with their encodings and the writes,
which the executor turns into the state tree and checks against the header.

Replaying a block fetched by state transfer (`replay_batch`) skips the work that the block's
commit certificate already vouches for, and only that:

- The certificate is 2f+1 BLS signatures over the header's hash (checked by the caller,
  `statesync.check_certified`), and the header commits to the txs by `txs_root`, which the
  executor checks against the bodies before this loop runs. So these exact bodies, in this
  order, were executed and voted for by at least f+1 honest validators, each of which checked
  every tx's Ed25519 signature and its admissibility (chain, validity window, duplicate) and
  would have refused the whole block on any failure. A failed check never changes state: it
  makes the block invalid, so on a certified block it cannot have happened, and skipping it
  cannot change a single write.
- The signature is not input to any contract: `apply_tx` sees the tx id and the body (sender
  key included), never `sig`, so the state machine needs no signature check for determinism.
- What is not skipped: decoding each body (a malformed one still fails the block), executing
  every tx through the same `apply_one` as the live path, in block order, and then (in the
  executor) the receipts_root and state_root against the header. A replayed node therefore
  ends every block with the state root the live nodes certified, or refuses the block.

This trusts the BFT assumption (at most f faulty validators), as consensus itself does; a
replica that does not trust a block's certificate must not call this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from contracts.runtime import BlockInfo
from ledger.errors import TallyError
from ledger.state import StateOverlay
from ledger.types import Block, Receipt, SignedTx
from node.runtime.txapply import apply_one


class InvalidBlock(TallyError):
    def __init__(self, message: str) -> None:
        super().__init__("INVALID_BLOCK", message)


@dataclass(slots=True)
class Batch:
    """What the per-tx loop ordered: txs and receipts (with their encodings) and the writes."""

    overlay: StateOverlay
    txs: list[SignedTx] = field(default_factory=list)
    encoded_txs: list[bytes] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    encoded_receipts: list[bytes] = field(default_factory=list)
    size: int = 0

    def apply(self, info: BlockInfo, tx: SignedTx, encoded: bytes) -> None:
        """Execute `tx` (encoded as `encoded`) next in this batch: the one step both loops share."""
        receipt, encoded_receipt = apply_one(self.overlay, info, tx, len(self.txs))
        self.txs.append(tx)
        self.encoded_txs.append(encoded)
        self.receipts.append(receipt)
        self.encoded_receipts.append(encoded_receipt)
        self.size += len(encoded)


def decoded(
    block: Block, decode: Callable[[bytes], SignedTx], signature_ok: Callable[[SignedTx], bool]
) -> Iterator[SignedTx]:
    """A proposed block's txs, decoded and their signatures checked, in block order."""
    for index, raw in enumerate(block.txs):
        tx = _decode(decode, raw, index)
        if not signature_ok(tx):
            raise InvalidBlock(f"tx {index} has a bad signature")
        yield tx


def replay_batch(overlay: StateOverlay, info: BlockInfo, block: Block) -> Batch:
    """Execute a certified block's txs over `overlay` as the live path does, without the
    signature and admission checks its certificate vouches for (see the module docstring).
    The caller has checked the header (txs_root included) and checks the roots after."""
    batch = Batch(overlay)
    for index, raw in enumerate(block.txs):
        batch.apply(info, _decode(SignedTx.decode_certified, raw, index), raw)
    return batch


def _decode(decode: Callable[[bytes], SignedTx], raw: bytes, index: int) -> SignedTx:
    try:
        return decode(raw)
    except TallyError as error:
        raise InvalidBlock(f"tx {index} is malformed: {error.message}") from None
