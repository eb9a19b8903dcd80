"""The state tree's hashing is the ICS23 SmtSpec of DESIGN.md §6, checked two independent ways:

- against cosmos/ics23's SMT test vectors (../shared/data/ics23/): their existence proofs fold
  to their roots with our leaf and inner hashing and our bit order, and their non-existence
  proofs, turned into §6's form, prove absence with our verifier;
- against `reference_root` below, a second implementation written from the spec text alone
  (bits as a string of '0'/'1', recursion over sets of leaves), not from ledger/smt*.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import smt
from ledger.smt_store import StateTree
from ledger.store import MemoryStore

VECTORS = Path("/work/shared/data/ics23")
EXISTENCE = ("exist_left", "exist_middle", "exist_right")
NON_EXISTENCE = ("nonexist_left", "nonexist_middle", "nonexist_right")


# -- a minimal second implementation, from the spec text ---------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _bits(data: bytes) -> str:
    return "".join(format(byte, "08b") for byte in data)


def _reference_leaves(items: dict[bytes, bytes]) -> list[tuple[str, bytes]]:
    """(path as a bit string, leaf hash) per key: leaf = H(0x00 || H(key) || H(value))."""
    return [(_bits(_sha(k)), _sha(b"\x00" + _sha(k) + _sha(v))) for k, v in items.items()]


def _reference_subtree(leaves: list[tuple[str, bytes]], depth: int) -> bytes:
    if not leaves:
        return bytes(32)
    if len(leaves) == 1:  # a lone leaf sits as high as it can
        return leaves[0][1]
    left = [leaf for leaf in leaves if leaf[0][depth] == "0"]
    right = [leaf for leaf in leaves if leaf[0][depth] == "1"]
    return _sha(
        b"\x01" + _reference_subtree(left, depth + 1) + _reference_subtree(right, depth + 1)
    )


def reference_root(items: dict[bytes, bytes]) -> bytes:
    """The §6 root of {utf8 key: encoded value}, recomputed from scratch."""
    return _reference_subtree(_reference_leaves(items), 0)


def reference_nodes(items: dict[bytes, bytes]) -> set[tuple[int, str, bytes]]:
    """Every node of the compacted tree as (depth, path prefix bits, hash)."""
    nodes: set[tuple[int, str, bytes]] = set()

    def visit(leaves: list[tuple[str, bytes]], depth: int) -> None:
        if not leaves:
            return
        nodes.add((depth, leaves[0][0][:depth], _reference_subtree(leaves, depth)))
        if len(leaves) > 1:
            visit([leaf for leaf in leaves if leaf[0][depth] == "0"], depth + 1)
            visit([leaf for leaf in leaves if leaf[0][depth] == "1"], depth + 1)

    visit(_reference_leaves(items), 0)
    return nodes


def reference_fold(
    key: bytes, value: bytes | None, siblings: list[bytes], other: tuple[bytes, bytes] | None
) -> bytes:
    """§6's verification: start from the leaf, the empty hash or the other leaf; fold up."""
    path = _bits(_sha(key))
    if value is not None:
        node = _sha(b"\x00" + _sha(key) + _sha(value))
    elif other is not None:
        assert other[0] != _sha(key) and _bits(other[0])[: len(siblings)] == path[: len(siblings)]
        node = _sha(b"\x00" + other[0] + other[1])
    else:
        node = bytes(32)
    for depth, sibling in zip(range(len(siblings) - 1, -1, -1), siblings, strict=True):
        pair = node + sibling if path[depth] == "0" else sibling + node
        node = _sha(b"\x01" + pair)
    return node


# -- protobuf, as much as the vectors need -----------------------------------------------------


def _protobuf(raw: bytes) -> list[tuple[int, Any]]:
    """(field number, int or bytes) for varint and length-delimited fields."""
    fields, at = [], 0

    def varint() -> int:
        nonlocal at
        value = shift = 0
        while True:
            byte = raw[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while at < len(raw):
        tag = varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            fields.append((number, varint()))
        elif wire == 2:
            size = varint()
            fields.append((number, raw[at : at + size]))
            at += size
        else:
            raise ValueError(f"wire type {wire} not used by the vectors")
    return fields


def _one(fields: list[tuple[int, Any]], number: int, default: Any = None) -> Any:
    found = [value for n, value in fields if n == number]
    return found[0] if found else default


def _existence(raw: bytes) -> dict[str, Any]:
    """An ICS23 ExistenceProof, with its InnerOps turned into (sibling, is_right_child)."""
    fields = _protobuf(raw)
    leaf = _protobuf(_one(fields, 3))
    steps = []
    for op_raw in (value for n, value in fields if n == 4):
        op = _protobuf(op_raw)
        assert _one(op, 1) == 1  # sha256
        prefix, suffix = _one(op, 2, b""), _one(op, 3, b"")
        if len(prefix) == 1:  # 0x01 || node || right sibling
            assert prefix == b"\x01" and len(suffix) == 32
            steps.append((suffix, False))
        else:  # 0x01 || left sibling || node
            assert prefix[:1] == b"\x01" and len(prefix) == 33 and suffix == b""
            steps.append((prefix[1:], True))
    return {"key": _one(fields, 1), "value": _one(fields, 2), "leaf": leaf, "steps": steps}


def _vector(name: str) -> dict[str, Any]:
    data = json.loads((VECTORS / f"{name}.json").read_text())
    return {
        "key": bytes.fromhex(data["key"]),
        "value": bytes.fromhex(data["value"]),
        "root": bytes.fromhex(data["root"]),
        "proof": _protobuf(bytes.fromhex(data["proof"])),
    }


@pytest.mark.parametrize("name", EXISTENCE)
def test_ics23_existence_vectors_use_our_leaf_spec(name: str) -> None:
    vector = _vector(name)
    proof = _existence(_one(vector["proof"], 1))
    # LeafOp: hash sha256, prehash_key sha256, prehash_value sha256, no length, prefix 0x00.
    assert {n: v for n, v in proof["leaf"]} == {1: 1, 2: 1, 3: 1, 5: b"\x00"}
    assert (proof["key"], proof["value"]) == (vector["key"], vector["value"])


@pytest.mark.parametrize("name", EXISTENCE)
def test_ics23_existence_vectors_fold_to_their_root_with_our_hashing(name: str) -> None:
    vector = _vector(name)
    proof = _existence(_one(vector["proof"], 1))
    key, value = vector["key"], vector["value"]
    path = smt.key_hash(key.decode())
    depth = len(proof["steps"])
    assert 10 <= depth <= 11  # compacted: a leaf sits where its path is alone
    for offset, (_, is_right) in enumerate(proof["steps"]):
        assert smt.path_bit(path, depth - 1 - offset) == int(is_right)  # MSB first, 1 = right
    siblings = tuple(sibling for sibling, _ in proof["steps"])
    ours = smt.StateProof(key.decode(), value, siblings)
    assert ours.implied_root() == vector["root"]
    assert ours.verify(vector["root"])
    assert reference_fold(key, value, list(siblings), None) == vector["root"]
    forged = smt.StateProof(key.decode(), value + b"!", siblings)
    assert not forged.verify(vector["root"])


def _absence_from_neighbours(key: bytes, neighbours: list[dict[str, Any]]) -> dict[str, Any]:
    """§6's absence proof of `key`, derived from ICS23's left/right neighbour proofs.

    The neighbour on the key's side of the tree is the one sharing more leading bits with the
    key. If the key's path reaches that neighbour's leaf, the neighbour is `other`; else the
    key turns off the neighbour's path at depth e into the sibling subtree at e + 1, which
    must be empty, and the key's proof is that empty subtree's.
    """
    path = _sha(key)
    near = max(neighbours, key=lambda n: smt.common_prefix_bits(_sha(n["key"]), path))
    near_path = _sha(near["key"])
    siblings = [sibling for sibling, _ in near["steps"]]
    near_depth = len(siblings)
    shared = smt.common_prefix_bits(near_path, path)
    if shared >= near_depth:
        other = (near_path, _sha(near["value"]))
        return {"siblings": siblings, "other": other}
    # the node on the neighbour's path at depth shared + 1 is the key's sibling there
    below = near_depth - (shared + 1)
    node = _sha(b"\x00" + near_path + _sha(near["value"]))
    bits = _bits(near_path)
    for depth, sibling in zip(range(near_depth - 1, shared, -1), siblings[:below], strict=True):
        node = _sha(b"\x01" + (node + sibling if bits[depth] == "0" else sibling + node))
    assert siblings[below] == smt.EMPTY_HASH  # where the key would be, there is nothing
    return {"siblings": [node, *siblings[below + 1 :]], "other": None}


@pytest.mark.parametrize("name", NON_EXISTENCE)
def test_ics23_non_existence_vectors_prove_absence_in_our_form(name: str) -> None:
    vector = _vector(name)
    fields = _protobuf(_one(vector["proof"], 2))
    assert _one(fields, 1) == _sha(vector["key"])  # SmtSpec prehashes keys before comparing
    neighbours = [_existence(raw) for n, raw in fields if n in (2, 3)]
    for neighbour in neighbours:  # each neighbour is itself proven under the root
        siblings = [sibling for sibling, _ in neighbour["steps"]]
        assert (
            reference_fold(neighbour["key"], neighbour["value"], siblings, None) == (vector["root"])
        )
    absence = _absence_from_neighbours(vector["key"], neighbours)
    other = absence["other"]
    root = smt.root_from_path(
        _sha(vector["key"]),
        None,
        absence["siblings"],
        None if other is None else smt.OtherLeaf(*other),
    )
    assert root == vector["root"]
    assert reference_fold(vector["key"], None, absence["siblings"], other) == vector["root"]


# -- our own trees against the reference -------------------------------------------------------


def _tree_of(items: dict[str, bytes]) -> StateTree:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(0, dict(items)))
    return tree


def test_empty_tree_root_is_32_zero_bytes() -> None:
    assert _tree_of({}).root(0) == bytes(32) == reference_root({})


def test_single_key_root_is_its_leaf_at_the_root() -> None:
    tree = _tree_of({"cash/bal/EUR/bank-a": b"\x05"})
    expected = _sha(b"\x00" + _sha(b"cash/bal/EUR/bank-a") + _sha(b"\x05"))
    assert tree.root(0) == expected
    proof = tree.prove("cash/bal/EUR/bank-a", 0)
    assert proof.siblings == () and proof.value == b"\x05"


KEYS = st.text(min_size=0, max_size=12)
VALUES = st.binary(min_size=0, max_size=8)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=40))
def test_random_small_trees_have_the_reference_root(items: dict[str, bytes]) -> None:
    tree = _tree_of(items)
    assert tree.root(0) == reference_root({k.encode(): v for k, v in items.items()})


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=30), KEYS)
def test_our_proofs_check_with_the_reference_fold(items: dict[str, bytes], absent: str) -> None:
    tree = _tree_of(items)
    root = tree.root(0)
    for key in [*items, absent]:
        proof = tree.prove(key, 0)
        assert proof.value == items.get(key)
        other = None if proof.other is None else (proof.other.key_hash, proof.other.value_hash)
        assert reference_fold(key.encode(), proof.value, list(proof.siblings), other) == root


def _as_ics23_ops(proof: smt.StateProof) -> list[tuple[bytes, bytes]]:
    """Our existence proof as ICS23 InnerOps (prefix, suffix), bottom-up."""
    path = smt.key_hash(proof.key)
    depth = len(proof.siblings)
    ops = []
    for offset, sibling in enumerate(proof.siblings):
        if smt.path_bit(path, depth - 1 - offset):
            ops.append((b"\x01" + sibling, b""))
        else:
            ops.append((b"\x01", sibling))
    return ops


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(KEYS, VALUES, min_size=1, max_size=30))
def test_our_existence_proofs_apply_as_ics23_ops(items: dict[str, bytes]) -> None:
    """Applied the way an ICS23 verifier applies LeafOp and InnerOps, our proofs give the root."""
    tree = _tree_of(items)
    for key, value in items.items():
        proof = tree.prove(key, 0)
        node = _sha(b"\x00" + _sha(key.encode()) + _sha(value))  # LeafOp of SmtSpec
        for prefix, suffix in _as_ics23_ops(proof):
            node = _sha(prefix + node + suffix)
        assert node == tree.root(0)


def test_malformed_proofs_are_refused_with_a_code() -> None:
    path = smt.key_hash("k")
    other = smt.OtherLeaf(bytes(32), bytes(32))
    cases = {
        "too deep": (None, [bytes(32)] * 257, None),
        "short sibling": (None, [b"\x01"], None),
        "value and other": (b"\x01", [], other),
        "other is the key": (None, [], smt.OtherLeaf(path, bytes(32))),
        "other off the path": (None, [bytes(32)] * 8, _off_path(path, 3)),
    }
    for name, (value, siblings, other_leaf) in cases.items():
        with pytest.raises(smt.StateProofError) as refused:
            smt.root_from_path(path, value, siblings, other_leaf)
        assert refused.value.code == "BAD_STATE_PROOF", name


def _off_path(path: bytes, bit: int) -> smt.OtherLeaf:
    flipped = bytearray(path)
    flipped[bit // 8] ^= 0x80 >> (bit % 8)
    return smt.OtherLeaf(bytes(flipped), bytes(32))


def test_an_other_leaf_sharing_exactly_the_depth_is_accepted() -> None:
    path = smt.key_hash("k")
    other = _off_path(path, 8)  # shares bits 0..7
    root = smt.root_from_path(path, None, [bytes(32)] * 8, other)
    assert root == reference_fold(b"k", None, [bytes(32)] * 8, (other.key_hash, other.value_hash))


def test_a_key_without_utf8_bytes_is_refused_with_a_code() -> None:
    with pytest.raises(smt.StateKeyError) as refused:
        smt.key_hash("\ud800")
    assert refused.value.code == "BAD_STATE_KEY"
    assert not smt.StateProof("\ud800", b"", ()).verify(bytes(32))
    tree = StateTree(MemoryStore())
    with pytest.raises(smt.StateKeyError):
        tree.prepare(0, {"\ud800": b"1"})
