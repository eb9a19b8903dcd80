"""One block's write-set applied to the state tree in a single pass (a batch, not key by key).

The writes are sorted by path and the old tree is walked once from the root: a subtree with no
write below it is kept as it is (its hash, its node on disk), and every node above two or more
writes is hashed once, whatever their number. Only the nodes on written paths are loaded, so
memory follows the write-set, not the tree.

Compaction is kept as an invariant of every subtree the walk returns: a new leaf travels up
*unplaced* until the first inner node that needs it as a child (or the root), where it is
written at that depth; a kept leaf whose sibling subtree empties is read back and moved up the
same way. So no chain of single-child inner nodes ends in a leaf, and a deleted key leaves no
trace. Every old node that the new version no longer uses is reported stale, for pruning.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.errors import StoreError
from ledger.smt import EMPTY_HASH, EMPTY_REF, PATH_BITS, Inner, LeafNode, Node, Ref, inner_hash

NodeLoader = Callable[[Ref, int, int], Node]
"""Load the node `ref` names, at (depth, prefix): prefix is the path's first `depth` bits."""

PlacedNode = tuple[int, int, Node]
"""(depth, prefix, node): a node the new version writes."""

StaleNode = tuple[int, int, int]
"""(version, depth, prefix): an old node the new version no longer uses."""


@dataclass(frozen=True, slots=True)
class Write:
    """A key to set (`leaf`) or delete (`leaf` None), ordered by its path."""

    path: int
    leaf: LeafNode | None


@dataclass(frozen=True, slots=True)
class TreeChanges:
    root: Ref
    written: tuple[PlacedNode, ...]
    stale: tuple[StaleNode, ...]


# What a walk returns for a subtree: a placed node (a Ref, possibly EMPTY_REF), or a leaf that
# is alone in the subtree and not written yet (its depth depends on the levels above).
Subtree = Ref | LeafNode


def apply_writes(root: Ref, version: int, writes: Sequence[Write], load: NodeLoader) -> TreeChanges:
    """Apply `writes` (sorted by path, one per key) to the tree at `root`, as `version`."""
    batch = _Batch(version, writes, load)
    top = batch.update(root, 0, 0, len(writes))
    return TreeChanges(batch.place(top, 0, 0), tuple(batch.written), tuple(batch.stale))


def _is_empty(subtree: Subtree) -> bool:
    return type(subtree) is tuple and subtree[0] == EMPTY_HASH


def _is_leaf(subtree: Subtree) -> bool:
    return type(subtree) is not tuple or subtree[2]


def _leaf_path(leaf: LeafNode) -> int:
    return leaf.path


class _Batch:
    """The walk's state: the sorted writes, the loader, and what it writes and drops."""

    def __init__(self, version: int, writes: Sequence[Write], load: NodeLoader) -> None:
        self.version = version
        self.writes = writes
        self.paths = [write.path for write in writes]
        self.load = load
        self.written: list[PlacedNode] = []
        self.stale: list[StaleNode] = []

    def update(self, ref: Ref, depth: int, lo: int, hi: int) -> Subtree:
        """The subtree at `ref` (depth `depth`) after writes[lo:hi], which all fall inside it."""
        if lo == hi:
            return ref
        if ref[0] == EMPTY_HASH:
            return self.build(depth, [w.leaf for w in self.writes[lo:hi] if w.leaf is not None])
        prefix = self.paths[lo] >> (PATH_BITS - depth)
        node = self.load(ref, depth, prefix)
        if isinstance(node, LeafNode):
            return self.update_leaf(ref, node, depth, prefix, lo, hi)
        old_left, old_right = node
        mid = bisect_left(self.paths, (2 * prefix + 1) << (PATH_BITS - depth - 1), lo, hi)
        left = self.update(old_left, depth + 1, lo, mid) if lo < mid else old_left
        right = self.update(old_right, depth + 1, mid, hi) if mid < hi else old_right
        if left == old_left and right == old_right:
            return ref  # every write below was a no-op
        self.stale.append((ref[1], depth, prefix))
        return self.join(depth, prefix, left, right)

    def update_leaf(
        self, ref: Ref, leaf: LeafNode, depth: int, prefix: int, lo: int, hi: int
    ) -> Subtree:
        """A subtree that was one leaf: rebuild it from that leaf and the writes below."""
        at = bisect_left(self.paths, leaf.path, lo, hi)
        kept = at == hi or self.paths[at] != leaf.path  # no write replaces the old leaf
        leaves = [w.leaf for w in self.writes[lo:at] if w.leaf is not None]
        if kept:
            leaves.append(leaf)
        leaves += [w.leaf for w in self.writes[at:hi] if w.leaf is not None]
        if len(leaves) == 1 and leaves[0].hash == ref[0]:
            return ref  # the same leaf alone, where it was
        self.stale.append((ref[1], depth, prefix))
        return self.build(depth, leaves)

    def build(self, depth: int, leaves: list[LeafNode]) -> Subtree:
        """A fresh subtree at `depth` over `leaves` (sorted by path, sharing `depth` bits)."""
        if not leaves:
            return EMPTY_REF
        if len(leaves) == 1:
            return leaves[0]
        prefix = leaves[0].path >> (PATH_BITS - depth)
        right_start = (2 * prefix + 1) << (PATH_BITS - depth - 1)
        mid = bisect_left(leaves, right_start, key=_leaf_path)
        left = self.build(depth + 1, leaves[:mid])
        right = self.build(depth + 1, leaves[mid:])
        return self.join(depth, prefix, left, right)

    def join(self, depth: int, prefix: int, left: Subtree, right: Subtree) -> Subtree:
        """The subtree at (depth, prefix) over two child subtrees, compacted."""
        if _is_empty(left):
            if _is_empty(right):
                return EMPTY_REF
            if _is_leaf(right):
                return self.lift(right, depth + 1, 2 * prefix + 1)
        elif _is_empty(right) and _is_leaf(left):
            return self.lift(left, depth + 1, 2 * prefix)
        inner: Inner = (
            left if type(left) is tuple else self.place(left, depth + 1, 2 * prefix),
            right if type(right) is tuple else self.place(right, depth + 1, 2 * prefix + 1),
        )
        self.written.append((depth, prefix, inner))
        return (inner_hash(inner[0][0], inner[1][0]), self.version, False)

    def lift(self, subtree: Subtree, depth: int, prefix: int) -> LeafNode:
        """A leaf that is now alone one level up: unplace it (reading it back if it was kept)."""
        if isinstance(subtree, LeafNode):
            return subtree
        node = self.load(subtree, depth, prefix)
        self.stale.append((subtree[1], depth, prefix))
        if not isinstance(node, LeafNode):
            raise StoreError(f"state tree node at depth {depth} is named a leaf but is not one")
        return node

    def place(self, subtree: Subtree, depth: int, prefix: int) -> Ref:
        """Write an unplaced leaf at (depth, prefix); a placed subtree stays as it is."""
        if isinstance(subtree, LeafNode):
            self.written.append((depth, prefix, subtree))
            return (subtree.hash, self.version, True)
        return subtree
