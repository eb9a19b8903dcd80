"""RFC 6962 Merkle trees against Certificate Transparency's published vectors and a naive model."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    audit_path,
    leaf_hash,
    merkle_root,
    node_hash,
    verify_inclusion,
)

# certificate-transparency cpp/merkletree/merkle_tree_test.cc (also google/trillian testonly).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (0-based leaf index, tree size, audit path) from the same test file.
CT_PATHS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 §2.1 writes it, recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(leaves[:k]) + naive_root(leaves[k:])).digest()


def test_empty_tree_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle_root([]) == EMPTY_ROOT


def test_hash_prefixes_are_rfc6962() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_ct_vectors(size: int) -> None:
    assert merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), CT_PATHS)
def test_audit_paths_match_ct_vectors(index: int, size: int, path: list[str]) -> None:
    leaves = CT_LEAVES[:size]
    assert [h.hex() for h in audit_path(leaves, index)] == path
    root = bytes.fromhex(CT_ROOTS[size - 1])
    assert verify_inclusion(leaves[index], index, size, [bytes.fromhex(h) for h in path], root)


def _leaves(n: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(n)]


@pytest.mark.parametrize("size", range(1, 41))
def test_every_leaf_of_trees_up_to_40_proves_and_nothing_else_does(size: int) -> None:
    leaves = _leaves(size)
    root = merkle_root(leaves)
    assert root == naive_root(leaves)
    for index in range(size):
        path = audit_path(leaves, index)
        assert verify_inclusion(leaves[index], index, size, path, root)
        # The wrong leaf, a neighbouring index, or a damaged path must not prove.
        assert not verify_inclusion(leaves[index] + b"!", index, size, path, root)
        if size > 1:
            assert not verify_inclusion(leaves[index], (index + 1) % size, size, path, root)
        for position in range(len(path)):
            damaged = list(path)
            damaged[position] = bytes([damaged[position][0] ^ 1]) + damaged[position][1:]
            assert not verify_inclusion(leaves[index], index, size, damaged, root)
        assert not verify_inclusion(leaves[index], index, size, [*path, root], root)
        if path:
            assert not verify_inclusion(leaves[index], index, size, path[:-1], root)


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (5, 3), (-1, 3)])
def test_index_out_of_range_never_proves(index: int, size: int) -> None:
    assert not verify_inclusion(b"", index, size, [], EMPTY_ROOT)
    assert not verify_inclusion(b"", index, size, [], leaf_hash(b""))


def test_a_leaf_is_not_an_interior_node() -> None:
    """Second-preimage resistance: the two children of the root, presented as one leaf, do not
    prove at size 1 (the 0x00/0x01 prefixes keep leaves and nodes apart)."""
    leaves = _leaves(2)
    root = merkle_root(leaves)
    fake_leaf = leaf_hash(leaves[0]) + leaf_hash(leaves[1])
    assert not verify_inclusion(fake_leaf, 0, 1, [], root)


def test_audit_path_rejects_bad_index() -> None:
    with pytest.raises(IndexError):
        audit_path(_leaves(3), 3)
    with pytest.raises(IndexError):
        audit_path([], 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=70), st.data())
def test_property_paths_verify_against_the_naive_root(leaves: list[bytes], data) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    root = naive_root(leaves)
    assert merkle_root(leaves) == root
    assert verify_inclusion(leaves[index], index, len(leaves), audit_path(leaves, index), root)
