"""Offline inclusion proofs: a good proof passes every check; each kind of forgery fails the
check that names it."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from ledger import merkle
from ledger.crypto import BlsKey, Ed25519Key, bls
from ledger.genesis import Genesis, genesis_from_value
from ledger.hashing import sha256
from ledger.types import (
    Certificate,
    ErrorInfo,
    Header,
    Receipt,
    SignedTx,
    TxBody,
    commit_digest,
    signer_bitmap,
)
from node.ops.devnet import DevNet, make_devnet
from wallet.forms import parse_certificate
from wallet.proofs import verify_certificate, verify_proof

SEED = b"proof-tests"
HEIGHT = 7
BLOCK_TXS = 5


@pytest.fixture(scope="module")
def devnet() -> DevNet:
    return make_devnet(4, seed=SEED)


@pytest.fixture(scope="module")
def genesis(devnet: DevNet) -> Genesis:
    return genesis_from_value(devnet.genesis)


def _block(devnet: DevNet, signers: list[int], chain: str = "tally-dev") -> dict[str, Any]:
    """A block of BLOCK_TXS cash transfers, its receipts, header and a certificate."""
    key = devnet.key("acme-steel", "operator")
    txs = [
        SignedTx.create(
            TxBody(chain, key.public, "cash", "transfer", {"amount": i + 1}, 1000 + i, 99), key
        )
        for i in range(BLOCK_TXS)
    ]
    receipts = [
        Receipt(
            tx.id,
            HEIGHT,
            i,
            "ok" if i != 3 else "failed",
            None if i != 3 else ErrorInfo("INSUFFICIENT_FUNDS", "no money"),
            ({"kind": "transfer", "amount": i + 1},),
            None,
        )
        for i, tx in enumerate(txs)
    ]
    tx_leaves = [tx.encode() for tx in txs]
    receipt_leaves = [r.encode() for r in receipts]
    header = Header(
        chain=chain,
        height=HEIGHT,
        prev=b"\x01" * 32,
        time_ms=1_767_225_600_000,
        proposer=devnet.validators[0].ed25519.public,
        view=0,
        txs_root=merkle.merkle_root(tx_leaves),
        receipts_root=merkle.merkle_root(receipt_leaves),
        state_root=b"\x02" * 32,
        validators_hash=genesis_from_value(devnet.genesis).validators_hash(),
    )
    block_hash = header.hash()
    digest = commit_digest(chain, HEIGHT, block_hash)
    agg = bls.aggregate([devnet.validators[i].bls.sign(digest) for i in signers])
    certificate = Certificate(HEIGHT, 0, block_hash, signer_bitmap(signers, 4), agg)
    return {
        "txs": txs,
        "tx_leaves": tx_leaves,
        "receipt_leaves": receipt_leaves,
        "header": header,
        "certificate": certificate,
    }


def _proof(block: dict[str, Any], index: int) -> dict[str, Any]:
    certificate = block["certificate"]
    return {
        "tx": block["tx_leaves"][index].hex(),
        "receipt": block["receipt_leaves"][index].hex(),
        "header": block["header"].encode().hex(),
        "index": index,
        "tree_size": len(block["tx_leaves"]),
        "tx_path": [h.hex() for h in merkle.audit_path(block["tx_leaves"], index)],
        "receipt_path": [h.hex() for h in merkle.audit_path(block["receipt_leaves"], index)],
        "certificate": {
            "height": certificate.height,
            "view": certificate.view,
            "block_hash": certificate.block_hash.hex(),
            "signers": certificate.signers.hex(),
            "agg_sig": certificate.agg_sig.hex(),
        },
    }


@pytest.fixture(scope="module")
def block(devnet: DevNet) -> dict[str, Any]:
    return _block(devnet, [0, 1, 3])


@pytest.fixture
def good(block: dict[str, Any]) -> dict[str, Any]:
    return _proof(block, 2)


def _failed(result) -> set[str]:
    return {check.name for check in result.failures}


@pytest.mark.parametrize("index", range(BLOCK_TXS))
def test_a_true_proof_passes_every_check(block, genesis, index: int) -> None:
    tx_id = block["txs"][index].id.hex()
    result = verify_proof(_proof(block, index), genesis, expected_tx_id=tx_id)
    assert result.ok, result.failures
    assert result.tx_id == tx_id
    assert result.height == HEIGHT
    names = [check.name for check in result.checks]
    assert names == [
        "decode",
        "tx_id",
        "tx_signature",
        "receipt_tx",
        "receipt_position",
        "tx_inclusion",
        "receipt_inclusion",
        "chain",
        "validators_hash",
        "certificate_block",
        "certificate_height",
        "certificate_signatures",
    ]
    assert result.to_json()["ok"] is True


def test_all_four_signers_also_pass(devnet, genesis) -> None:
    assert verify_proof(_proof(_block(devnet, [0, 1, 2, 3]), 0), genesis).ok


def test_proof_of_another_tx_fails_the_tx_id_check(block, genesis, good) -> None:
    other = block["txs"][0].id.hex()
    assert _failed(verify_proof(good, genesis, expected_tx_id=other)) == {"tx_id"}


def test_two_signers_of_four_are_not_a_quorum(devnet, genesis) -> None:
    result = verify_proof(_proof(_block(devnet, [0, 2]), 1), genesis)
    assert _failed(result) == {"certificate_signatures"}
    assert "quorum is 3" in result.failures[0].detail


def test_other_chain_fails_chain_check(devnet, genesis) -> None:
    result = verify_proof(_proof(_block(devnet, [0, 1, 2], chain="other"), 0), genesis)
    assert "chain" in _failed(result)


def test_other_validator_set_fails(block, genesis, good) -> None:
    header = replace(block["header"], validators_hash=b"\x09" * 32)
    good["header"] = header.encode().hex()
    failed = _failed(verify_proof(good, genesis))
    assert {"validators_hash", "certificate_block", "certificate_signatures"} <= failed


def test_swapped_receipt_fails_receipt_checks(block, genesis, good) -> None:
    good["receipt"] = block["receipt_leaves"][3].hex()
    failed = _failed(verify_proof(good, genesis))
    assert failed == {"receipt_tx", "receipt_position", "receipt_inclusion"}


def test_forged_receipt_status_fails_inclusion(block, genesis, good) -> None:
    receipt = Receipt.decode(block["receipt_leaves"][2])
    forged = replace(receipt, status="failed", error=ErrorInfo("X", "y"))
    good["receipt"] = forged.encode().hex()
    assert _failed(verify_proof(good, genesis)) == {"receipt_inclusion"}


def test_wrong_index_fails(genesis, good) -> None:
    good["index"] = 1
    failed = _failed(verify_proof(good, genesis))
    assert {"tx_inclusion", "receipt_inclusion", "receipt_position"} <= failed


@pytest.mark.parametrize("tree_size", [2, 3, 64])
def test_wrong_tree_size_fails(genesis, good, tree_size: int) -> None:
    """(A size that keeps every sibling on the same side, like 6 here, proves the same root:
    RFC 9162 binds the size only through the path's shape.)"""
    good["tree_size"] = tree_size
    assert {"tx_inclusion", "receipt_inclusion"} <= _failed(verify_proof(good, genesis))


def test_tampered_path_fails(genesis, good) -> None:
    good["tx_path"][0] = "00" * 32
    assert _failed(verify_proof(good, genesis)) == {"tx_inclusion"}


def test_truncated_path_fails(genesis, good) -> None:
    good["receipt_path"] = good["receipt_path"][:-1]
    assert _failed(verify_proof(good, genesis)) == {"receipt_inclusion"}


def test_forged_tx_signature_fails(devnet, block, genesis, good) -> None:
    tx = block["txs"][2]
    mallory = Ed25519Key.from_seed(b"\x66" * 32)
    forged = SignedTx(tx.body_bytes, mallory.sign(b"x" * 32), tx.body, tx.id)
    good["tx"] = forged.encode().hex()
    assert _failed(verify_proof(good, genesis)) == {"tx_signature", "tx_inclusion"}


def test_certificate_for_another_height_fails(genesis, good) -> None:
    good["certificate"]["height"] = HEIGHT + 1
    failed = _failed(verify_proof(good, genesis))
    assert failed == {"certificate_height", "certificate_signatures"}


def test_certificate_for_another_block_fails(genesis, good) -> None:
    good["certificate"]["block_hash"] = "ab" * 32
    failed = _failed(verify_proof(good, genesis))
    assert failed == {"certificate_block", "certificate_signatures"}


def test_signers_bitmap_lying_about_who_signed_fails(genesis, good) -> None:
    good["certificate"]["signers"] = signer_bitmap([0, 1, 2], 4).hex()  # really 0, 1, 3
    result = verify_proof(good, genesis)
    assert _failed(result) == {"certificate_signatures"}
    assert "does not verify" in result.failures[0].detail


def test_signers_beyond_the_validator_set_fail(genesis, good) -> None:
    good["certificate"]["signers"] = signer_bitmap([0, 1, 3, 5], 8).hex()
    result = verify_proof(good, genesis)
    assert _failed(result) == {"certificate_signatures"}
    assert "malformed" in result.failures[0].detail


def test_signers_bitmap_with_extra_bytes_fails(genesis, good) -> None:
    """One set of signers has one encoding: a padded bitmap is refused."""
    good["certificate"]["signers"] = signer_bitmap([0, 1, 3], 16).hex()
    assert _failed(verify_proof(good, genesis)) == {"certificate_signatures"}


def test_signature_by_non_validators_fails(devnet, block, genesis, good) -> None:
    outsiders = [BlsKey.from_secret(1000 + i) for i in range(3)]
    digest = commit_digest("tally-dev", HEIGHT, block["header"].hash())
    good["certificate"]["agg_sig"] = bls.aggregate([k.sign(digest) for k in outsiders]).hex()
    assert _failed(verify_proof(good, genesis)) == {"certificate_signatures"}


def test_header_from_another_genesis_fails(good) -> None:
    stranger = genesis_from_value(make_devnet(4, seed=b"someone else").genesis)
    failed = _failed(verify_proof(good, stranger))
    assert failed == {"validators_hash", "certificate_signatures"}


MALFORMED: dict[str, Any] = {
    "not_a_dict": [],
    "missing_tx": "del:tx",
    "tx_not_hex": ("tx", "zz"),
    "tx_not_canonical": ("tx", "c0"),
    "header_garbage": ("header", "81a178c3"),
    "index_negative": ("index", -1),
    "index_bool": ("index", True),
    "path_not_list": ("tx_path", "00"),
    "path_short_hash": ("tx_path", ["00"]),
    "certificate_missing_sig": "del:certificate.agg_sig",
    "agg_sig_short": ("certificate.agg_sig", "00" * 95),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_proofs_fail_decode_without_raising(genesis, good, name: str) -> None:
    change = MALFORMED[name]
    proof: Any = copy.deepcopy(good)
    if isinstance(change, list):
        proof = change
    elif isinstance(change, str):
        path = change.removeprefix("del:").split(".")
        target = proof
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    else:
        path = change[0].split(".")
        target = proof
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = change[1]
    result = verify_proof(proof, genesis)
    assert not result.ok
    assert [c.name for c in result.checks] == ["decode"]
    assert result.checks[0].detail


def test_verify_certificate_directly(block, genesis) -> None:
    certificate: Certificate = block["certificate"]
    header_hash = sha256(block["header"].encode())
    assert verify_certificate(genesis, certificate, header_hash) is None
    assert verify_certificate(genesis, certificate, b"\x00" * 32) is not None
    as_json = {
        "height": certificate.height,
        "view": certificate.view,
        "block_hash": certificate.block_hash.hex(),
        "signers": certificate.signers.hex(),
        "agg_sig": certificate.agg_sig.hex(),
    }
    assert parse_certificate(as_json) == certificate
