"""A deterministic fake application for the simulator: mempool, executor and chain of one node.

Blocks are real `ledger.types.Block`s with real headers over real encoded `SignedTx`s. The
"state" is a hash chain: state_root = sha256(parent state_root || each tx's bytes), so two nodes
agree on a root exactly when they executed the same txs in the same order on the same parent.
Executing checks what the node's executor checks: parent, height, chain, validators hash, time
(when asked), tx encoding, duplicates against ancestors, and the roots.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ledger.errors import DecodeError
from ledger.merkle import merkle_root
from ledger.types import Block, Certificate, Header, SignedTx


@dataclass(slots=True)
class Executed:
    height: int
    parent: bytes
    time_ms: int
    state_root: bytes
    tx_ids: frozenset[bytes]


def next_root(parent_root: bytes, txs: tuple[bytes, ...]) -> bytes:
    digest = hashlib.sha256(parent_root)
    for raw in txs:
        digest.update(raw)
    return digest.digest()


class FakeApp:
    """One node's mempool, executor and committed chain (the chain survives crashes)."""

    def __init__(
        self,
        chain: str,
        genesis_hash: bytes,
        genesis_time: int,
        validators_hash: bytes,
        max_skew_ms: int,
        max_txs: int,
    ) -> None:
        self.chain = chain
        self.validators_hash = validators_hash
        self.max_skew_ms = max_skew_ms
        self.max_txs = max_txs
        self.blocks: list[tuple[Block, Certificate]] = []  # committed, index = height - 1
        self.hashes: list[bytes] = [genesis_hash]  # index = height
        self.committed_txs: set[bytes] = set()
        self.tip_root = hashlib.sha256(b"genesis-state").digest()
        self.tip_time = genesis_time
        self.pending: dict[bytes, Executed] = {}
        self.executed_blocks: dict[bytes, Block] = {}  # the blocks of `pending`, by hash
        self.mempool: dict[bytes, bytes] = {}  # tx id -> encoded signed tx
        self.censored: frozenset[bytes] = frozenset()  # a censoring primary leaves these out

    # -- the chain ---------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return len(self.blocks)

    @property
    def tip_hash(self) -> bytes:
        return self.hashes[-1]

    def _parent(self, parent_hash: bytes) -> tuple[int, int, bytes] | None:
        if parent_hash == self.tip_hash:
            return self.height, self.tip_time, self.tip_root
        found = self.pending.get(parent_hash)
        if found is None:
            return None
        return found.height, found.time_ms, found.state_root

    def _ancestor_txs(self, parent_hash: bytes) -> set[bytes]:
        seen: set[bytes] = set()
        cursor = self.pending.get(parent_hash)
        while cursor is not None:
            seen |= cursor.tx_ids
            cursor = self.pending.get(cursor.parent)
        return seen

    def _is_done(self, tx_id: bytes, ancestors: set[bytes]) -> bool:
        return tx_id in self.committed_txs or tx_id in ancestors

    # -- building and executing ------------------------------------------------------------------

    def build(
        self, view: int, height: int, parent_hash: bytes, now_ms: int, proposer: bytes
    ) -> Block | None:
        parent = self._parent(parent_hash)
        if parent is None or parent[0] + 1 != height:
            return None
        ancestors = self._ancestor_txs(parent_hash)
        chosen = [
            raw
            for tx_id, raw in self.mempool.items()
            if not self._is_done(tx_id, ancestors) and tx_id not in self.censored
        ][: self.max_txs]
        if not chosen:
            return None
        return self.make_block(view, height, parent_hash, now_ms, proposer, tuple(chosen))

    def make_block(
        self,
        view: int,
        height: int,
        parent_hash: bytes,
        now_ms: int,
        proposer: bytes,
        txs: tuple[bytes, ...],
        corrupt_root: bool = False,
    ) -> Block | None:
        parent = self._parent(parent_hash)
        if parent is None:
            return None
        _, parent_time, parent_root = parent
        state_root = next_root(parent_root, txs)
        if corrupt_root:
            state_root = hashlib.sha256(state_root).digest()
        header = Header(
            chain=self.chain,
            height=height,
            prev=parent_hash,
            time_ms=max(now_ms, parent_time),
            proposer=proposer,
            view=view,
            txs_root=merkle_root(txs),
            receipts_root=merkle_root([]),
            state_root=state_root,
            validators_hash=self.validators_hash,
        )
        block = Block(header, txs)
        if not corrupt_root:
            self._keep(block, frozenset(_ids(txs)))
        return block

    def _keep(self, block: Block, tx_ids: frozenset[bytes]) -> None:
        header = block.header
        block_hash = header.hash()
        self.pending[block_hash] = Executed(
            header.height, header.prev, header.time_ms, header.state_root, tx_ids
        )
        self.executed_blocks[block_hash] = block

    def block(self, height: int, block_hash: bytes) -> Block | None:
        """A block this node holds by hash: executed (pending) or committed."""
        found = self.executed_blocks.get(block_hash)
        if found is not None:
            return found
        if 1 <= height <= self.height and self.hashes[height] == block_hash:
            return self.blocks[height - 1][0]
        return None

    def execute(self, block: Block, now_ms: int, check_time: bool) -> tuple[bool, str]:
        header = block.header
        if header.hash() in self.pending:
            return True, ""
        parent = self._parent(header.prev)
        if parent is None:
            return False, "unknown parent"
        parent_height, parent_time, parent_root = parent
        if header.height != parent_height + 1:
            return False, "height does not follow the parent"
        if header.chain != self.chain or header.validators_hash != self.validators_hash:
            return False, "wrong chain or validators"
        if check_time:
            if header.time_ms < parent_time:
                return False, "time goes backwards"
            if abs(header.time_ms - now_ms) > self.max_skew_ms:
                return False, f"time is {header.time_ms - now_ms} ms off our clock"
        if len(block.txs) > self.max_txs:
            return False, "too many txs"
        if merkle_root(block.txs) != header.txs_root:
            return False, "txs_root"
        ancestors = self._ancestor_txs(header.prev)
        ids: list[bytes] = []
        for raw in block.txs:
            try:
                tx = SignedTx.decode(raw)
            except DecodeError:
                return False, "malformed tx"
            if self._is_done(tx.id, ancestors) or tx.id in ids:
                return False, "duplicate tx"
            ids.append(tx.id)
        if next_root(parent_root, block.txs) != header.state_root:
            return False, "state_root"
        self._keep(block, frozenset(ids))
        return True, ""

    def commit(self, block: Block, certificate: Certificate) -> list[bytes]:
        """Append an executed block; return its tx ids. Raises AssertionError on misuse."""
        header = block.header
        block_hash = header.hash()
        executed = self.pending.get(block_hash)
        assert executed is not None, f"commit of height {header.height}: block was not executed"
        assert header.height == self.height + 1, (
            f"commit of height {header.height} after height {self.height}"
        )
        assert header.prev == self.tip_hash, f"commit at {header.height} does not extend the tip"
        self.blocks.append((block, certificate))
        self.hashes.append(block_hash)
        self.tip_root = header.state_root
        self.tip_time = header.time_ms
        self.committed_txs |= executed.tx_ids
        for tx_id in executed.tx_ids:
            self.mempool.pop(tx_id, None)
        self.pending = {h: e for h, e in self.pending.items() if e.height > header.height}
        self.executed_blocks = {h: b for h, b in self.executed_blocks.items() if h in self.pending}
        return sorted(executed.tx_ids)

    def crash(self) -> None:
        """What a crash loses: executions in memory and the mempool."""
        self.pending = {}
        self.executed_blocks = {}
        self.mempool = {}


def _ids(txs: tuple[bytes, ...]) -> list[bytes]:
    return [SignedTx.decode(raw).id for raw in txs]
