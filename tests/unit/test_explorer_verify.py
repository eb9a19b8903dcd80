"""The explorer's checks: good certificates and blocks verify; a flipped byte fails, saying why."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest

from explorer.audit import check_block
from explorer.graph import layout, timeline
from explorer.verify import (
    decode_header,
    verify_certificate,
    verify_contents,
)
from ledger.crypto import bls
from ledger.genesis import Genesis, genesis_from_value
from ledger.merkle import merkle_root
from ledger.types import Certificate, Header, commit_digest, signer_bitmap
from node.ops.devnet import DevNet, make_devnet
from wallet.forms import parse_certificate as certificate_from_json

TXS = (b"tx-one", b"tx-two", b"tx-three")
RECEIPTS = (b"receipt-one", b"receipt-two", b"receipt-three")


@lru_cache(maxsize=1)
def _net() -> tuple[DevNet, Genesis]:
    devnet = make_devnet(4, seed=b"explorer-tests")
    return devnet, genesis_from_value(devnet.genesis)


def _block(signers: tuple[int, ...] = (0, 1, 3)) -> tuple[Genesis, Header, Certificate]:
    devnet, genesis = _net()
    header = Header(
        chain=genesis.chain,
        height=1,
        prev=genesis.hash(),
        time_ms=genesis.time_ms + 1000,
        proposer=devnet.validators[0].ed25519.public,
        view=0,
        txs_root=merkle_root(TXS),
        receipts_root=merkle_root(RECEIPTS),
        state_root=bytes(32),
        validators_hash=genesis.validators_hash(),
    )
    digest = commit_digest(genesis.chain, 1, header.hash())
    signature = bls.aggregate([devnet.validators[i].bls.sign(digest) for i in signers])
    bitmap = signer_bitmap(set(signers), len(genesis.validators))
    return genesis, header, Certificate(1, 0, header.hash(), bitmap, signature)


def _cert_json(certificate: Certificate) -> dict[str, Any]:
    return {k: v.hex() if isinstance(v, bytes) else v for k, v in certificate.to_value().items()}


def test_good_certificate_verifies_and_names_its_signers() -> None:
    genesis, header, certificate = _block()
    verdict = verify_certificate(genesis, header, certificate)
    assert verdict.ok, verdict.verdict.reason
    assert verdict.signer_names == ("Bank A", "Bank B", "Bank D")
    assert (len(verdict.signer_indexes), verdict.validators, verdict.quorum) == (3, 4, 3)


def test_certificate_below_quorum_fails() -> None:
    genesis, header, certificate = _block(signers=(0, 2))
    verdict = verify_certificate(genesis, header, certificate)
    assert not verdict.ok
    assert [c.name for c in verdict.verdict.failures] == ["quorum"]


@pytest.mark.parametrize("index", range(0, 200, 7))
def test_a_flipped_header_byte_fails_with_a_reason(index: int) -> None:
    genesis, header, certificate = _block()
    encoded = bytearray(header.encode())
    encoded[index % len(encoded)] ^= 0x01
    try:
        tampered = decode_header(bytes(encoded).hex())
    except ValueError as error:  # no longer a canonical header: refused, with the reason
        assert "header" in str(error)
        return
    verdict = verify_certificate(genesis, tampered, certificate)
    assert not verdict.ok
    assert verdict.verdict.reason


@pytest.mark.parametrize("field", ["block_hash", "signers", "agg_sig"])
@pytest.mark.parametrize("position", [0, -1])
def test_a_flipped_certificate_byte_fails_with_a_reason(field: str, position: int) -> None:
    genesis, header, certificate = _block()
    value = bytearray(getattr(certificate, field))
    value[position] ^= 0x01 if field != "signers" else 0x04
    tampered = Certificate(**{**certificate.to_value(), field: bytes(value)})
    verdict = verify_certificate(genesis, header, tampered)
    assert not verdict.ok
    assert verdict.verdict.failures[0].detail


def test_a_signer_outside_the_validator_set_fails() -> None:
    genesis, header, certificate = _block()
    tampered = Certificate(1, 0, certificate.block_hash, bytes([0b1011_1011]), certificate.agg_sig)
    verdict = verify_certificate(genesis, header, tampered)
    assert "signer bitmap" in [c.name for c in verdict.verdict.failures]


def test_certificate_json_round_trips_and_rejects_bad_hex() -> None:
    _, _, certificate = _block()
    assert certificate_from_json(_cert_json(certificate)) == certificate
    with pytest.raises(ValueError):
        certificate_from_json({**_cert_json(certificate), "agg_sig": "zz"})
    with pytest.raises(ValueError):
        certificate_from_json(None)


def test_contents_recompute_roots_and_check_the_prev_link() -> None:
    genesis, header, _ = _block()
    assert verify_contents(header, TXS, RECEIPTS, genesis.hash()).ok
    swapped = verify_contents(header, (TXS[1], TXS[0], TXS[2]), RECEIPTS, genesis.hash())
    assert [c.name for c in swapped.failures] == ["txs_root"]
    wrong_prev = verify_contents(header, TXS, RECEIPTS, bytes(32))
    assert [c.name for c in wrong_prev.failures] == ["prev link"]


def test_audit_check_block_names_the_failing_check() -> None:
    genesis, header, certificate = _block()
    block = {
        "height": 1,
        "header": header.encode().hex(),
        "txs": [t.hex() for t in TXS],
        "receipts": [r.hex() for r in RECEIPTS],
        "certificate": _cert_json(certificate),
    }
    result = check_block(genesis, block, 1, genesis.hash())
    checks, block_hash = result.checks, result.block_hash
    assert all(c.ok for c in checks) and block_hash == header.hash()
    block["txs"] = [t.hex() for t in TXS[:2]]
    checks = check_block(genesis, block, 1, genesis.hash()).checks
    assert [c.name for c in checks if not c.ok] == ["txs_root"]
    checks = check_block(genesis, block | {"header": "00"}, 1, genesis.hash()).checks
    assert [c.name for c in checks if not c.ok] == ["header"]


def test_receivable_graph_draws_splits_transfers_financing_and_repayment() -> None:
    history_root = [
        {"action": "issue", "holder": "acme", "tx": "t1", "height": 1, "amount": 100},
        {"action": "accept", "holder": "acme", "tx": "t2", "height": 2},
        {"action": "split", "holder": "acme", "tx": "t3", "height": 3, "child": "c", "amount": 30},
        {"action": "finance", "holder": "bank-a", "tx": "t4", "height": 4, "price": 69},
        {"action": "repay", "holder": "bank-a", "tx": "t5", "height": 5, "paid": 70},
    ]
    history_child = [
        {"action": "split_from", "holder": "ore", "tx": "t3", "height": 3, "amount": 30},
        {"action": "transfer", "holder": "fuel", "tx": "t6", "height": 4, "amount": 30},
    ]
    trace = {
        "pieces": [
            {"id": "r", "parent": None, "amount": 70, "status": "settled", "debtor": "big",
             "history": history_root},
            {"id": "c", "parent": "r", "amount": 30, "status": "settled", "history": history_child},
        ]
    }  # fmt: skip
    graph = layout(trace)
    kinds = sorted(e.kind for e in graph.edges)
    assert kinds == ["financing", "repayment", "split", "transfer"]
    assert {e.tx for e in graph.edges} == {"t3", "t4", "t5", "t6"}
    assert {(n.holder, n.amount) for n in graph.nodes} >= {("acme", 70), ("ore", 30), ("fuel", 30)}
    assert [s["tx"] for s in timeline(trace)][:3] == ["t1", "t2", "t3"]
    assert layout({"nothing": 1}).nodes == ()


def test_receivable_graph_draws_a_held_share_and_its_release() -> None:
    """A sanctioned holder's share goes into a hold box (blocked, and why), then to the holder."""
    history = [
        {"action": "split_from", "holder": "fuel", "tx": "t3", "height": 3, "amount": 30},
        {"action": "repay_held", "holder": "fuel", "tx": "t5", "height": 5, "held": 30,
         "reason": "SANCTIONED"},
        {"action": "hold_released", "holder": "fuel", "tx": "t8", "height": 8, "paid": 30},
    ]  # fmt: skip
    piece = {"id": "c", "parent": None, "amount": 30, "status": "settled", "history": history}
    graph = layout({"pieces": [piece]})
    boxes = [(n.holder, n.amount, n.status, n.label) for n in graph.nodes]
    assert boxes == [
        ("fuel", 30, "settled", "repaid into a hold"),
        ("hold for fuel", 30, "held", "held until released"),
        ("fuel", 30, "paid", "released to the holder"),
    ]
    assert [(e.kind, e.tx, e.amount) for e in graph.edges] == [
        ("held", "t5", 30),
        ("released", "t8", 30),
    ]
    still_held = layout({"pieces": [{**piece, "history": history[:2]}]})
    assert still_held.nodes[-1].label == "blocked: SANCTIONED"


@pytest.mark.parametrize("field", ["block_hash", "signers", "agg_sig", None])
def test_the_explorer_agrees_with_the_ledger_certificate_check(field: str | None) -> None:
    """The explorer spells out each check for people; its verdict is the ledger's rule."""
    certificates = pytest.importorskip("ledger.certificates")
    genesis, header, certificate = _block()
    if field is not None:
        value = bytearray(getattr(certificate, field))
        value[0] ^= 0x02
        certificate = Certificate(**{**certificate.to_value(), field: bytes(value)})
    ledger_ok = certificates.verify_certificate(
        genesis.validators, genesis.chain, header.hash(), certificate, height=header.height
    )
    assert verify_certificate(genesis, header, certificate).ok == ledger_ok
