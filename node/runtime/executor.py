"""Applies blocks through the contracts: builds proposals, checks others', commits them.

Blocks still in flight (proposed or prepared, not committed) are kept as write overlays keyed by
block hash, each reading through its parent, so the next height can execute on top of one that
is not committed yet. Committing writes the block's receipts and writes in one store batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import msgpack

from contracts.catalog import genesis_state
from contracts.runtime import BlockInfo, apply_tx
from ledger.chain import P_STATE, ChainStore, ChainTip, CommittedBlock
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.merkle import merkle_root
from ledger.state import Reader, StateOverlay, next_state_root
from ledger.types import Block, Certificate, Header, Receipt, SignedTx

log = logging.getLogger(__name__)


class InvalidBlock(TallyError):
    def __init__(self, message: str) -> None:
        super().__init__("INVALID_BLOCK", message)


@dataclass(slots=True)
class PendingBlock:
    block: Block
    block_hash: bytes
    receipts: tuple[Receipt, ...]
    encoded_receipts: tuple[bytes, ...]  # hashed for the root, then stored: encoded once
    overlay: StateOverlay
    tx_ids: frozenset[bytes]
    parent_hash: bytes


class Executor:
    def __init__(self, store: ChainStore, genesis: Genesis) -> None:
        self.store = store
        self.genesis = genesis
        self.validators_hash = genesis.validators_hash()
        self.max_validity = genesis.params["max_tx_validity"]
        self.block_max_txs = genesis.params["block_max_txs"]
        self.block_max_bytes = genesis.params["block_max_bytes"]
        self.pending: dict[bytes, PendingBlock] = {}
        self.tip: ChainTip = store.initialize(genesis, genesis_state(genesis))

    # -- reading state at a point in the chain --------------------------------------------------

    def _committed_state(self, key: str) -> Any:
        """A committed state value. The store holds only canonical bytes we wrote, so they
        are unpacked without the decoder's round-trip check (measured: ~40% of execution)."""
        raw = self.store.kv.get(P_STATE + key.encode())
        return None if raw is None else msgpack.unpackb(raw, raw=False, strict_map_key=True)

    def _reader(self, parent_hash: bytes) -> Reader:
        if parent_hash == self.tip.block_hash:
            return self._committed_state
        pending = self.pending.get(parent_hash)
        if pending is None:
            raise InvalidBlock("parent block is unknown")
        return pending.overlay.get

    def _parent(self, parent_hash: bytes) -> tuple[int, int, bytes]:
        """(height, time_ms, state_root) of a committed tip or a pending block."""
        if parent_hash == self.tip.block_hash:
            return self.tip.height, self.tip.time_ms, self.tip.state_root
        pending = self.pending.get(parent_hash)
        if pending is None:
            raise InvalidBlock("parent block is unknown")
        header = pending.block.header
        return header.height, header.time_ms, header.state_root

    def _seen_in_ancestors(
        self, parent_hash: bytes, tx_id: bytes, known_uncommitted: bool = False
    ) -> bool:
        cursor = self.pending.get(parent_hash)
        while cursor is not None:
            if tx_id in cursor.tx_ids:
                return True
            cursor = self.pending.get(cursor.parent_hash)
        return not known_uncommitted and self.store.tx_location(tx_id) is not None

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

    def check_tx(
        self, tx: SignedTx, height: int, parent_hash: bytes, known_uncommitted: bool = False
    ) -> str | None:
        """Why `tx` cannot be ordered at `height` (after its signature was checked), or None.

        `known_uncommitted` skips the store lookup for a tx the caller knows is not committed
        (the mempool drops committed ids), the one disk read per tx on the proposer's path.
        """
        if tx.body.chain != self.genesis.chain:
            return "WRONG_CHAIN"
        if tx.body.valid_until < height:
            return "EXPIRED"
        if tx.body.valid_until > height + self.max_validity:
            return "VALIDITY_TOO_LONG"
        if self._seen_in_ancestors(parent_hash, tx.id, known_uncommitted):
            return "DUPLICATE_TX"
        return None

    # -- executing ------------------------------------------------------------------------------

    def _run(
        self, parent_hash: bytes, height: int, time_ms: int, txs: list[SignedTx]
    ) -> tuple[StateOverlay, tuple[Receipt, ...]]:
        overlay = StateOverlay(self._reader(parent_hash))
        info = BlockInfo(self.genesis.chain, height, time_ms)
        receipts = []
        for index, tx in enumerate(txs):
            outcome = apply_tx(overlay, info, tx.id, tx.body)
            receipts.append(
                Receipt(
                    tx.id,
                    height,
                    index,
                    outcome.status,
                    outcome.error,
                    outcome.events,
                    outcome.result,
                )
            )
        return overlay, tuple(receipts)

    def build(
        self,
        view: int,
        height: int,
        parent_hash: bytes,
        candidates: Iterable[SignedTx],
        proposer: bytes,
        now_ms: int,
        uncommitted: Callable[[bytes], bool] | None = None,
    ) -> tuple[Block, list[tuple[SignedTx, str]]]:
        """Execute a batch on top of `parent_hash` and return the block and the txs left out.

        `uncommitted(tx_id)` may vouch that a candidate is not committed (see `check_tx`).
        Candidates already in an uncommitted ancestor (pipelined heights) are skipped, not
        refused: they are on their way to commit.
        """
        parent_height, parent_time, parent_root = self._parent(parent_hash)
        in_flight = self._ancestor_ids(parent_hash)
        if height != parent_height + 1:
            raise InvalidBlock(f"height {height} does not follow {parent_height}")
        chosen: list[SignedTx] = []
        encoded_txs: list[bytes] = []
        rejected: list[tuple[SignedTx, str]] = []
        seen: set[bytes] = set()
        size = 0
        for tx in candidates:
            if len(chosen) >= self.block_max_txs:
                break
            if tx.id in in_flight:
                continue
            encoded = tx.encode()
            if size + len(encoded) > self.block_max_bytes:
                break
            vouched = uncommitted is not None and uncommitted(tx.id)
            reason = self.check_tx(tx, height, parent_hash, vouched)
            if reason is None and tx.id in seen:
                reason = "DUPLICATE_TX"
            if reason is not None:
                rejected.append((tx, reason))
                continue
            seen.add(tx.id)
            chosen.append(tx)
            encoded_txs.append(encoded)
            size += len(encoded)
        time_ms = max(now_ms, parent_time)
        overlay, receipts = self._run(parent_hash, height, time_ms, chosen)
        encoded_receipts = tuple(r.encode() for r in receipts)
        header = Header(
            chain=self.genesis.chain,
            height=height,
            prev=parent_hash,
            time_ms=time_ms,
            proposer=proposer,
            view=view,
            txs_root=merkle_root(encoded_txs),
            receipts_root=merkle_root(encoded_receipts),
            state_root=next_state_root(parent_root, overlay.writes),
            validators_hash=self.validators_hash,
        )
        block = Block(header, tuple(encoded_txs))
        self._keep(block, receipts, encoded_receipts, overlay, [tx.id for tx in chosen])
        return block, rejected

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
        that a tx is not committed (see `check_tx`), saving a store read per tx. `decode` may
        return an already decoded tx for the same bytes.
        """
        header = block.header
        block_hash = header.hash()
        if block_hash in self.pending:
            return
        if header.chain != self.genesis.chain:
            raise InvalidBlock("wrong chain")
        if header.validators_hash != self.validators_hash:
            raise InvalidBlock("validators_hash does not match the validator set")
        parent_height, parent_time, parent_root = self._parent(header.prev)
        if header.height != parent_height + 1:
            raise InvalidBlock(f"height {header.height} does not follow {parent_height}")
        if header.time_ms < parent_time:
            raise InvalidBlock("block time goes backwards")
        if max_skew_ms and abs(header.time_ms - now_ms) > max_skew_ms:
            raise InvalidBlock(f"block time is {header.time_ms - now_ms} ms off our clock")
        if len(block.txs) > self.block_max_txs:
            raise InvalidBlock("too many transactions")
        if sum(len(raw) for raw in block.txs) > self.block_max_bytes:
            raise InvalidBlock("block too large")
        if merkle_root(block.txs) != header.txs_root:
            raise InvalidBlock("txs_root does not match the transactions")
        txs: list[SignedTx] = []
        seen: set[bytes] = set()
        for index, raw in enumerate(block.txs):
            try:
                tx = decode(raw)
            except TallyError as error:
                raise InvalidBlock(f"tx {index} is malformed: {error.message}") from None
            if not signature_ok(tx):
                raise InvalidBlock(f"tx {index} has a bad signature")
            vouched = uncommitted is not None and uncommitted(tx.id)
            reason = self.check_tx(tx, header.height, header.prev, vouched)
            if reason is None and tx.id in seen:
                reason = "DUPLICATE_TX"
            if reason is not None:
                raise InvalidBlock(f"tx {index} cannot be ordered: {reason}")
            seen.add(tx.id)
            txs.append(tx)
        overlay, receipts = self._run(header.prev, header.height, header.time_ms, txs)
        encoded_receipts = tuple(r.encode() for r in receipts)
        if merkle_root(encoded_receipts) != header.receipts_root:
            raise InvalidBlock("receipts_root differs from what executing the block gives")
        if next_state_root(parent_root, overlay.writes) != header.state_root:
            raise InvalidBlock("state_root differs from what executing the block gives")
        self._keep(block, receipts, encoded_receipts, overlay, [tx.id for tx in txs])

    def _keep(
        self,
        block: Block,
        receipts: tuple[Receipt, ...],
        encoded_receipts: tuple[bytes, ...],
        overlay: StateOverlay,
        ids: list[bytes],
    ) -> None:
        block_hash = block.header.hash()
        self.pending[block_hash] = PendingBlock(
            block,
            block_hash,
            receipts,
            encoded_receipts,
            overlay,
            frozenset(ids),
            block.header.prev,
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
                pending.overlay.writes,
                pending.encoded_receipts,
            )
        )
        height = block.header.height
        self.pending = {h: p for h, p in self.pending.items() if p.block.header.height > height}
        return pending.receipts

    def forget(self, block_hash: bytes) -> None:
        """Drop one executed block nobody will propose (e.g. an empty batch)."""
        self.pending.pop(block_hash, None)

    def discard_above(self, height: int) -> None:
        self.pending = {h: p for h, p in self.pending.items() if p.block.header.height <= height}

    def state(self, key: str) -> Any:
        return self.store.state(key)
