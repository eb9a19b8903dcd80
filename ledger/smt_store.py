"""The state tree on disk: every version's nodes appended under (version, depth, path prefix).

A block writes only the nodes its write-set changed, under its own height, and never overwrites
a key; an inner node names each child by hash, version and kind, so any retained version is
walked from its root pointer with direct reads. An old node a version stops using is indexed
by that version ("stale since"), which is what pruning deletes once no retained version needs it.
The flat key -> value layout of `ledger.chain` stays beside the tree for reads.

How the executor uses it, per block at height h (the switch of DESIGN.md §6):

    update = tree.prepare(h, encode_writes(overlay.writes), pending=uncommitted_ancestors)
    header.state_root = update.root        # proposer; a replica compares, before preparing
    # commit: merge update.puts() into the block's one batch (ChainStore.commit_block), then
    tree.committed(update)                 # caches its nodes, prunes to keep_versions

`pending` are the TreeUpdates of the uncommitted blocks the new one builds on, parent first (the
executor keeps a PendingBlock per block hash; each would hold its TreeUpdate). Genesis is
`prepare(0, encode_writes(genesis_state))` in `ChainStore.initialize`'s batch. `commit(update)`
writes and calls `committed` itself, for callers without a batch of their own (tests, tools).

Layout (the "v2" of the second release):
    v2/smt/n/ + u64 version + u16 depth + prefix bytes -> node record
    v2/smt/s/ + u64 version                            -> ids of the nodes it made stale
    v2/smt/r/ + u64 version                            -> root pointer (kind, hash, version)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import codec
from ledger.errors import StoreError, TallyError
from ledger.smt import (
    EMPTY_HASH,
    EMPTY_REF,
    PATH_BITS,
    LeafNode,
    Node,
    OtherLeaf,
    Ref,
    StateProof,
    inner_hash,
    key_hash,
    path_bit,
    utf8_key,
)
from ledger.smt_update import NodeLoader, StaleNode, Write, apply_writes
from ledger.store import KeyValueStore

P_SMT_NODE = b"v2/smt/n/"
P_SMT_STALE = b"v2/smt/s/"
P_SMT_ROOT = b"v2/smt/r/"

_LEAF, _INNER = 0, 1
_INNER_RECORD = struct.Struct(">BB32s32sQQ")  # kind, child kinds, left/right hash and version
_NODE_ID = struct.Struct(">QH")  # version, depth
_MAX_VERSION = 2**64 - 1
DEFAULT_CACHE_NODES = 1 << 16  # ~30 MB of decoded nodes: the upper levels every block rewrites


NodeId = tuple[int, int, int]  # (version, depth, prefix): names one node record forever


class StateTreeError(TallyError):
    """A version the tree cannot answer for (pruned, not yet written) or cannot append."""


def encode_writes(writes: Mapping[str, Any]) -> dict[str, bytes | None]:
    """A block's write-set (None = deleted) with each value in its canonical encoding."""
    return {key: None if value is None else codec.encode(value) for key, value in writes.items()}


@dataclass(frozen=True, slots=True)
class TreeUpdate:
    """One version of the tree, computed but not written: its root and the records to put."""

    version: int
    parent_root: bytes  # the root it was computed on, checked when it is committed alone
    root_ref: Ref
    nodes: dict[tuple[int, int], Node]  # (depth, prefix) -> node, every one new at `version`
    stale: tuple[StaleNode, ...]  # (version, depth, prefix) of the old nodes this one drops

    @property
    def root(self) -> bytes:
        return self.root_ref[0]

    def puts(self) -> dict[bytes, bytes | None]:
        """Everything to write, in one batch with the block, for this version to exist."""
        version = self.version
        puts: dict[bytes, bytes | None] = {
            node_key(version, depth, prefix): encode_node(node)
            for (depth, prefix), node in self.nodes.items()
        }
        if self.stale:  # one record per version, not one per node: pruning reads it back
            puts[P_SMT_STALE + _u64(version)] = b"".join(
                _node_id(old_version, depth, prefix) for old_version, depth, prefix in self.stale
            )
        puts[P_SMT_ROOT + _u64(self.version)] = _encode_ref(self.root_ref)
        return puts


class StateTree:
    """Versioned sparse Merkle tree over a `KeyValueStore`; `keep_versions` None keeps all.

    Decoded nodes are cached by key, up to `cache_nodes` of them: a node key names one record
    forever (a version is written once, and pruned nodes are never asked for again), so only
    committed nodes go in and nothing needs invalidating.
    """

    def __init__(
        self,
        kv: KeyValueStore,
        *,
        keep_versions: int | None = None,
        cache_nodes: int = DEFAULT_CACHE_NODES,
    ) -> None:
        if keep_versions is not None and keep_versions < 1:
            raise ValueError("keep_versions must be at least 1")
        self.kv = kv
        self.keep_versions = keep_versions
        self._cache = _NodeCache(cache_nodes)

    # -- versions ------------------------------------------------------------------------------

    def latest_version(self) -> int | None:
        for key, _ in self.kv.iterate(P_SMT_ROOT, reverse=True):
            return _read_u64(key, len(P_SMT_ROOT))
        return None

    def oldest_version(self) -> int | None:
        """The oldest version still provable (pruning deletes the root pointers before it)."""
        for key, _ in self.kv.iterate(P_SMT_ROOT):
            return _read_u64(key, len(P_SMT_ROOT))
        return None

    def root(self, version: int) -> bytes:
        return self._root_ref(version)[0]

    def _root_ref(self, version: int) -> Ref:
        if not 0 <= version <= _MAX_VERSION:
            raise StateTreeError("STATE_HEIGHT_UNKNOWN", f"no state tree at height {version}")
        raw = self.kv.get(P_SMT_ROOT + _u64(version))
        if raw is not None:
            return _decode_ref(raw)
        oldest = self.oldest_version()
        if oldest is not None and version < oldest:
            raise StateTreeError(
                "STATE_HEIGHT_PRUNED", f"state at height {version} is pruned (oldest {oldest})"
            )
        raise StateTreeError("STATE_HEIGHT_UNKNOWN", f"no state tree at height {version}")

    # -- writing -------------------------------------------------------------------------------

    def prepare(
        self,
        version: int,
        writes: Mapping[str, bytes | None],
        pending: Sequence[TreeUpdate] = (),
    ) -> TreeUpdate:
        """The tree after `writes` (encoded values, None = delete) on top of the parent version:
        pending[0] when given (uncommitted ancestors, parent first), else the latest written."""
        parent_version, parent_root = self._parent(pending)
        if not 0 <= version <= _MAX_VERSION:
            raise StateTreeError("STATE_TREE_VERSION", f"version {version} is not a u64 height")
        if parent_version is not None and version != parent_version + 1:
            raise StateTreeError(
                "STATE_TREE_VERSION", f"version {version} does not follow {parent_version}"
            )
        ordered = sorted(
            (_write(key, value) for key, value in writes.items()), key=lambda write: write.path
        )
        changes = apply_writes(parent_root, version, ordered, self._loader(pending))
        nodes = {(depth, prefix): node for depth, prefix, node in changes.written}
        return TreeUpdate(version, parent_root[0], changes.root, nodes, changes.stale)

    def _parent(self, pending: Sequence[TreeUpdate]) -> tuple[int | None, Ref]:
        if pending:
            return pending[0].version, pending[0].root_ref
        latest = self.latest_version()
        if latest is None:
            return None, EMPTY_REF  # an empty tree starts at any version
        return latest, self._root_ref(latest)

    def commit(self, update: TreeUpdate) -> int:
        """Write `update` on its own (it must follow the latest version), then `committed`."""
        latest = self.latest_version()
        if latest is not None and update.version != latest + 1:
            raise StateTreeError(
                "STATE_TREE_VERSION", f"version {update.version} does not follow {latest}"
            )
        if latest is not None and self.root(latest) != update.parent_root:
            raise StateTreeError(
                "STATE_TREE_VERSION", f"version {update.version} was computed on another parent"
            )
        self.kv.write(update.puts(), sync=True)
        return self.committed(update)

    def committed(self, update: TreeUpdate) -> int:
        """After `update.puts()` is on disk: keep its nodes at hand for the next block, and
        prune to the last `keep_versions`; return how many stale nodes were deleted."""
        version = update.version
        for (depth, prefix), node in update.nodes.items():
            self._cache.put((version, depth, prefix), node)
        if self.keep_versions is None:
            return 0
        return self.prune(update.version - self.keep_versions + 1)

    def prune(self, oldest_kept: int) -> int:
        """Make versions before `oldest_kept` unprovable and delete the nodes only they used.

        The root pointers go first, in one batch, so a crash halfway leaves only unreachable
        nodes behind, which the next pruning deletes. The tip is always kept.
        """
        latest = self.latest_version()
        if latest is None:
            return 0
        oldest_kept = min(oldest_kept, latest)
        old_roots: dict[bytes, bytes | None] = {}
        for key, _ in self.kv.iterate(P_SMT_ROOT):
            if _read_u64(key, len(P_SMT_ROOT)) >= oldest_kept:
                break
            old_roots[key] = None
        if old_roots:
            self.kv.write(old_roots, sync=True)
        deleted = 0
        while (record := self._first_stale_record(oldest_kept)) is not None:
            stale_key, ids = record
            deletes: dict[bytes, bytes | None] = {P_SMT_NODE + node_id: None for node_id in ids}
            deletes[stale_key] = None
            self.kv.write(deletes, sync=False)  # one version's worth: memory follows a block
            deleted += len(ids)
        return deleted

    def _first_stale_record(self, oldest_kept: int) -> tuple[bytes, list[bytes]] | None:
        """The oldest version's list of dropped nodes, if no version from `oldest_kept` uses
        them: a node dropped by version v is used by versions before v only."""
        for key, raw in self.kv.iterate(P_SMT_STALE):
            if _read_u64(key, len(P_SMT_STALE)) > oldest_kept:
                return None
            return key, _split_ids(raw)
        return None

    # -- reading -------------------------------------------------------------------------------

    def _loader(self, pending: Sequence[TreeUpdate]) -> NodeLoader:
        overlays = {update.version: update.nodes for update in pending}
        cache = self._cache

        def load(ref: Ref, depth: int, prefix: int) -> Node:
            version = ref[1]
            overlay = overlays.get(version)
            node = None if overlay is None else overlay.get((depth, prefix))
            if node is not None:
                return node
            key = (version, depth, prefix)
            node = cache.get(key)
            if node is None:
                raw = self.kv.get(node_key(version, depth, prefix))
                if raw is None:
                    raise StoreError(f"state tree node v{ref[1]} depth {depth} is missing")
                node = decode_node(raw, ref)
                cache.put(key, node)
            return node

        return load

    def prove(self, key: str, version: int) -> StateProof:
        """The proof of `key`'s value (or absence) in the state after block `version`."""
        try:
            return self._walk(key, self._root_ref(version))
        except StoreError:
            self._root_ref(version)  # pruned while we walked: say so rather than "missing"
            raise

    def _walk(self, key: str, ref: Ref) -> StateProof:
        path = key_hash(key)
        path_int = int.from_bytes(path, "big")
        load = self._loader(())
        siblings: list[bytes] = []
        depth = 0
        while ref[0] != EMPTY_HASH:
            node = load(ref, depth, path_int >> (PATH_BITS - depth))
            if isinstance(node, LeafNode):
                bottom_up = tuple(reversed(siblings))
                if node.path == path_int:
                    return StateProof(key, node.value, bottom_up)
                return StateProof(key, None, bottom_up, OtherLeaf(node.key_hash, node.value_hash))
            left, right = node
            if inner_hash(left[0], right[0]) != ref[0]:  # what we serve, we check
                raise StoreError(f"state tree node v{ref[1]} does not match its parent's hash")
            ref, sibling = (right, left) if path_bit(path, depth) else (left, right)
            siblings.append(sibling[0])
            depth += 1
        return StateProof(key, None, tuple(reversed(siblings)))


class _NodeCache:
    """At most `size` decoded nodes in two generations: new entries go to the young one, which
    becomes the old one when full (the previous old one is dropped), and a hit in the old one
    moves back to the young one. O(1) per operation, unlike evicting a dict's first key."""

    def __init__(self, size: int) -> None:
        self._half = max(1, size // 2)
        self._young: dict[NodeId, Node] = {}
        self._old: dict[NodeId, Node] = {}

    def get(self, key: NodeId) -> Node | None:
        node = self._young.get(key)
        if node is None:
            node = self._old.pop(key, None)
            if node is not None:
                self.put(key, node)
        return node

    def put(self, key: NodeId, node: Node) -> None:
        if len(self._young) >= self._half:
            self._old, self._young = self._young, {}
        self._young[key] = node


# -- records -----------------------------------------------------------------------------------


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _read_u64(raw: bytes, offset: int) -> int:
    value: int = struct.unpack_from(">Q", raw, offset)[0]
    return value


def _node_id(version: int, depth: int, prefix: int) -> bytes:
    """u64 version, u16 depth, then the path's first `depth` bits, left-aligned in bytes."""
    size = (depth + 7) >> 3
    return _NODE_ID.pack(version, depth) + (prefix << ((size << 3) - depth)).to_bytes(size, "big")


def _split_ids(raw: bytes) -> list[bytes]:
    """The node ids concatenated in a stale record (each one's length follows from its depth)."""
    ids, at = [], 0
    while at < len(raw):
        if at + _NODE_ID.size > len(raw):
            raise StoreError("state tree stale record is malformed")
        (depth,) = struct.unpack_from(">H", raw, at + 8)
        size = _NODE_ID.size + (depth + 7) // 8
        ids.append(raw[at : at + size])
        at += size
    return ids


def node_key(version: int, depth: int, prefix: int) -> bytes:
    return P_SMT_NODE + _node_id(version, depth, prefix)


def _write(key: str, value: bytes | None) -> Write:
    if value is None:
        return Write(int.from_bytes(key_hash(key), "big"), None)
    leaf = LeafNode.of(utf8_key(key), value)
    return Write(leaf.path, leaf)


def encode_node(node: Node) -> bytes:
    """Leaf: 0x00, u32 key length, key, value. Inner: 0x01, child kinds, hashes, versions."""
    if isinstance(node, LeafNode):
        return bytes([_LEAF]) + struct.pack(">I", len(node.key)) + node.key + node.value
    (left_hash, left_version, left_leaf), (right_hash, right_version, right_leaf) = node
    kinds = int(left_leaf) | int(right_leaf) << 1
    return _INNER_RECORD.pack(_INNER, kinds, left_hash, right_hash, left_version, right_version)


def decode_node(raw: bytes, ref: Ref) -> Node:
    """The node `ref` names. Its hash is the parent's (checked against the parent's digest by
    every proof and every replica's root); a leaf's key and value are re-hashed, and a record
    of the wrong kind or shape means a damaged store."""
    if ref[2]:
        if raw[:1] != bytes([_LEAF]) or len(raw) < 5:
            raise StoreError(f"state tree node v{ref[1]} should be a leaf")
        (key_length,) = struct.unpack_from(">I", raw, 1)
        leaf = LeafNode.of(raw[5 : 5 + key_length], raw[5 + key_length :])
        if leaf.hash != ref[0]:
            raise StoreError(f"state tree leaf v{ref[1]} does not match its parent's hash")
        return leaf
    if raw[:1] != bytes([_INNER]) or len(raw) != _INNER_RECORD.size:
        raise StoreError(f"state tree node v{ref[1]} should be an inner node")
    _, kinds, left_hash, right_hash, left_version, right_version = _INNER_RECORD.unpack(raw)
    return (left_hash, left_version, bool(kinds & 1)), (right_hash, right_version, bool(kinds & 2))


def _encode_ref(ref: Ref) -> bytes:
    return bytes([int(ref[2])]) + ref[0] + _u64(ref[1])


def _decode_ref(raw: bytes) -> Ref:
    if len(raw) != 41:
        raise StoreError("state tree root pointer is malformed")
    return raw[1:33], _read_u64(raw, 33), bool(raw[0])
