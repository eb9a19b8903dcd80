"""The chain on disk: blocks, certificates, receipts, indexes, events, state and its tree.

Every committed block goes down in one synchronous batch (`commit_block`), with the nodes its
write-set added to the state tree (`ledger.smt_store`), so a crash leaves the whole block or
none of it, and the tree's latest version is always the tip's height. Key prefixes carry a
version so the layout can change later: schema 2 is the second release's (the tree beside the
flat state); a database of schema 1 (the first release, no tree) is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from ledger import codec
from ledger.errors import StoreError, TallyError
from ledger.genesis import Genesis
from ledger.smt_store import StateTree, TreeUpdate, encode_writes
from ledger.state_cache import MISSING, StateCache
from ledger.store import KeyValueStore
from ledger.types import Block, Certificate, Header, Receipt

SCHEMA_VERSION = 2  # 1 was the first release: the state root was a hash of write-sets

P_HEADER = b"v1/hdr/"  # height -> encoded header
P_BODY = b"v1/txs/"  # height -> encoded list of signed txs
P_CERT = b"v1/crt/"  # height -> encoded certificate
P_HASH = b"v1/bhx/"  # block hash -> height
P_TX = b"v1/txi/"  # tx id -> encoded [height, index]
P_RECEIPT = b"v1/rct/"  # height + index -> encoded receipt
P_EVENT = b"v1/evt/"  # sequence -> encoded event record
P_STATE = b"v1/st/"  # state key -> encoded value
P_META = b"v1/meta/"  # node metadata
P_TX_SEEN = b"v2/txseen/"  # tx id -> height: committed below a snapshot, for replay protection
P_DOCUMENT = b"v2/doc/"  # doc hash -> encoded envelope (ledger.documents): beside the chain


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _u32(value: int) -> bytes:
    return struct.pack(">I", value)


@dataclass(frozen=True, slots=True)
class ChainTip:
    height: int
    block_hash: bytes
    state_root: bytes
    time_ms: int
    event_seq: int


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    block: Block
    certificate: Certificate
    receipts: tuple[Receipt, ...]
    state_writes: dict[str, bytes | None]  # canonical encodings (None = deleted)
    tree: TreeUpdate  # the state tree after the block; its root is the header's state_root
    encoded_receipts: tuple[bytes, ...] = ()  # the receipts' encodings, if the caller has them


class StateTreeMissing(TallyError):
    """A database the state tree does not cover: written by the first release, or damaged."""

    def __init__(self, message: str) -> None:
        super().__init__("STATE_TREE_MISSING", message)


class ChainStore:
    """Typed reads and the atomic block commit over a `KeyValueStore`."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        version = kv.get(P_META + b"schema")
        if version is not None and codec.decode(version) == 1:
            raise StateTreeMissing(
                "this database was written by the first release of Tallychain (schema 1, no "
                "state tree); the second release needs a new data directory and a second-"
                "release genesis (see docs/configuration.md)"
            )
        if version is not None and codec.decode(version) != SCHEMA_VERSION:
            raise StoreError(f"database schema {codec.decode(version)} is not {SCHEMA_VERSION}")
        # Pruning is the node's to schedule (off the hot path), so the tree itself keeps all.
        self.tree = StateTree(kv)
        # Only a node restored from a snapshot holds ids committed below it: every other node
        # skips that second read on each tx's duplicate check.
        self._restored_ids = next(iter(kv.iterate(P_TX_SEEN)), None) is not None
        self.cache = StateCache()

    # -- genesis -------------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return self.kv.get(P_META + b"tip") is not None

    def initialize(self, genesis: Genesis, state_writes: dict[str, Any]) -> ChainTip:
        """Write the genesis state and its tree (version 0) once; a store made for another
        genesis, or whose tree does not reach its tip, is refused."""
        genesis_hash = genesis.hash()
        stored = self.kv.get(P_META + b"genesis")
        if stored is not None:
            tip = self.check_tree()
            if stored != genesis_hash:
                raise StoreError("the database belongs to a different genesis")
            return tip
        encoded = encode_writes(state_writes)
        update = self.tree.prepare(0, encoded)
        tip = ChainTip(0, genesis_hash, update.root, genesis.time_ms, 0)
        puts = update.puts()
        for key, value in encoded.items():
            puts[P_STATE + key.encode()] = value
        puts[P_META + b"schema"] = codec.encode(SCHEMA_VERSION)
        puts[P_META + b"genesis"] = genesis_hash
        puts[P_META + b"tip"] = _encode_tip(tip)
        self.kv.write(puts, sync=True)
        self.tree.committed(update)
        return tip

    def check_tree(self) -> ChainTip:
        """The tip, once the state tree is known to stand at it: its latest version is the
        tip's height and its root the tip's state_root (both written in every block's batch)."""
        self.cache.clear()  # called whenever the flat state may have been replaced under us
        tip = self.tip()
        latest = self.tree.latest_version()
        if latest is None:
            raise StateTreeMissing(
                f"the database has a chain at height {tip.height} but no state tree: it was "
                "not written by the second release; start from a new data directory"
            )
        if latest != tip.height or self.tree.root(latest) != tip.state_root:
            raise StateTreeMissing(
                f"the state tree stands at height {latest}, the chain at {tip.height}: the "
                "database is damaged; start from a new data directory and catch up from peers"
            )
        return tip

    # -- reads ---------------------------------------------------------------------------------

    def tip(self) -> ChainTip:
        raw = self.kv.get(P_META + b"tip")
        if raw is None:
            raise StoreError("the database has no genesis yet")
        height, block_hash, state_root, time_ms, event_seq = codec.decode(raw)
        return ChainTip(height, block_hash, state_root, time_ms, event_seq)

    def state(self, key: str) -> Any:
        raw = self.kv.get(P_STATE + key.encode())
        return None if raw is None else codec.decode(raw)

    def state_items(
        self,
        prefix: str,
        *,
        after: str | None = None,
        limit: int | None = None,
        reverse: bool = False,
    ) -> Iterator[tuple[str, Any]]:
        """State entries whose key starts with `prefix`, in key order (`reverse`: highest first).

        `after` is a cursor: the rest of a key under `prefix` (what a previous page ended on);
        the walk starts strictly past it in the walk's direction, so a page costs the same
        however many entries precede it. At most `limit` entries (None: all). Keys are whole
        state keys, values decoded canonically.
        """
        if limit is not None and limit <= 0:
            return
        base = P_STATE + prefix.encode()
        start = None
        if after is not None:
            # Forward: the first key above `after` is `after + 0x00`. Backward: `start` is
            # exclusive, so `after` itself is where the walk begins below.
            start = base + after.encode() + (b"" if reverse else b"\x00")
        entries = self.kv.iterate(base, start=start, reverse=reverse)
        for count, (key, raw) in enumerate(entries, 1):
            yield key[len(P_STATE) :].decode(), codec.decode(raw)
            if limit is not None and count >= limit:
                return

    def state_at(self, key: str, height: int) -> Any:
        """What `key` held after block `height` (0: genesis), read from the state tree's
        version of that height; StateTreeError (STATE_HEIGHT_PRUNED) once it is pruned."""
        raw = self.tree.prove(key, height).value
        return None if raw is None else codec.decode(raw)

    def state_trusted(self, key: str) -> Any:
        """A state value decoded without the canonical round-trip check, for the executor.

        The store holds only canonical bytes this node wrote, so the check (measured: ~40 % of
        execution) proves nothing here; every other read goes through `state`.
        """
        raw = self.cache.get(key)
        if raw is MISSING:
            raw = self.kv.get(P_STATE + key.encode())
            self.cache.fill(key, raw)
        return None if raw is None else msgpack.unpackb(raw, raw=False, strict_map_key=True)

    def header(self, height: int) -> Header | None:
        raw = self.kv.get(P_HEADER + _u64(height))
        return None if raw is None else Header.decode(raw)

    def header_bytes(self, height: int) -> bytes | None:
        return self.kv.get(P_HEADER + _u64(height))

    def block(self, height: int) -> Block | None:
        header = self.header(height)
        body = self.kv.get(P_BODY + _u64(height))
        if header is None or body is None:
            return None
        return Block(header, tuple(codec.decode(body)))

    def height_of(self, block_hash: bytes) -> int | None:
        raw = self.kv.get(P_HASH + block_hash)
        return None if raw is None else int(codec.decode(raw))

    def certificate(self, height: int) -> Certificate | None:
        raw = self.kv.get(P_CERT + _u64(height))
        return None if raw is None else Certificate.decode(raw)

    def tx_location(self, tx_id: bytes) -> tuple[int, int] | None:
        raw = self.kv.get(P_TX + tx_id)
        if raw is None:
            return None
        height, index = codec.decode(raw)
        return int(height), int(index)

    def tx_committed(self, tx_id: bytes) -> bool:
        """Committed here, or known committed below the snapshot this node was restored from
        (its receipt is not here: only its id, so it is never committed twice, DESIGN.md §5)."""
        if self.kv.get(P_TX + tx_id) is not None:
            return True
        return self._restored_ids and self.kv.get(P_TX_SEEN + tx_id) is not None

    def remember_committed(self, ids_by_height: Mapping[int, Sequence[bytes]]) -> None:
        """Note the tx ids of blocks below our snapshot (checked by the caller) as committed,
        in one durable write: one per span of blocks, not one per block."""
        puts: dict[bytes, bytes | None] = {
            P_TX_SEEN + tx_id: _u64(height)
            for height, tx_ids in ids_by_height.items()
            for tx_id in tx_ids
        }
        if puts:
            self.kv.write(puts, sync=True)
            self._restored_ids = True

    def receipt(self, height: int, index: int) -> Receipt | None:
        raw = self.kv.get(P_RECEIPT + _u64(height) + _u32(index))
        return None if raw is None else Receipt.decode(raw)

    def receipts(self, height: int) -> list[Receipt]:
        return [Receipt.decode(raw) for _, raw in self.kv.iterate(P_RECEIPT + _u64(height))]

    def events(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Committed events with sequence numbers greater than `after`, oldest first."""
        records = []
        for _, raw in self.kv.iterate(P_EVENT, start=P_EVENT + _u64(after + 1)):
            records.append(codec.decode(raw))
            if len(records) >= limit:
                break
        return records

    def meta(self, name: str) -> bytes | None:
        return self.kv.get(P_META + b"x/" + name.encode())

    def put_meta(self, name: str, value: bytes) -> None:
        """Small node metadata (e.g. consensus votes), written synchronously."""
        self.kv.put(P_META + b"x/" + name.encode(), value, sync=True)

    def meta_items(self, prefix: str) -> dict[str, bytes]:
        """Every metadata record whose name starts with `prefix` (e.g. the replica's `pbft/`)."""
        base = P_META + b"x/"
        return {
            key[len(base) :].decode(): value
            for key, value in self.kv.iterate(base + prefix.encode())
        }

    def write_meta(self, records: dict[str, bytes | None]) -> None:
        """Write and delete (value None) several metadata records in one synchronous batch, so
        a vote is on disk before the message that carries it leaves."""
        base = P_META + b"x/"
        self.kv.write({base + name.encode(): value for name, value in records.items()}, sync=True)

    def document(self, doc_hash: bytes) -> bytes | None:
        """The encrypted envelope of a receivable's document, as uploaded (not state: no
        root covers it; the ledger holds only the document's hash)."""
        return self.kv.get(P_DOCUMENT + doc_hash)

    def put_document(self, doc_hash: bytes, envelope: bytes) -> None:
        """Store (or replace, when keys are added) the envelope of document `doc_hash`."""
        self.kv.put(P_DOCUMENT + doc_hash, envelope, sync=True)

    def close(self) -> None:
        self.kv.close()

    # -- the one write path --------------------------------------------------------------------

    def commit_block(self, committed: CommittedBlock) -> ChainTip:
        """Write block, certificate, receipts, indexes, events and state in one batch."""
        block = committed.block
        header = block.header
        tip = self.tip()
        if header.height != tip.height + 1 or header.prev != tip.block_hash:
            raise StoreError(
                f"block {header.height} does not extend the tip at height {tip.height}"
            )
        block_hash = header.hash()
        height_key = _u64(header.height)
        puts: dict[bytes, bytes | None] = {
            P_HEADER + height_key: header.encode(),
            P_BODY + height_key: codec.encode(list(block.txs)),
            P_CERT + height_key: committed.certificate.encode(),
            P_HASH + block_hash: codec.encode(header.height),
        }
        event_seq = tip.event_seq
        encoded = committed.encoded_receipts or tuple(r.encode() for r in committed.receipts)
        for receipt, receipt_bytes in zip(committed.receipts, encoded, strict=True):
            puts[P_TX + receipt.tx] = codec.encode([header.height, receipt.index])
            puts[P_RECEIPT + height_key + _u32(receipt.index)] = receipt_bytes
            for event in receipt.events:
                event_seq += 1
                puts[P_EVENT + _u64(event_seq)] = codec.encode(
                    {
                        "seq": event_seq,
                        "height": header.height,
                        "index": receipt.index,
                        "tx": receipt.tx,
                        "event": event,
                    }
                )
        for key, value in committed.state_writes.items():
            puts[P_STATE + key.encode()] = value
        puts.update(self._tree_puts(committed.tree, header, tip))
        new_tip = ChainTip(header.height, block_hash, header.state_root, header.time_ms, event_seq)
        puts[P_META + b"tip"] = _encode_tip(new_tip)
        self.kv.write(puts, sync=True)
        self.cache.wrote(committed.state_writes)
        self.tree.committed(committed.tree)
        return new_tip

    def adopt_snapshot(
        self,
        block: Block,
        certificate: Certificate,
        event_seq: int,
        records: dict[bytes, bytes | None],
    ) -> ChainTip:
        """Make `block`, whose state snapshot sync rebuilt (ledger.snapshot_build), the tip:
        its header, txs and certificate, with the caller's `records` (the tree's root pointer),
        in one batch. Below it the chain keeps only what it held before (maybe nothing)."""
        header = block.header
        block_hash = header.hash()
        height_key = _u64(header.height)
        puts = dict(records)
        puts[P_HEADER + height_key] = header.encode()
        puts[P_BODY + height_key] = codec.encode(list(block.txs))
        puts[P_CERT + height_key] = certificate.encode()
        puts[P_HASH + block_hash] = codec.encode(header.height)
        tip = ChainTip(header.height, block_hash, header.state_root, header.time_ms, event_seq)
        puts[P_META + b"tip"] = _encode_tip(tip)
        self.kv.write(puts, sync=True)
        self.cache.clear()
        return tip

    @staticmethod
    def _tree_puts(update: TreeUpdate, header: Header, tip: ChainTip) -> dict[bytes, bytes | None]:
        """The tree's records for this block, once it is sure they are the header's state on
        top of the tip's (a mismatch here is a bug of the caller, never written)."""
        if update.version != header.height or update.parent_root != tip.state_root:
            raise StoreError(f"the state tree update does not follow the tip at {tip.height}")
        if update.root != header.state_root:
            raise StoreError(f"block {header.height}'s state_root is not its tree's root")
        return update.puts()


def _encode_tip(tip: ChainTip) -> bytes:
    return codec.encode([tip.height, tip.block_hash, tip.state_root, tip.time_ms, tip.event_seq])
