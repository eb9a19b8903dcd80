"""What a signed tx must satisfy to be ordered, written once for the mempool and the executor.

`TxRules.refusal` is the one admissibility rule of DESIGN.md §5 apart from the signature: the
chain, the size, the expiry window and duplicates. The mempool asks it at entry (for the next
height), the executor for every tx of a block it builds or checks (for that block's height), so
what a mempool admits is what a block may carry. `Signers` answers the mempool's other question,
whether the key signs for an active organization, from committed state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contracts.errors import ContractError
from contracts.runtime import resolve_caller
from ledger.genesis import Genesis
from ledger.state import Reader
from ledger.types import ErrorInfo, SignedTx

# Signer lookups remembered between commits; past this the memory starts again (a flood of
# keys of no organization must not grow it).
SIGNER_CACHE = 4096


@dataclass(frozen=True, slots=True)
class TxRules:
    """The limits a tx is checked against, from the genesis params."""

    chain: str
    max_tx_bytes: int
    max_validity: int

    @staticmethod
    def from_genesis(genesis: Genesis) -> TxRules:
        params = genesis.params
        # A tx larger than a block could never be ordered: it would stall the pool's head.
        largest = min(params["max_tx_bytes"], params["block_max_bytes"])
        return TxRules(genesis.chain, largest, params["max_tx_validity"])

    def size_refusal(self, size: int) -> ErrorInfo | None:
        """Refuse an oversized encoding before decoding it (the cost a client controls)."""
        if size > self.max_tx_bytes:
            return ErrorInfo("TX_TOO_LARGE", f"tx is {size} bytes, max {self.max_tx_bytes}")
        return None

    def refusal(
        self, tx: SignedTx, size: int, height: int, seen: Callable[[SignedTx], bool]
    ) -> ErrorInfo | None:
        """Why `tx` (`size` bytes encoded) cannot be ordered at `height`, or None.

        A tx may be ordered from now until its `valid_until`, at most `max_validity` blocks
        after the last committed one (`height - 1`). `seen(tx)` says whether it is pending
        or committed already; it is asked last, since it may read the store.
        """
        too_large = self.size_refusal(size)
        if too_large is not None:
            return too_large
        body = tx.body
        if body.chain != self.chain:
            return ErrorInfo("WRONG_CHAIN", f"tx is for chain {body.chain!r}, not {self.chain!r}")
        if body.valid_until < height:
            return ErrorInfo("EXPIRED", f"valid_until {body.valid_until} < {height}")
        if body.valid_until > height - 1 + self.max_validity:
            return ErrorInfo(
                "VALIDITY_TOO_LONG", f"valid_until may be at most {self.max_validity} blocks ahead"
            )
        if seen(tx):
            return ErrorInfo("DUPLICATE_TX", "tx is already pending or committed")
        return None


class Signers:
    """Which active organization a signing key belongs to, in committed state.

    The registry's own rule (`contracts.runtime.resolve_caller`) decides, so the mempool refuses
    exactly the txs that would fail for their signer. Answers are remembered until the next
    commit (`forget`), since only a block can change the registry.
    """

    def __init__(self, read: Reader, active_orgs: Callable[[], int]) -> None:
        """`read(key)` is a committed state value; `active_orgs()` counts the organizations
        that are not suspended (`contracts.queries.active_org_count`)."""
        self._read = read
        self._active_orgs = active_orgs
        self._known: dict[bytes, str | ErrorInfo] = {}

    def org_of(self, public: bytes) -> str | ErrorInfo:
        """The organization `public` signs for, or why no tx signed by it is admitted."""
        known = self._known.get(public)
        if known is not None:
            return known
        try:
            answer: str | ErrorInfo = resolve_caller(self._read, public).org
        except ContractError as error:
            answer = ErrorInfo("UNKNOWN_SIGNER", error.message)
        if len(self._known) >= SIGNER_CACHE:
            self._known.clear()
        self._known[public] = answer
        return answer

    def active_orgs(self) -> int:
        return max(1, self._active_orgs())

    def forget(self) -> None:
        self._known.clear()
