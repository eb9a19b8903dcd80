"""Snapshot sync, the serving half and the proofs (DESIGN.md §7): the state at height H in chunks.

A chunk is a run of leaves of the state tree's version H in path order (path = sha256 of the
key), the ones whose path follows `after`, capped in keys and bytes. Version H of the tree is
immutable (nodes are appended under their version, and pruning deletes only what no retained
version uses), so a node serves a consistent view of H while it goes on committing; the flat
key -> value table, which moves with every block, is never read for it.

With every chunk but the last comes the existence proof of its last leaf at H. It binds the
whole chunk to the certified root: the proof's siblings on the left of that leaf's path are the
subtrees of every smaller path, which the receiver holds already (earlier chunks and this one)
and recomputes, so a chunk that drops, adds or alters a key fails at once (ledger.snapshot_build).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ledger.errors import StoreError
from ledger.smt import EMPTY_HASH, PATH_BITS, LeafNode, Ref, inner_hash
from ledger.smt_store import P_SMT_ROOT, StateTree, decode_node, node_key
from ledger.store import KeyValueStore

LEAF_OVERHEAD = 16  # bytes a leaf costs in a chunk beyond its key and value (msgpack headers)
MAX_PATH = (1 << PATH_BITS) - 1


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    """Leaves of version `height` after some path, in path order; `siblings` (bottom-up) prove
    the last one when `more` is true, and are empty on the last chunk."""

    height: int
    leaves: tuple[tuple[bytes, bytes], ...]  # (UTF-8 key, canonical value)
    more: bool
    siblings: tuple[bytes, ...] = ()

    def size(self) -> int:
        return sum(len(key) + len(value) + LEAF_OVERHEAD for key, value in self.leaves)


def root_ref(kv: KeyValueStore, version: int) -> Ref:
    """Version `version`'s root pointer: (hash, version written, is a leaf)."""
    raw = kv.get(P_SMT_ROOT + struct.pack(">Q", version))
    if raw is None or len(raw) != 41:
        raise StoreError(f"no state tree root at height {version}")
    return raw[1:33], struct.unpack_from(">Q", raw, 33)[0], bool(raw[0])


def encode_root_ref(ref: Ref) -> bytes:
    """The root pointer record of `ledger.smt_store` (kind, hash, version)."""
    return bytes([int(ref[2])]) + ref[0] + struct.pack(">Q", ref[1])


def leaves_after(
    kv: KeyValueStore, root: Ref, after: int | None, max_bytes: int, max_keys: int
) -> tuple[list[LeafNode], bool]:
    """The leaves under `root` whose path exceeds `after` (all if None), in path order, up to
    `max_keys` and `max_bytes` (at least one, whatever its size); and whether more follow.

    A depth-first walk, left child first, that skips every subtree wholly at or before `after`:
    it reads the nodes on the cursor's path and those of the leaves it returns, nothing else."""
    leaves: list[LeafNode] = []
    size = 0
    stack: list[tuple[Ref, int, int]] = [(root, 0, 0)]
    while stack:
        ref, depth, prefix = stack.pop()
        if ref[0] == EMPTY_HASH:
            continue
        span = PATH_BITS - depth
        if after is not None and ((prefix + 1) << span) - 1 <= after:
            continue
        raw = kv.get(node_key(ref[1], depth, prefix))
        if raw is None:
            raise StoreError(f"state tree node v{ref[1]} depth {depth} is missing")
        node = decode_node(raw, ref)
        if isinstance(node, LeafNode):
            if after is not None and node.path <= after:
                continue
            cost = len(node.key) + len(node.value) + LEAF_OVERHEAD
            if leaves and (len(leaves) >= max_keys or size + cost > max_bytes):
                return leaves, True
            leaves.append(node)
            size += cost
            continue
        left, right = node
        if inner_hash(left[0], right[0]) != ref[0]:  # what we serve, we check
            raise StoreError(f"state tree node v{ref[1]} does not match its parent's hash")
        stack.append((right, depth + 1, 2 * prefix + 1))
        stack.append((left, depth + 1, 2 * prefix))
    return leaves, False


def serve_chunk(
    tree: StateTree, height: int, after: int | None, max_bytes: int, max_keys: int
) -> SnapshotChunk:
    """The chunk of version `height` after path `after`, with the proof of its last leaf.

    Raises StateTreeError (STATE_HEIGHT_PRUNED / STATE_HEIGHT_UNKNOWN) for a height we do not
    hold; a version pruned while we walk it surfaces the same way."""
    tree.root(height)  # the coded error for a height we cannot answer for
    try:
        leaves, more = leaves_after(tree.kv, root_ref(tree.kv, height), after, max_bytes, max_keys)
        siblings: tuple[bytes, ...] = ()
        if more:
            siblings = tree.prove(leaves[-1].key.decode(), height).siblings
    except StoreError:
        tree.root(height)  # pruned under us: say so rather than "missing"
        raise
    pairs = tuple((leaf.key, leaf.value) for leaf in leaves)
    return SnapshotChunk(height, pairs, more, siblings)
