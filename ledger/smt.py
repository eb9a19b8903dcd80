"""The state tree's hashing and proofs (DESIGN.md §6): a compacted binary sparse Merkle tree.

Hashed exactly as the ICS23 `SmtSpec`, so any ICS23 verifier checks an existence proof:

    path(k)   = sha256(utf8(k))                                256 bits, most significant first
    leaf(k,v) = sha256(0x00 || sha256(utf8(k)) || sha256(v))    v = canonical encoding of the value
    inner     = sha256(0x01 || left || right)
    empty     = 32 zero bytes

A subtree holding one leaf is that leaf's hash, at the shallowest depth where its path is alone;
a subtree holding two or more is an inner node, even when one of its children is empty. This
module is the contract a verifier needs (hashes, node shapes, `StateProof`); the batch update is
in `ledger.smt_update` and the nodes on disk in `ledger.smt_store`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import TallyError

LEAF_PREFIX = b"\x00"
INNER_PREFIX = b"\x01"
EMPTY_HASH = bytes(32)
PATH_BITS = 256  # a leaf sits at depth <= 256; inner nodes at depth <= 255


class StateProofError(TallyError):
    """A state proof that cannot be folded into a root (not a proof that fails to match)."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_STATE_PROOF", message)


class StateKeyError(TallyError):
    """A state key that is not valid Unicode text, so it has no UTF-8 bytes to hash."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_STATE_KEY", message)


_sha256 = hashlib.sha256


def key_hash(key: str) -> bytes:
    """sha256(utf8(key)): both the leaf's key commitment and its path in the tree."""
    return _sha256(utf8_key(key)).digest()


def utf8_key(key: str) -> bytes:
    """A state key's UTF-8 bytes; a string that has none (a lone surrogate) is refused."""
    try:
        return key.encode()
    except UnicodeEncodeError:
        raise StateKeyError("a state key must be valid Unicode text") from None


def leaf_hash(key_digest: bytes, value_digest: bytes) -> bytes:
    return _sha256(LEAF_PREFIX + key_digest + value_digest).digest()


def inner_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(INNER_PREFIX + left + right).digest()


def path_bit(path: bytes, depth: int) -> int:
    """Bit `depth` of a 32-byte path, bit 0 the most significant: 0 = left child, 1 = right."""
    return (path[depth >> 3] >> (7 - (depth & 7))) & 1


def common_prefix_bits(a: bytes, b: bytes) -> int:
    """How many leading bits two 32-byte paths share (256 when equal)."""
    differ = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return PATH_BITS - differ.bit_length()


# -- nodes ---------------------------------------------------------------------------------------
# A batch touches ~9 nodes per written key in a tree of 100,000 keys, so node references are
# plain tuples: building a frozen dataclass costs ~50 times a tuple (measured), which made it
# most of the cost of an update.

Ref = tuple[bytes, int, bool]
"""How an inner node (or a version's root pointer) names a child: (hash, the version it was
written at, whether it is a leaf). The empty subtree is EMPTY_REF."""

EMPTY_REF: Ref = (EMPTY_HASH, 0, False)

Inner = tuple[Ref, Ref]
"""An inner node: its (left, right) children; its hash is inner_hash of theirs."""


@dataclass(frozen=True, slots=True)
class LeafNode:
    """One state entry: the key's UTF-8 bytes and the canonical encoding of its value."""

    key: bytes
    value: bytes
    path: int  # sha256(key) as an integer, for cheap bit tests and ordering
    hash: bytes

    @staticmethod
    def of(key: bytes, value: bytes) -> LeafNode:
        digest = hashlib.sha256(key).digest()
        return LeafNode(
            key,
            value,
            int.from_bytes(digest, "big"),
            leaf_hash(digest, hashlib.sha256(value).digest()),
        )

    @property
    def key_hash(self) -> bytes:
        return self.path.to_bytes(32, "big")

    @property
    def value_hash(self) -> bytes:
        return hashlib.sha256(self.value).digest()


Node = LeafNode | Inner


# -- proofs --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OtherLeaf:
    """The leaf found on an absent key's path: its key hash and value hash."""

    key_hash: bytes
    value_hash: bytes


@dataclass(frozen=True, slots=True)
class StateProof:
    """Where `key` stands in the tree of one version: present with `value`, or absent.

    `siblings` run bottom-up: the sibling of the node at the proof's depth first, the root's
    child last (len(siblings) is that depth). An absent key ends in the empty subtree
    (`other` None) or in another key's leaf (`other`) that shares the first len(siblings) bits
    of its path.
    """

    key: str
    value: bytes | None
    siblings: tuple[bytes, ...]
    other: OtherLeaf | None = None

    def implied_root(self) -> bytes:
        """The root this proof folds to; raise StateProofError if it is malformed."""
        return root_from_path(key_hash(self.key), self.value, self.siblings, self.other)

    def verify(self, root: bytes) -> bool:
        """True when the proof is well formed and folds to `root`."""
        try:
            return self.implied_root() == root
        except (StateProofError, StateKeyError):
            return False

    def to_value(self) -> dict[str, Any]:
        """The proof's part of the §6 answer, bytes as bytes (the API turns them into hex)."""
        other = self.other
        return {
            "key": self.key,
            "value": self.value,
            "siblings": list(self.siblings),
            "other": None
            if other is None
            else {"key_hash": other.key_hash, "value_hash": other.value_hash},
        }


def fold_siblings(node: bytes, path: bytes, siblings: Sequence[bytes]) -> bytes:
    """Hash `node` at depth len(siblings) up to the root, siblings bottom-up, sides from `path`."""
    depth = len(siblings)
    for offset, sibling in enumerate(siblings):
        if path_bit(path, depth - 1 - offset):
            node = inner_hash(sibling, node)
        else:
            node = inner_hash(node, sibling)
    return node


def root_from_path(
    path: bytes, value: bytes | None, siblings: Sequence[bytes], other: OtherLeaf | None
) -> bytes:
    """The root a proof implies for the key whose path is `path` (§6's verification rule).

    Start from leaf(key, value), or the empty hash, or the other leaf (which must differ from
    `path` yet share its first len(siblings) bits), then fold the siblings up.
    """
    depth = len(siblings)
    if depth > PATH_BITS:
        raise StateProofError(f"{depth} siblings; a path has {PATH_BITS} bits")
    if any(len(sibling) != 32 for sibling in siblings):
        raise StateProofError("every sibling must be 32 bytes")
    if value is not None:
        if other is not None:
            raise StateProofError("a proof of presence cannot name another leaf")
        node = leaf_hash(path, hashlib.sha256(value).digest())
    elif other is None:
        node = EMPTY_HASH
    else:
        if len(other.key_hash) != 32 or len(other.value_hash) != 32:
            raise StateProofError("other.key_hash and other.value_hash must be 32 bytes")
        if other.key_hash == path:
            raise StateProofError("the other leaf is the key itself")
        if common_prefix_bits(other.key_hash, path) < depth:
            raise StateProofError(f"the other leaf does not share the key's first {depth} bits")
        node = leaf_hash(other.key_hash, other.value_hash)
    return fold_siblings(node, path, siblings)
