"""The mempool: transactions checked on entry, held in arrival order until a block takes them.

Entry checks are everything a tx can fail before it is ordered: size and canonical encoding;
the admissibility rule the executor applies too (chain, expiry window, duplicates pending or
committed: `node.runtime.admission`); a signer that is a key of an active organization; the
signature; and room. Room is shared fairly (DESIGN.md §5): each organization may hold at most
the pool's capacity, in txs and in bytes, divided by the number of active organizations, so a
member flooding the pool fills only its own share and keys of no organization get nothing.
Each refusal carries a stable code and is counted by code (`tally_tx_rejections`).

Signatures of a large batch are checked in worker threads: libsodium (via cffi) releases the
GIL, measured at ~1.6x on two cores, and the event loop keeps serving meanwhile.
The pool remembers every id it verified, so executing a block of ours skips re-verification.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass

from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.types import ErrorInfo, SignedTx, canonical_tx_id
from node.runtime.admission import Signers, TxRules
from node.runtime.recent_commits import RecentCommits

# Below this many signatures a thread hop costs more than it saves.
PARALLEL_VERIFY_MIN = 64
# Signatures remembered as checked (tx id -> signature), beyond those of pending txs.
VERIFIED_CACHE = 100_000
# Encoded bytes the pool holds at most (a node's memory, not a consensus rule).
MEMPOOL_MAX_BYTES = 256 * 1024 * 1024
# How often (in blocks) the number of active organizations, which sets the shares, is recounted.
SHARE_RECOUNT_BLOCKS = 64

# Decoder codes as clients see them: malformed bytes, malleable bytes, or a wrong shape.
_DECODE_CODES = {"NON_CANONICAL": "NON_CANONICAL", "BAD_FIELD": "BAD_TX"}


@dataclass(frozen=True, slots=True)
class Admission:
    """One submitted tx's fate: its id (when it decoded) and the error that kept it out."""

    id: bytes | None
    error: ErrorInfo | None

    @property
    def accepted(self) -> bool:
        return self.error is None


def _reject(tx_id: bytes | None, code: str, message: str) -> Admission:
    return Admission(tx_id, ErrorInfo(code, message))


@dataclass(frozen=True, slots=True)
class _Checked:
    """A tx that passed every entry check but its signature and room, and who signed it."""

    tx: SignedTx
    org: str


def _verify_all(txs: list[SignedTx]) -> list[bool]:
    return [tx.signature_valid() for tx in txs]


class OrgShares:
    """Txs and bytes each organization holds, each kept within its share of the pool.

    Every active organization may hold `capacity // orgs` txs and `max_bytes // orgs` bytes.
    Shares are fixed parts, not loans from a common space: so whatever one organization sends,
    another always finds its own share free.
    """

    def __init__(self, capacity: int, max_bytes: int, max_tx_bytes: int, orgs: int) -> None:
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._max_tx_bytes = max_tx_bytes
        self._txs: dict[str, int] = {}
        self._bytes: dict[str, int] = {}
        self.share_txs = self.share_bytes = 0
        self.resize(orgs)

    def resize(self, orgs: int) -> None:
        """Shares for `orgs` active organizations; a tx of the largest size always fits one."""
        self.share_txs = max(1, self._capacity // max(1, orgs))
        self.share_bytes = max(self._max_tx_bytes, self._max_bytes // max(1, orgs))

    def refusal(self, org: str, size: int) -> ErrorInfo | None:
        held_txs, held_bytes = self._txs.get(org, 0), self._bytes.get(org, 0)
        if held_txs >= self.share_txs or held_bytes + size > self.share_bytes:
            return ErrorInfo(
                "ORG_SHARE_FULL",
                f"{org} holds its share of the mempool ({held_txs} of {self.share_txs} txs, "
                f"{held_bytes} of {self.share_bytes} bytes); retry later",
            )
        return None

    def add(self, org: str, size: int) -> None:
        self._txs[org] = self._txs.get(org, 0) + 1
        self._bytes[org] = self._bytes.get(org, 0) + size

    def remove(self, org: str, size: int) -> None:
        left = self._txs[org] - 1
        if left:
            self._txs[org] = left
            self._bytes[org] -= size
        else:
            del self._txs[org], self._bytes[org]

    def held(self, org: str) -> int:
        return self._txs.get(org, 0)


class Mempool:
    """Pending transactions in FIFO order, bounded by `params.mempool_max_txs` and
    `max_bytes`, each organization within its share."""

    def __init__(
        self,
        genesis: Genesis,
        is_committed: Callable[[bytes], bool],
        tip_height: Callable[[], int],
        verify_pool: Executor | None = None,
        *,
        signers: Signers,
        max_bytes: int = MEMPOOL_MAX_BYTES,
    ) -> None:
        """`is_committed(tx_id)` asks the store; `tip_height()` is the last committed height;
        `signers` says which organization a key signs for."""
        self.rules = TxRules.from_genesis(genesis)
        self.capacity = genesis.params["mempool_max_txs"]
        self.max_bytes = max_bytes
        self.signers = signers
        self.shares = OrgShares(
            self.capacity, max_bytes, self.rules.max_tx_bytes, signers.active_orgs()
        )
        self._is_committed = is_committed
        self._recent = RecentCommits(tip_height(), self.rules.max_validity, is_committed)
        self._tip_height = tip_height
        self._verify_pool = verify_pool
        self._txs: dict[bytes, SignedTx] = {}  # insertion order is FIFO order
        self._by_raw: dict[bytes, SignedTx] = {}  # the same txs by their encoding
        self._owner: dict[bytes, str] = {}  # tx id -> the organization that signed it
        self._bytes = 0
        # Signatures checked outside the pool (a block executed before its txs' gossip came):
        # so each signature is checked once per node, whichever way the tx arrives first.
        self._verified: dict[bytes, bytes] = {}
        self._commits = 0  # bumped by `committed`: tells `_admit` to look at the store again
        self.rejections: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def contains(self, tx_id: bytes) -> bool:
        """True when `tx_id` sits here, its signature verified (executor's `verified`)."""
        return tx_id in self._txs

    def needs_no_look(self, raw: bytes) -> bool:
        """True when a peer's gossiped tx can be dropped unread: these bytes sit here (a
        re-announced tx), or the tx with their body was committed lately. The second is common
        under load: a block often reaches a backup before the gossip of some of its txs, which
        would otherwise be decoded a second time only to be refused as duplicates."""
        if raw in self._by_raw:
            return True
        committed = canonical_tx_id(raw)
        return committed is not None and self._recent.remembers(committed)

    def get(self, tx_id: bytes) -> SignedTx | None:
        return self._txs.get(tx_id)

    def signature_ok(self, tx: SignedTx) -> bool:
        """Check `tx`'s signature unless this exact (id, signature) was checked before."""
        known = self._txs.get(tx.id)
        if (known is not None and known.sig == tx.sig) or self._verified.get(tx.id) == tx.sig:
            return True
        if not tx.signature_valid():
            return False
        self._remember([tx])
        return True

    def _remember(self, txs: list[SignedTx]) -> None:
        verified = self._verified
        for tx in txs:
            verified[tx.id] = tx.sig
        overflow = len(verified) - VERIFIED_CACHE
        if overflow > 0:
            for tx_id in list(itertools.islice(verified, overflow)):
                del verified[tx_id]

    def candidates(self) -> Iterator[SignedTx]:
        """Pending txs, oldest first; consume it before the pool changes (no await between)."""
        return iter(self._txs.values())

    def decoded(self, raw: bytes) -> SignedTx:
        """A block's encoded tx, decoded: the pool's own copy when it holds those very bytes
        (a backup then decodes each tx once, on admission), else decoded afresh."""
        tx = self._by_raw.get(raw)
        return tx if tx is not None else SignedTx.decode(raw)

    def block_decoder(self, raws: tuple[bytes, ...]) -> Callable[[bytes], SignedTx]:
        """`decoded` for a block about to be executed: its txs the pool does not hold are
        decoded once here and the signatures not checked before are checked together, half in
        a worker thread (a peer's block of txs we never saw: a node catching up), so the
        executor's `signature_ok` finds them checked. A tx that fails either is left to the
        executor, which names the fault."""
        fresh: dict[bytes, SignedTx] = {}
        for raw in raws:
            if raw not in self._by_raw:
                try:
                    fresh[raw] = SignedTx.decode(raw)
                except TallyError:
                    continue
        unknown = [tx for tx in fresh.values() if self._verified.get(tx.id) != tx.sig]
        if self._verify_pool is not None and len(unknown) >= PARALLEL_VERIFY_MIN:
            half = len(unknown) // 2
            first = self._verify_pool.submit(_verify_all, unknown[:half])
            valid = _verify_all(unknown[half:])
            valid = first.result() + valid
            self._remember([tx for tx, ok in zip(unknown, valid, strict=True) if ok])

        def decode(raw: bytes) -> SignedTx:
            tx = fresh.get(raw)
            return tx if tx is not None else self.decoded(raw)

        return decode

    def remove(self, tx_ids: list[bytes] | tuple[bytes, ...]) -> None:
        pop = self._txs.pop
        for tx_id in tx_ids:
            tx = pop(tx_id, None)
            if tx is not None:
                raw = tx.encode()
                self._by_raw.pop(raw, None)
                self._bytes -= len(raw)
                self.shares.remove(self._owner.pop(tx_id), len(raw))

    def committed(self, height: int, tx_ids: list[bytes]) -> None:
        """A block committed `tx_ids`: they leave, and admissions in flight re-check the store.

        So the pool never holds a committed tx, and a proposer need not ask the store again.
        The block may have changed the registry: signers are looked up afresh.
        """
        self.remove(tx_ids)
        self._recent.add(height, tx_ids)
        self._commits += 1
        self.signers.forget()
        if height % SHARE_RECOUNT_BLOCKS == 0:
            self.shares.resize(self.signers.active_orgs())

    def rebase(self) -> None:
        """The tip moved without commits seen here (a snapshot installed): ids committed below
        it are looked up in the store from now on."""
        self._recent = RecentCommits(
            self._tip_height(), self.rules.max_validity, self._is_committed
        )

    # -- entry ----------------------------------------------------------------------------------

    def _seen(self, tx: SignedTx) -> bool:
        return tx.id in self._txs or self._recent.contains(tx.id, tx.body.valid_until)

    def precheck(self, raw: bytes) -> _Checked | Admission:
        """Every check but the signature's and room's: the decoded tx, or why it is refused."""
        too_large = self.rules.size_refusal(len(raw))
        if too_large is not None:
            return Admission(None, too_large)
        try:
            tx = SignedTx.decode(raw)
        except TallyError as error:
            return _reject(None, _DECODE_CODES.get(error.code, "BAD_ENCODING"), error.message)
        refusal = self.rules.refusal(tx, len(raw), self._tip_height() + 1, self._seen)
        if refusal is not None:
            return Admission(tx.id, refusal)
        org = self.signers.org_of(tx.body.sender)
        if isinstance(org, ErrorInfo):
            return Admission(tx.id, org)
        return _Checked(tx, org)

    async def submit(self, raws: list[bytes]) -> list[Admission]:
        """Check a batch and admit the valid txs in submission order."""
        commits_before = self._commits
        checked = [self.precheck(raw) for raw in raws]
        known = self._verified
        to_verify = [
            item.tx
            for item in checked
            if isinstance(item, _Checked) and known.get(item.tx.id) != item.tx.sig
        ]
        valid = await self._verify(to_verify)
        verdict = dict(zip((tx.id for tx in to_verify), valid, strict=True))
        results: list[Admission] = []
        for item in checked:
            if isinstance(item, Admission):
                results.append(item)
            elif not verdict.get(item.tx.id, True):
                results.append(_reject(item.tx.id, "BAD_SIGNATURE", "signature does not verify"))
            else:
                results.append(self._admit(item, self._commits != commits_before))
        for result in results:
            if result.error is not None:
                self.rejections[result.error.code] = self.rejections.get(result.error.code, 0) + 1
        return results

    def _admit(self, item: _Checked, recheck_store: bool) -> Admission:
        # Re-checked after the await: the same tx may have arrived twice in one batch or
        # in a concurrent request, and a block may have committed it meanwhile.
        tx = item.tx
        if tx.id in self._txs or (
            recheck_store and self._recent.contains(tx.id, tx.body.valid_until)
        ):
            return _reject(tx.id, "DUPLICATE_TX", "tx is already pending or committed")
        raw = tx.encode()
        if len(self._txs) >= self.capacity or self._bytes + len(raw) > self.max_bytes:
            return _reject(
                tx.id,
                "MEMPOOL_FULL",
                f"mempool holds {len(self._txs)} txs of {self._bytes} bytes; retry later",
            )
        refusal = self.shares.refusal(item.org, len(raw))
        if refusal is not None:
            return Admission(tx.id, refusal)
        self._txs[tx.id] = tx
        self._by_raw[raw] = tx
        self._owner[tx.id] = item.org
        self._bytes += len(raw)
        self.shares.add(item.org, len(raw))
        return Admission(tx.id, None)

    async def _verify(self, txs: list[SignedTx]) -> list[bool]:
        if self._verify_pool is None or len(txs) < PARALLEL_VERIFY_MIN:
            return _verify_all(txs)
        loop = asyncio.get_running_loop()
        half = len(txs) // 2
        chunks = [txs[:half], txs[half:]]
        parts = await asyncio.gather(
            *(loop.run_in_executor(self._verify_pool, _verify_all, chunk) for chunk in chunks)
        )
        return [ok for part in parts for ok in part]

    def drop_expired(self, height: int) -> list[bytes]:
        """Remove txs that can no longer be ordered at `height` or later."""
        gone = [tx_id for tx_id, tx in self._txs.items() if tx.body.valid_until < height]
        self.remove(gone)
        return gone
