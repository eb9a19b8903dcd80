"""The state tree on disk: every version's nodes appended under (version, depth, path prefix).

A block writes only the nodes its write-set changed, under its own height, and never overwrites
a key; an inner node names each child by hash, version and kind, so any retained version is
walked from its root pointer with direct reads. An old node a version stops using is indexed
by that version ("stale since"), which is what pruning deletes once no retained version needs it.
The flat key -> value layout of `ledger.chain` stays beside the tree for reads.

How the executor uses it, per block at height h (the switch of DESIGN.md §6):

    update = tree.prepare(h, encode_writes(overlay.writes), pending=uncommitted_ancestors)
    header.state_root == update.root            # computed before preparing, like the other roots
    ... commit: write update.puts() in the same batch as the block, then tree.prune_for(h)

`pending` are the TreeUpdates of the uncommitted blocks the new one builds on, parent first (the
executor already keeps them per block hash); genesis is `prepare(0, encode_writes(state))`.
`commit(update)` does the write and the pruning itself, for callers without a batch of their own.

Layout (the "v2" of the second release):
    v2/smt/n/ + u64 version + u16 depth + prefix bytes -> node record
    v2/smt/s/ + u64 stale-since version + the node's id -> b""
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
    EMPTY_REF,
    ChildRef,
    InnerNode,
    LeafNode,
    Node,
    OtherLeaf,
    StateProof,
    key_hash,
    path_bit,
)
from ledger.smt_update import NodeLoader, Write, apply_writes
from ledger.store import KeyValueStore

P_SMT_NODE = b"v2/smt/n/"
P_SMT_STALE = b"v2/smt/s/"
P_SMT_ROOT = b"v2/smt/r/"

_LEAF, _INNER = 0, 1
_PRUNE_CHUNK = 4096  # stale nodes deleted per write batch, so pruning holds little in memory


class StateTreeError(TallyError):
    """A version the tree cannot answer for (pruned, not yet written) or cannot append."""


def encode_writes(writes: Mapping[str, Any]) -> dict[str, bytes | None]:
    """A block's write-set (None = deleted) with each value in its canonical encoding."""
    return {key: None if value is None else codec.encode(value) for key, value in writes.items()}


@dataclass(frozen=True, slots=True)
class TreeUpdate:
    """One version of the tree, computed but not written: its root and the records to put."""

    version: int
    root_ref: ChildRef
    nodes: dict[bytes, bytes]  # node key -> record, every one new at `version`
    stale: tuple[bytes, ...]  # stale-index keys of the old nodes this version drops

    @property
    def root(self) -> bytes:
        return self.root_ref.hash

    def puts(self) -> dict[bytes, bytes | None]:
        """Everything to write, in one batch with the block, for this version to exist."""
        puts: dict[bytes, bytes | None] = dict(self.nodes)
        for key in self.stale:
            puts[key] = b""
        puts[P_SMT_ROOT + _u64(self.version)] = _encode_ref(self.root_ref)
        return puts


class StateTree:
    """Versioned sparse Merkle tree over a `KeyValueStore`; `keep_versions` None keeps all."""

    def __init__(self, kv: KeyValueStore, *, keep_versions: int | None = None) -> None:
        if keep_versions is not None and keep_versions < 1:
            raise ValueError("keep_versions must be at least 1")
        self.kv = kv
        self.keep_versions = keep_versions

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
        return self._root_ref(version).hash

    def _root_ref(self, version: int) -> ChildRef:
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
        if parent_version is not None and version != parent_version + 1:
            raise StateTreeError(
                "STATE_TREE_VERSION", f"version {version} does not follow {parent_version}"
            )
        ordered = sorted(
            (_write(key, value) for key, value in writes.items()),
            key=lambda write: write.path,
        )
        changes = apply_writes(parent_root, version, ordered, self._loader(pending))
        nodes = {
            node_key(version, placed.depth, placed.prefix): encode_node(placed.node)
            for placed in changes.written
        }
        stale = tuple(
            P_SMT_STALE + _u64(version) + _node_id(old.version, old.depth, old.prefix)
            for old in changes.stale
        )
        return TreeUpdate(version, changes.root, nodes, stale)

    def _parent(self, pending: Sequence[TreeUpdate]) -> tuple[int | None, ChildRef]:
        if pending:
            return pending[0].version, pending[0].root_ref
        latest = self.latest_version()
        if latest is None:
            return None, EMPTY_REF  # an empty tree starts at any version
        return latest, self._root_ref(latest)

    def commit(self, update: TreeUpdate) -> int:
        """Write `update` on its own (it must follow the latest version); prune; return how
        many stale nodes were deleted."""
        latest = self.latest_version()
        if latest is not None and update.version != latest + 1:
            raise StateTreeError(
                "STATE_TREE_VERSION", f"version {update.version} does not follow {latest}"
            )
        self.kv.write(update.puts(), sync=True)
        return self.prune_for(update.version)

    def prune_for(self, tip: int) -> int:
        """Apply the retention rule after committing `tip`: keep the last `keep_versions`."""
        if self.keep_versions is None:
            return 0
        return self.prune(tip - self.keep_versions + 1)

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
        while chunk := self._stale_chunk(oldest_kept):
            deletes: dict[bytes, bytes | None] = {}
            for stale_key in chunk:
                deletes[stale_key] = None
                deletes[P_SMT_NODE + stale_key[len(P_SMT_STALE) + 8 :]] = None
            self.kv.write(deletes, sync=False)
            deleted += len(chunk)
        return deleted

    def _stale_chunk(self, oldest_kept: int) -> list[bytes]:
        """Up to _PRUNE_CHUNK stale-index keys of nodes no version from `oldest_kept` uses.

        A node dropped by version v is used by versions before v only, so it can go once
        v <= oldest_kept.
        """
        chunk: list[bytes] = []
        for key, _ in self.kv.iterate(P_SMT_STALE):
            if _read_u64(key, len(P_SMT_STALE)) > oldest_kept or len(chunk) >= _PRUNE_CHUNK:
                break
            chunk.append(key)
        return chunk

    # -- reading -------------------------------------------------------------------------------

    def _loader(self, pending: Sequence[TreeUpdate]) -> NodeLoader:
        overlays = [update.nodes for update in pending]

        def load(ref: ChildRef, depth: int, prefix: int) -> Node:
            key = node_key(ref.version, depth, prefix)
            raw = None
            for nodes in overlays:
                raw = nodes.get(key)
                if raw is not None:
                    break
            if raw is None:
                raw = self.kv.get(key)
            if raw is None:
                raise StoreError(f"state tree node v{ref.version} depth {depth} is missing")
            return decode_node(raw, ref)

        return load

    def prove(self, key: str, version: int) -> StateProof:
        """The proof of `key`'s value (or absence) in the state after block `version`."""
        try:
            return self._walk(key, self._root_ref(version))
        except StoreError:
            self._root_ref(version)  # pruned while we walked: say so rather than "missing"
            raise

    def _walk(self, key: str, ref: ChildRef) -> StateProof:
        path = key_hash(key)
        path_int = int.from_bytes(path, "big")
        load = self._loader(())
        siblings: list[bytes] = []
        depth = 0
        while not ref.is_empty:
            node = load(ref, depth, path_int >> (256 - depth))
            if isinstance(node, LeafNode):
                bottom_up = tuple(reversed(siblings))
                if node.key_hash == path:
                    return StateProof(key, node.value, bottom_up)
                return StateProof(key, None, bottom_up, OtherLeaf(node.key_hash, node.value_hash))
            ref, sibling = (
                (node.right, node.left) if path_bit(path, depth) else (node.left, node.right)
            )
            siblings.append(sibling.hash)
            depth += 1
        return StateProof(key, None, tuple(reversed(siblings)))


# -- records -----------------------------------------------------------------------------------


def _u64(value: int) -> bytes:
    return struct.pack(">Q", value)


def _read_u64(raw: bytes, offset: int) -> int:
    value: int = struct.unpack_from(">Q", raw, offset)[0]
    return value


def _node_id(version: int, depth: int, prefix: int) -> bytes:
    """u64 version, u16 depth, then the path's first `depth` bits, left-aligned in bytes."""
    size = (depth + 7) // 8
    return struct.pack(">QH", version, depth) + (prefix << (size * 8 - depth)).to_bytes(size, "big")


def node_key(version: int, depth: int, prefix: int) -> bytes:
    return P_SMT_NODE + _node_id(version, depth, prefix)


def _write(key: str, value: bytes | None) -> Write:
    if value is None:
        return Write(int.from_bytes(key_hash(key), "big"), None)
    leaf = LeafNode.of(key.encode(), value)
    return Write(leaf.path, leaf)


def encode_node(node: Node) -> bytes:
    """Leaf: 0x00, u32 key length, key, value. Inner: 0x01, kinds, hashes, versions."""
    if isinstance(node, LeafNode):
        return bytes([_LEAF]) + struct.pack(">I", len(node.key)) + node.key + node.value
    kinds = int(node.left.is_leaf) | int(node.right.is_leaf) << 1
    return (
        bytes([_INNER, kinds])
        + node.left.hash
        + node.right.hash
        + struct.pack(">QQ", node.left.version, node.right.version)
    )


def decode_node(raw: bytes, ref: ChildRef) -> Node:
    """The node `ref` names; a record whose hash or kind differs means a damaged store."""
    node: Node
    if raw[:1] == bytes([_LEAF]) and len(raw) >= 5:
        (key_length,) = struct.unpack_from(">I", raw, 1)
        node = LeafNode.of(raw[5 : 5 + key_length], raw[5 + key_length :])
    elif raw[:1] == bytes([_INNER]) and len(raw) == 82:
        kinds = raw[1]
        left_version, right_version = struct.unpack_from(">QQ", raw, 66)
        node = InnerNode.of(
            ChildRef(raw[2:34], left_version, bool(kinds & 1)),
            ChildRef(raw[34:66], right_version, bool(kinds & 2)),
        )
    else:
        raise StoreError("state tree node record is malformed")
    if node.hash != ref.hash or isinstance(node, LeafNode) != ref.is_leaf:
        raise StoreError(f"state tree node v{ref.version} does not match its parent's hash")
    return node


def _encode_ref(ref: ChildRef) -> bytes:
    return bytes([int(ref.is_leaf)]) + ref.hash + _u64(ref.version)


def _decode_ref(raw: bytes) -> ChildRef:
    if len(raw) != 41:
        raise StoreError("state tree root pointer is malformed")
    return ChildRef(raw[1:33], _read_u64(raw, 33), bool(raw[0]))
