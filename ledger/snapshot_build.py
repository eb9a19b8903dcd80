"""Snapshot sync, the receiving half: rebuild the state tree of height H from checked chunks.

Chunks arrive in path order (ledger.snapshot). Each is applied to the tree built so far with the
batch update of `ledger.smt_update`, all nodes written under version H, and checked before a
byte of it is written: against the existence proof of its last leaf (every subtree left of that
leaf's path must be ours, recomputed), and the last chunk against the certified root itself. A
chunk that fails raises `BadChunk` and leaves the store as it was, so the next peer is asked
for the same range. Memory follows one chunk: earlier nodes are read back from the store.

Progress (the target, the partial root, the last path applied, counts) goes down in the same
batch as each chunk's nodes and its keys and values (under a staging prefix: the flat state of
the old tip stays as it was until the install), so a crash resumes after the last chunk written.
Installing: one batch makes H the tip (`ChainStore.adopt_snapshot`, phase "switched"); then the
flat state is replaced by the staged one, and the staging area and the old tree's nodes are
deleted, in bounded batches, each phase recorded; a crash in between finishes on the next start
(`resume_install`), before anything reads state.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace

from ledger import codec
from ledger.chain import P_META, P_STATE, ChainStore, ChainTip
from ledger.errors import DecodeError, StoreError, TallyError
from ledger.smt import EMPTY_HASH, EMPTY_REF, PATH_BITS, LeafNode, Node, Ref, StateProof, path_bit
from ledger.smt_store import P_SMT_NODE, P_SMT_ROOT, P_SMT_STALE, decode_node, encode_node, node_key
from ledger.smt_update import Write, apply_writes
from ledger.snapshot import MAX_PATH, SnapshotChunk, encode_root_ref
from ledger.store import KeyValueStore
from ledger.types import Block, Certificate

P_SNAPSHOT = P_META + b"snapshot"  # the progress of a snapshot being fetched or installed
P_SNAPSHOT_STATE = b"v2/snap/st/"  # key -> value of the chunks applied: the flat state to be
# Phases: chunks being fetched; all applied (the root matched); H made the tip; flat state copied.
FETCHING, REBUILT, SWITCHED, COPIED = "fetching", "rebuilt", "switched", "copied"
BATCH_KEYS = 4096  # records per batch when the install rewrites or deletes in bulk


class BadChunk(TallyError):
    """A chunk that does not belong to the certified state: the peer that sent it lied."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_SNAPSHOT_CHUNK", message)


@dataclass(frozen=True, slots=True)
class SnapshotTarget:
    """The certified point restored: block H (checked against its certificate by the caller),
    the certificate, and the event count its server reported (numbering only, not state)."""

    block: bytes
    certificate: bytes
    event_seq: int


@dataclass(frozen=True, slots=True)
class SnapshotProgress:
    height: int
    state_root: bytes
    target: SnapshotTarget
    root: Ref = EMPTY_REF  # the tree of the leaves applied so far
    after: int | None = None  # the last path applied
    keys: int = 0
    chunks: int = 0
    size: int = 0
    phase: str = FETCHING

    def encode(self) -> bytes:
        target = self.target
        return codec.encode(
            {
                "height": self.height,
                "state_root": self.state_root,
                "block": target.block,
                "certificate": target.certificate,
                "event_seq": target.event_seq,
                "root": encode_root_ref(self.root),
                "after": None if self.after is None else self.after.to_bytes(32, "big"),
                "counts": [self.keys, self.chunks, self.size],
                "phase": self.phase,
            }
        )

    @staticmethod
    def decode(raw: bytes) -> SnapshotProgress:
        try:
            value = codec.decode(raw)
            ref = value["root"]
            after = value["after"]
            keys, chunks, size = value["counts"]
            return SnapshotProgress(
                value["height"],
                value["state_root"],
                SnapshotTarget(value["block"], value["certificate"], value["event_seq"]),
                (ref[1:33], struct.unpack_from(">Q", ref, 33)[0], bool(ref[0])),
                None if after is None else int.from_bytes(after, "big"),
                keys,
                chunks,
                size,
                value["phase"],
            )
        except (DecodeError, KeyError, TypeError, ValueError, struct.error):
            raise StoreError("the snapshot progress record is damaged") from None


def load_progress(store: ChainStore) -> SnapshotProgress | None:
    raw = store.kv.get(P_SNAPSHOT)
    return None if raw is None else SnapshotProgress.decode(raw)


def start_progress(store: ChainStore, height: int, target: SnapshotTarget) -> SnapshotProgress:
    """A fresh snapshot of `height` (the target checked by the caller), recorded."""
    header = Block.decode(target.block).header
    progress = SnapshotProgress(height, header.state_root, target)
    store.kv.write({P_SNAPSHOT: progress.encode()}, sync=True)
    return progress


class SnapshotBuilder:
    """Applies chunks in order to the partial tree of `progress.height`, checking each."""

    def __init__(self, kv: KeyValueStore, progress: SnapshotProgress) -> None:
        self.kv = kv
        self.progress = progress

    @staticmethod
    def on(store: ChainStore, progress: SnapshotProgress) -> SnapshotBuilder:
        return SnapshotBuilder(store.kv, progress)

    @property
    def complete(self) -> bool:
        return self.progress.phase != FETCHING

    def apply(self, chunk: SnapshotChunk) -> SnapshotProgress:
        """Check `chunk` (the one after our last path) and write it with the new progress."""
        progress = self.progress
        if chunk.height != progress.height or self.complete:
            raise BadChunk(f"a chunk of height {chunk.height}, not the one asked for")
        if chunk.more and not chunk.leaves:
            raise BadChunk("an empty chunk that says more follow")
        leaves = _ordered_leaves(chunk, progress.after)
        changes = apply_writes(
            progress.root, progress.height, [Write(leaf.path, leaf) for leaf in leaves], self._load
        )
        written = {(depth, prefix): node for depth, prefix, node in changes.written}
        if chunk.more:
            self._check_proof(leaves[-1], chunk.siblings, changes.root, written)
        elif changes.root[0] != progress.state_root:
            raise BadChunk(f"the state rebuilt at height {progress.height} is not its root")
        puts: dict[bytes, bytes | None] = {
            node_key(progress.height, depth, prefix): encode_node(node)
            for (depth, prefix), node in written.items()
        }
        self.progress = replace(
            progress,
            root=changes.root,
            after=leaves[-1].path if leaves else MAX_PATH,
            keys=progress.keys + len(leaves),
            chunks=progress.chunks + 1,
            size=progress.size + chunk.size(),
            phase=FETCHING if chunk.more else REBUILT,
        )
        for leaf in leaves:
            puts[P_SNAPSHOT_STATE + leaf.key] = leaf.value
        puts[P_SNAPSHOT] = self.progress.encode()
        self.kv.write(puts, sync=True)
        return self.progress

    def _load(self, ref: Ref, depth: int, prefix: int) -> Node:
        raw = self.kv.get(node_key(ref[1], depth, prefix))
        if raw is None:
            raise StoreError(f"snapshot tree node at depth {depth} is missing")
        return decode_node(raw, ref)

    def _check_proof(
        self,
        last: LeafNode,
        siblings: tuple[bytes, ...],
        root: Ref,
        written: dict[tuple[int, int], Node],
    ) -> None:
        """The chunk's last leaf is in the certified tree, and every subtree on the left of its
        path there is the one we rebuilt: so we hold exactly the keys up to it."""
        proof = StateProof(last.key.decode(), last.value, siblings)
        if not proof.verify(self.progress.state_root):
            raise BadChunk("the proof of the chunk's last key does not fold to the root")
        ours = self._siblings_on_path(last, root, written)
        if len(ours) > len(siblings):
            raise BadChunk("the chunk holds a key its proof says is not there")
        path = last.key_hash
        for depth, theirs in enumerate(reversed(siblings)):
            if path_bit(path, depth):
                expected = ours[depth] if depth < len(ours) else EMPTY_HASH
                if theirs != expected:
                    raise BadChunk(f"keys before the chunk's last one differ (depth {depth})")

    def _siblings_on_path(
        self, leaf: LeafNode, root: Ref, written: dict[tuple[int, int], Node]
    ) -> list[bytes]:
        """Top-down, the sibling hashes from our partial root down to `leaf`."""
        siblings: list[bytes] = []
        ref, depth = root, 0
        path = leaf.key_hash
        while True:
            prefix = leaf.path >> (PATH_BITS - depth)
            node = written.get((depth, prefix))
            if node is None:
                node = self._load(ref, depth, prefix)
            if isinstance(node, LeafNode):
                if node.path != leaf.path:
                    raise StoreError("the snapshot tree lost the leaf it was given")
                return siblings
            left, right = node
            ref, sibling = (right, left) if path_bit(path, depth) else (left, right)
            siblings.append(sibling[0])
            depth += 1


def _ordered_leaves(chunk: SnapshotChunk, after: int | None) -> list[LeafNode]:
    leaves: list[LeafNode] = []
    previous = -1 if after is None else after
    for key, value in chunk.leaves:
        try:
            key.decode()
        except UnicodeDecodeError:
            raise BadChunk("a state key that is not UTF-8") from None
        leaf = LeafNode.of(key, value)
        if leaf.path <= previous:
            raise BadChunk("chunk leaves out of path order, or before the range asked for")
        leaves.append(leaf)
        previous = leaf.path
    return leaves


# -- installing ----------------------------------------------------------------------------


def install(store: ChainStore, progress: SnapshotProgress) -> ChainTip:
    """Make the rebuilt state the tip: one batch switches, then `resume_install` cleans up."""
    if progress.phase != REBUILT:
        raise StoreError(f"the snapshot is {progress.phase}, not rebuilt")
    block = Block.decode(progress.target.block)
    certificate = Certificate.decode(progress.target.certificate)
    switch: dict[bytes, bytes | None] = {
        P_SMT_ROOT + struct.pack(">Q", progress.height): encode_root_ref(progress.root),
        P_SNAPSHOT: replace(progress, phase=SWITCHED).encode(),
    }
    store.adopt_snapshot(block, certificate, progress.target.event_seq, switch)
    tip = resume_install(store)
    if tip is None:
        raise StoreError("the snapshot switch did not land")
    return tip


def resume_install(store: ChainStore) -> ChainTip | None:
    """Finish an install whose switch is written (idempotent; None without one): the flat
    state becomes the staged one, and the tree keeps only version H."""
    kv = store.kv
    progress = load_progress(store)
    if progress is None or progress.phase not in (SWITCHED, COPIED):
        return None
    if progress.phase == SWITCHED:
        _delete_range(kv, P_STATE, None)
        batch: dict[bytes, bytes | None] = {}
        for key, value in kv.iterate(P_SNAPSHOT_STATE):
            batch[P_STATE + key[len(P_SNAPSHOT_STATE) :]] = value
            if len(batch) >= BATCH_KEYS:
                kv.write(batch, sync=False)
                batch = {}
        batch[P_SNAPSHOT] = replace(progress, phase=COPIED).encode()
        kv.write(batch, sync=True)
    _delete_range(kv, P_SNAPSHOT_STATE, None)
    for prefix in (P_SMT_NODE, P_SMT_STALE, P_SMT_ROOT):
        _delete_range(kv, prefix, progress.height)
    kv.write({P_SNAPSHOT: None}, sync=True)
    return store.check_tree()


def abandon(store: ChainStore) -> None:
    """Forget a snapshot not installed yet: its nodes (all under version H), its staged state
    and its progress."""
    kv = store.kv
    progress = load_progress(store)
    if progress is None or progress.phase not in (FETCHING, REBUILT):
        return
    _delete_range(kv, P_SMT_NODE + struct.pack(">Q", progress.height), None)
    _delete_range(kv, P_SNAPSHOT_STATE, None)
    kv.write({P_SNAPSHOT: None}, sync=True)


def _delete_range(kv: KeyValueStore, prefix: bytes, below_version: int | None) -> None:
    """Delete the keys under `prefix` (those whose u64 version after it is below
    `below_version`, when given), a bounded batch at a time."""
    batch: dict[bytes, bytes | None] = {}
    for key, _ in kv.iterate(prefix):
        version_here = struct.unpack_from(">Q", key, len(prefix))[0] if below_version else 0
        if below_version is not None and version_here >= below_version:
            break
        batch[key] = None
        if len(batch) >= BATCH_KEYS:
            kv.write(batch, sync=False)
            batch = {}
    kv.write(batch, sync=True)
