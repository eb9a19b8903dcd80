"""Applies blocks through the contracts: builds proposals, checks others', commits them.

Blocks still in flight (proposed or prepared, not committed) are kept as write overlays keyed by
block hash, each reading through its parent's (the store, once the parent commits), with the
state tree they lead to (a `TreeUpdate` computed on the parent's), so the next height can
execute on top of one that is not committed yet. A header's state_root is that tree's root
(DESIGN.md §6): the proposer sets it, every replica recomputes it before preparing. Committing
writes the block's receipts, writes and tree nodes in one store batch.

Building and checking a block share one per-tx loop (`_order`): the admissibility rule of
`node.runtime.admission`, then the call (`node.runtime.txapply`: whatever one tx does ends as
its receipt, so a block can always be built from what is left).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from contracts.catalog import genesis_state
from contracts.devclock import clock_offset_ms
from contracts.membership import set_in_force
from contracts.runtime import BlockInfo
from ledger.chain import ChainStore, ChainTip, CommittedBlock
from ledger.genesis import Genesis, ValidatorInfo, validators_hash
from ledger.membership import validator_from_record
from ledger.merkle import merkle_root
from ledger.smt_store import TreeUpdate, encode_writes
from ledger.state import Reader, StateOverlay
from ledger.types import Block, Certificate, ErrorInfo, Header, Receipt, SignedTx
from node.runtime.admission import TxRules
from node.runtime.pruning import StatePruner
from node.runtime.replay import Batch, InvalidBlock, decoded, replay_batch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PendingBlock:
    block: Block
    block_hash: bytes
    receipts: tuple[Receipt, ...]
    encoded_receipts: tuple[bytes, ...]  # hashed for the root, then stored: encoded once
    overlay: StateOverlay
    tx_ids: frozenset[bytes]
    parent_hash: bytes
    tree: TreeUpdate  # the state tree after this block; its root is the header's state_root
    encoded_writes: dict[str, bytes | None]  # the overlay's writes, encoded once for both


class Executor:
    def __init__(
        self, store: ChainStore, genesis: Genesis, *, retain_heights: int | None = None
    ) -> None:
        """`retain_heights`: how many recent heights stay provable (None: all of them)."""
        self.store = store
        self.genesis = genesis
        self.rules = TxRules.from_genesis(genesis)
        self.validators_hash = genesis.validators_hash()
        self.block_max_txs = genesis.params["block_max_txs"]
        self.block_max_bytes = genesis.params["block_max_bytes"]
        self.pending: dict[bytes, PendingBlock] = {}
        self.tip: ChainTip = store.initialize(genesis, genesis_state(genesis))
        self.pruner = (
            None
            if retain_heights is None
            else StatePruner(store.tree, retain_heights, genesis.params["checkpoint_interval"])
        )

    # -- reading state at a point in the chain --------------------------------------------------

    def _reader(self, parent_hash: bytes) -> Reader:
        if parent_hash == self.tip.block_hash:
            return self.store.state_trusted
        pending = self.pending.get(parent_hash)
        if pending is None:
            raise InvalidBlock("parent block is unknown")
        return pending.overlay.get

    def _parent(self, parent_hash: bytes) -> tuple[int, int]:
        """(height, time_ms) of a committed tip or a pending block."""
        if parent_hash == self.tip.block_hash:
            return self.tip.height, self.tip.time_ms
        pending = self.pending.get(parent_hash)
        if pending is None:
            raise InvalidBlock("parent block is unknown")
        header = pending.block.header
        return header.height, header.time_ms

    def _tree_after(
        self, parent_hash: bytes, height: int, writes: dict[str, Any]
    ) -> tuple[dict[str, bytes | None], TreeUpdate]:
        """The encoded writes and the state tree after them, on top of the parent's tree: the
        committed one, or the uncommitted ancestors' updates (parent first)."""
        ancestors: list[TreeUpdate] = []
        cursor = self.pending.get(parent_hash)
        while cursor is not None:
            ancestors.append(cursor.tree)
            cursor = self.pending.get(cursor.parent_hash)
        encoded = encode_writes(writes)
        return encoded, self.store.tree.prepare(height, encoded, ancestors)

    def _block_clock(self, parent_hash: bytes, now_ms: int) -> int:
        """`now_ms` plus the development clock offset in the parent's state (0 on any chain
        that never moved it): the time a block on `parent_hash` is given and checked against.
        Every replica reads the same offset at the same height (contracts/devclock.py)."""
        return now_ms + clock_offset_ms(self._reader(parent_hash))

    def validators_at(self, height: int) -> tuple[ValidatorInfo, ...]:
        """The set that certifies the block at `height` = tip + 1 (or below, while the set of
        the tip's state still holds there): what state transfer checks certificates against."""
        records = set_in_force(self.store.state_trusted, height)
        if records is None:
            return self.genesis.validators
        return tuple(validator_from_record(r) for r in records)

    def validators_hash_at(self, parent_hash: bytes, height: int) -> bytes:
        """The `validators_hash` of a block at `height` on `parent_hash`: the set in force
        there, read from the parent's state (contracts/membership.py), else genesis's."""
        records = set_in_force(self._reader(parent_hash), height)
        if records is None:
            return self.validators_hash
        return validators_hash([validator_from_record(r) for r in records])

    def _seen_in_ancestors(
        self, parent_hash: bytes, tx_id: bytes, known_uncommitted: bool = False
    ) -> bool:
        cursor = self.pending.get(parent_hash)
        while cursor is not None:
            if tx_id in cursor.tx_ids:
                return True
            cursor = self.pending.get(cursor.parent_hash)
        return not known_uncommitted and self.store.tx_committed(tx_id)

    def _ancestor_ids(self, parent_hash: bytes) -> set[bytes] | frozenset[bytes]:
        """Tx ids of the uncommitted blocks from `parent_hash` down to the committed tip."""
        cursor = self.pending.get(parent_hash)
        if cursor is None:
            return frozenset()
        ids: set[bytes] = set()
        while cursor is not None:
            ids.update(cursor.tx_ids)
            cursor = self.pending.get(cursor.parent_hash)
        return ids

    # -- the per-tx loop ------------------------------------------------------------------------

    def _order(
        self,
        parent_hash: bytes,
        info: BlockInfo,
        txs: Iterable[SignedTx],
        refused: Callable[[SignedTx, ErrorInfo], None],
        uncommitted: Callable[[bytes], bool] | None,
    ) -> Batch:
        """Check each tx against the admissibility rule and execute those that pass, until the
        block's limits are reached; `refused(tx, why)` hears of the others.

        `uncommitted(tx_id)` may vouch that a tx is not committed (the mempool drops committed
        ids), which saves the one store read per tx on this path.
        """
        batch = Batch(StateOverlay(self._reader(parent_hash)))
        ordered: set[bytes] = set()

        def seen(tx: SignedTx) -> bool:
            vouched = uncommitted is not None and uncommitted(tx.id)
            return tx.id in ordered or self._seen_in_ancestors(parent_hash, tx.id, vouched)

        for tx in txs:
            encoded = tx.encode()
            if len(batch.txs) >= self.block_max_txs:
                break
            if batch.size + len(encoded) > self.block_max_bytes:
                break
            refusal = self.rules.refusal(tx, len(encoded), info.height, seen)
            if refusal is not None:
                refused(tx, refusal)
                continue
            ordered.add(tx.id)
            batch.apply(info, tx, encoded)
        return batch

    # -- building and checking blocks -----------------------------------------------------------

    def build(
        self,
        view: int,
        height: int,
        parent_hash: bytes,
        candidates: Iterable[SignedTx],
        proposer: bytes,
        now_ms: int,
        uncommitted: Callable[[bytes], bool] | None = None,
    ) -> tuple[Block, list[tuple[SignedTx, ErrorInfo]]]:
        """Execute a batch on top of `parent_hash` and return the block and the txs left out
        (with why: they cannot be ordered here, ever).

        Candidates already in an uncommitted ancestor (pipelined heights) are skipped, not
        refused: they are on their way to commit.
        """
        parent_height, parent_time = self._parent(parent_hash)
        if height != parent_height + 1:
            raise InvalidBlock(f"height {height} does not follow {parent_height}")
        in_flight = self._ancestor_ids(parent_hash)
        fresh = (tx for tx in candidates if tx.id not in in_flight)
        rejected: list[tuple[SignedTx, ErrorInfo]] = []
        time_ms = max(self._block_clock(parent_hash, now_ms), parent_time)
        info = BlockInfo(self.genesis.chain, height, time_ms)
        batch = self._order(
            parent_hash, info, fresh, lambda tx, why: rejected.append((tx, why)), uncommitted
        )
        encoded_writes, tree = self._tree_after(parent_hash, height, batch.overlay.writes)
        header = Header(
            chain=self.genesis.chain,
            height=height,
            prev=parent_hash,
            time_ms=time_ms,
            proposer=proposer,
            view=view,
            txs_root=merkle_root(batch.encoded_txs),
            receipts_root=merkle_root(batch.encoded_receipts),
            state_root=tree.root,
            validators_hash=self.validators_hash_at(parent_hash, height),
        )
        block = Block(header, tuple(batch.encoded_txs))
        self._keep(block, batch, tree, encoded_writes)
        return block, rejected

    def _check_header(self, block: Block, now_ms: int, max_skew_ms: int) -> None:
        """Check what a block claims before executing it."""
        header = block.header
        if header.chain != self.genesis.chain:
            raise InvalidBlock("wrong chain")
        parent_height, parent_time = self._parent(header.prev)
        if header.validators_hash != self.validators_hash_at(header.prev, header.height):
            raise InvalidBlock("validators_hash does not match the validator set")
        if header.height != parent_height + 1:
            raise InvalidBlock(f"height {header.height} does not follow {parent_height}")
        if header.time_ms < parent_time:
            raise InvalidBlock("block time goes backwards")
        if max_skew_ms:
            skew_ms = header.time_ms - self._block_clock(header.prev, now_ms)
            if abs(skew_ms) > max_skew_ms:
                raise InvalidBlock(f"block time is {skew_ms} ms off our clock")
        if len(block.txs) > self.block_max_txs:
            raise InvalidBlock("too many transactions")
        if sum(len(raw) for raw in block.txs) > self.block_max_bytes:
            raise InvalidBlock("block too large")
        if merkle_root(block.txs) != header.txs_root:
            raise InvalidBlock("txs_root does not match the transactions")

    def execute(
        self,
        block: Block,
        now_ms: int,
        max_skew_ms: int,
        signature_ok: Callable[[SignedTx], bool] = SignedTx.signature_valid,
        uncommitted: Callable[[bytes], bool] | None = None,
        decode: Callable[[bytes], SignedTx] = SignedTx.decode,
    ) -> None:
        """Check a proposed block fully and execute it; raise InvalidBlock naming the fault.

        `signature_ok(tx)` checks a tx's signature; the node's remembers what it checked (its
        mempool), so a replica verifies each signature once. `uncommitted(tx_id)` may vouch
        that a tx is not committed (see `_order`). `decode` may return an already decoded tx
        for the same bytes.
        """
        header = block.header
        if header.hash() in self.pending:
            return
        self._check_header(block, now_ms, max_skew_ms)

        def refused(tx: SignedTx, why: ErrorInfo) -> None:
            index = block.txs.index(tx.encode())
            raise InvalidBlock(f"tx {index} cannot be ordered: {why.code}")

        info = BlockInfo(self.genesis.chain, header.height, header.time_ms)
        txs = decoded(block, decode, signature_ok)
        self._seal(block, self._order(header.prev, info, txs, refused, uncommitted))

    def replay(self, block: Block) -> None:
        """Execute a block whose certificate the caller checked, without the signature and
        admission checks that certificate vouches for (`node.runtime.replay`); the header
        (txs_root included) and the roots after executing are checked as for any block."""
        header = block.header
        if header.hash() in self.pending:
            return
        self._check_header(block, 0, 0)
        info = BlockInfo(self.genesis.chain, header.height, header.time_ms)
        self._seal(block, replay_batch(StateOverlay(self._reader(header.prev)), info, block))

    def _seal(self, block: Block, batch: Batch) -> None:
        """Check what executing `block` gave against its header's roots and keep it pending."""
        header = block.header
        if merkle_root(batch.encoded_receipts) != header.receipts_root:
            raise InvalidBlock("receipts_root differs from what executing the block gives")
        encoded_writes, tree = self._tree_after(header.prev, header.height, batch.overlay.writes)
        if tree.root != header.state_root:
            raise InvalidBlock("state_root differs from what executing the block gives")
        self._keep(block, batch, tree, encoded_writes)

    def _keep(
        self,
        block: Block,
        batch: Batch,
        tree: TreeUpdate,
        encoded_writes: dict[str, bytes | None],
    ) -> None:
        block_hash = block.header.hash()
        self.pending[block_hash] = PendingBlock(
            block,
            block_hash,
            tuple(batch.receipts),
            tuple(batch.encoded_receipts),
            batch.overlay,
            frozenset(tx.id for tx in batch.txs),
            block.header.prev,
            tree,
            encoded_writes,
        )

    # -- committing -----------------------------------------------------------------------------

    def commit(self, block: Block, certificate: Certificate) -> tuple[Receipt, ...]:
        """Write an executed block; blocks at its height on other branches are dropped."""
        block_hash = block.header.hash()
        pending = self.pending.get(block_hash)
        if pending is None:
            raise InvalidBlock("commit of a block that was not executed")
        self.tip = self.store.commit_block(
            CommittedBlock(
                block,
                certificate,
                pending.receipts,
                pending.encoded_writes,
                pending.tree,
                pending.encoded_receipts,
            )
        )
        height = block.header.height
        self.pending = {h: p for h, p in self.pending.items() if p.block.header.height > height}
        for child in self.pending.values():
            if child.parent_hash == block_hash:
                child.overlay.read_through(self.store.state_trusted)
        if self.pruner is not None:
            self.pruner.committed(height)
        return pending.receipts

    def adopt_tip(self) -> None:
        """The store's tip changed under us (a snapshot installed): start from it afresh."""
        self.pending.clear()
        self.tip = self.store.check_tree()

    def forget(self, block_hash: bytes) -> None:
        """Drop one executed block nobody will propose (e.g. an empty batch)."""
        self.pending.pop(block_hash, None)

    def discard_above(self, height: int) -> None:
        self.pending = {h: p for h, p in self.pending.items() if p.block.header.height <= height}

    def state(self, key: str) -> Any:
        return self.store.state(key)

    def close(self) -> None:
        """Wait for a pruning in progress (before the store closes)."""
        if self.pruner is not None:
            self.pruner.close()
