"""Offline state proofs (DESIGN.md §6): a true answer passes every check, present or absent; each
kind of forgery fails the check that names it; malformed answers are refused without raising."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from ledger import codec
from ledger.crypto import bls
from ledger.genesis import Genesis, genesis_from_value
from ledger.smt_store import StateTree, encode_writes
from ledger.store import MemoryStore
from ledger.types import Certificate, Header, commit_digest, signer_bitmap
from node.ops.devnet import DevNet, make_devnet
from wallet.state_proofs import verify_state_proof

SEED = b"state-proof-tests"
HEIGHT = 12
STATE: dict[str, Any] = {
    "cash/bal/EUR/bank-a": 1_500_000,
    "cash/bal/EUR/acme-steel": 250,
    "cash/bal/USD/bank-b": 77,
    "rcv/piece/r1.0": {"holder": "bank-a", "status": "financed", "amount": 1000},
    "rcv/piece/r1.1": {"holder": "acme-steel", "status": "open", "amount": 500},
    "org/bank-a": {"name": "Bank A"},
}


@pytest.fixture(scope="module")
def devnet() -> DevNet:
    return make_devnet(4, seed=SEED)


@pytest.fixture(scope="module")
def genesis(devnet: DevNet) -> Genesis:
    return genesis_from_value(devnet.genesis)


@pytest.fixture(scope="module")
def tree() -> StateTree:
    tree = StateTree(MemoryStore())
    tree.commit(tree.prepare(HEIGHT - 1, encode_writes({"old": 1})))
    tree.commit(tree.prepare(HEIGHT, encode_writes({**STATE, "old": None})))
    return tree


def _certify(devnet: DevNet, header: Header, signers: list[int]) -> Certificate:
    digest = commit_digest(header.chain, header.height, header.hash())
    agg = bls.aggregate([devnet.validators[i].bls.sign(digest) for i in signers])
    return Certificate(header.height, 0, header.hash(), signer_bitmap(signers, 4), agg)


def _header(genesis: Genesis, state_root: bytes) -> Header:
    return Header(
        chain=genesis.chain,
        height=HEIGHT,
        prev=b"\x01" * 32,
        time_ms=1_767_225_600_000,
        proposer=genesis.validators[0].ed25519,
        view=0,
        txs_root=b"\x03" * 32,
        receipts_root=b"\x04" * 32,
        state_root=state_root,
        validators_hash=genesis.validators_hash(),
    )


def _hex(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _hex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex(v) for v in value]
    return value


def _answer(
    tree: StateTree,
    devnet: DevNet,
    genesis: Genesis,
    key: str,
    signers: tuple[int, ...] = (0, 1, 3),
) -> dict[str, Any]:
    """What GET /v1/state/proof?key=K&height=HEIGHT answers (§6)."""
    header = _header(genesis, tree.root(HEIGHT))
    certificate = _certify(devnet, header, list(signers))
    return {
        **_hex(tree.prove(key, HEIGHT).to_value()),
        "height": HEIGHT,
        "header": header.encode().hex(),
        "certificate": _hex(certificate.to_value()),
    }


@pytest.fixture
def answer(tree, devnet, genesis):
    def make(key: str, **options: Any) -> dict[str, Any]:
        return _answer(tree, devnet, genesis, key, **options)

    return make


def _failed(result: Any) -> set[str]:
    return {check.name for check in result.failures}


ALL_CHECKS = [
    "decode",
    "key",
    "height",
    "header_height",
    "state_root",
    "chain",
    "validators_hash",
    "certificate_block",
    "certificate_height",
    "certificate_signatures",
]


@pytest.mark.parametrize("key", sorted(STATE))
def test_a_true_proof_of_a_present_key_passes_every_check(genesis, answer, key: str) -> None:
    result = verify_state_proof(answer(key), genesis, expected_key=key, expected_height=HEIGHT)
    assert result.ok, result.failures
    assert [check.name for check in result.checks] == ALL_CHECKS
    assert result.present and result.value == STATE[key]
    assert result.to_json()["ok"] is True


def _absent_key(tree: StateTree, *, other: bool) -> str:
    for i in range(1000):
        key = f"cash/bal/JPY/org-{i}"
        proof = tree.prove(key, HEIGHT)
        if (proof.other is not None) == other and proof.siblings:
            return key
    raise AssertionError("no such key")


@pytest.mark.parametrize("other", [True, False], ids=["other-leaf", "empty-subtree"])
def test_a_true_proof_of_absence_passes_every_check(tree, genesis, answer, other: bool) -> None:
    key = _absent_key(tree, other=other)
    proof = answer(key)
    assert (proof["other"] is not None) == other
    result = verify_state_proof(proof, genesis, expected_key=key)
    assert result.ok, result.failures
    assert not result.present and result.value is None


def test_a_deleted_key_proves_absent(genesis, answer) -> None:
    result = verify_state_proof(answer("old"), genesis)
    assert result.ok and not result.present


def test_a_tampered_value_fails_the_state_root(genesis, answer) -> None:
    proof = answer("cash/bal/EUR/bank-a")
    proof["value"] = codec.encode(9_999_999).hex()
    assert _failed(verify_state_proof(proof, genesis)) == {"state_root"}


def test_a_proof_of_another_key_fails_the_key_check(genesis, answer) -> None:
    proof = answer("cash/bal/EUR/acme-steel")
    result = verify_state_proof(proof, genesis, expected_key="cash/bal/EUR/bank-a")
    assert _failed(result) == {"key"}


def test_a_renamed_key_fails_the_state_root(genesis, answer) -> None:
    proof = answer("cash/bal/EUR/acme-steel")
    proof["key"] = "cash/bal/EUR/bank-a"
    assert _failed(verify_state_proof(proof, genesis)) == {"state_root"}


def test_hiding_a_present_key_behind_another_leaf_fails(tree, genesis, answer) -> None:
    proof = answer("cash/bal/EUR/bank-a")
    neighbour = tree.prove(_absent_key(tree, other=True), HEIGHT).other
    assert neighbour is not None
    proof["value"] = None
    proof["other"] = {
        "key_hash": neighbour.key_hash.hex(),
        "value_hash": neighbour.value_hash.hex(),
    }
    assert _failed(verify_state_proof(proof, genesis)) == {"state_root"}


def test_claiming_absence_of_a_present_key_fails(genesis, answer) -> None:
    proof = answer("rcv/piece/r1.0")
    proof["value"] = None
    assert _failed(verify_state_proof(proof, genesis)) == {"state_root"}


def test_an_other_leaf_off_the_keys_path_is_malformed(tree, genesis, answer) -> None:
    key = _absent_key(tree, other=True)
    proof = answer(key)
    flipped = bytearray.fromhex(proof["other"]["key_hash"])
    flipped[0] ^= 0x80  # differs from the key's path at the root
    proof["other"]["key_hash"] = flipped.hex()
    result = verify_state_proof(proof, genesis)
    assert _failed(result) == {"state_root"}
    assert "share" in result.failures[0].detail


def test_a_dropped_or_altered_sibling_fails(genesis, answer) -> None:
    proof = answer("rcv/piece/r1.1")
    short = copy.deepcopy(proof)
    short["siblings"] = short["siblings"][1:]
    assert _failed(verify_state_proof(short, genesis)) == {"state_root"}
    proof["siblings"][-1] = "00" * 32
    assert _failed(verify_state_proof(proof, genesis)) == {"state_root"}


def test_a_proof_at_another_height_fails(genesis, answer) -> None:
    proof = answer("cash/bal/USD/bank-b")
    assert _failed(verify_state_proof(proof, genesis, expected_height=HEIGHT + 1)) == {"height"}
    proof["height"] = HEIGHT - 1
    assert _failed(verify_state_proof(proof, genesis)) == {"header_height"}


def test_a_forged_header_for_a_forged_state_fails_the_certificate(devnet, genesis, answer) -> None:
    """A node that rewrites a balance must change the state_root, hence the certified header."""
    forged_tree = StateTree(MemoryStore())
    forged_tree.commit(
        forged_tree.prepare(HEIGHT, encode_writes({**STATE, "cash/bal/EUR/bank-a": 1}))
    )
    proof = answer("cash/bal/EUR/bank-a")
    forged = forged_tree.prove("cash/bal/EUR/bank-a", HEIGHT)
    proof.update(_hex(forged.to_value()))
    proof["header"] = _header(genesis, forged_tree.root(HEIGHT)).encode().hex()
    assert _failed(verify_state_proof(proof, genesis)) == {
        "certificate_block",
        "certificate_signatures",
    }


def test_two_signers_of_four_are_not_a_quorum(genesis, answer) -> None:
    result = verify_state_proof(answer("org/bank-a", signers=(0, 2)), genesis)
    assert _failed(result) == {"certificate_signatures"}


def test_a_header_of_another_validator_set_fails(genesis, answer) -> None:
    proof = answer("org/bank-a")
    header = Header.decode(bytes.fromhex(proof["header"]))
    proof["header"] = replace(header, validators_hash=b"\x09" * 32).encode().hex()
    failed = _failed(verify_state_proof(proof, genesis))
    assert {"validators_hash", "certificate_block", "certificate_signatures"} <= failed


MALFORMED: dict[str, Any] = {
    "not_an_object": [],
    "missing_key": "del:key",
    "key_not_text": ("key", 5),
    "key_lone_surrogate": ("key", "cash/\ud800"),
    "value_not_hex": ("value", "zz"),
    "value_not_canonical": ("value", "d000"),  # int 0 in a longer form than needed
    "siblings_not_list": ("siblings", "00"),
    "sibling_short": ("siblings", ["00"]),
    "too_many_siblings": ("siblings", ["00" * 32] * 257),
    "other_not_object": ("other", 3),
    "other_short_hash": ("other", {"key_hash": "00", "value_hash": "00" * 32}),
    "value_and_other": ("other", {"key_hash": "00" * 32, "value_hash": "00" * 32}),
    "height_negative": ("height", -1),
    "header_garbage": ("header", "81a178c3"),
    "certificate_missing": "del:certificate",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_proofs_fail_decode_without_raising(genesis, answer, name: str) -> None:
    change = MALFORMED[name]
    proof: Any = answer("cash/bal/EUR/bank-a")
    if isinstance(change, list):
        proof = change
    elif isinstance(change, str):
        del proof[change.removeprefix("del:")]
    else:
        proof[change[0]] = change[1]
    result = verify_state_proof(proof, genesis)
    assert not result.ok
    assert [check.name for check in result.checks] == ["decode"]
    assert result.checks[0].detail
