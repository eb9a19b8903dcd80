"""ledger.certificates.verify_certificate with real BLS: quorum of distinct validators, one
canonical bitmap, the aggregate over the commit digest."""

from __future__ import annotations

from ledger.certificates import certificate_signers, quorum_size, verify_certificate
from ledger.crypto import BlsKey, bls
from ledger.types import Certificate, commit_digest, signer_bitmap

KEYS = [BlsKey.from_secret(7 + i) for i in range(4)]
PUBLICS = [k.public for k in KEYS]
HASH = bytes(range(32))


def certificate(signers: list[int], height: int = 5, block_hash: bytes = HASH) -> Certificate:
    digest = commit_digest("c", height, block_hash)
    agg = bls.aggregate([KEYS[i].sign(digest) for i in signers])
    return Certificate(height, 0, block_hash, signer_bitmap(signers, 4), agg)


def test_quorum_sizes() -> None:
    assert [quorum_size(n) for n in (1, 4, 7, 10)] == [1, 3, 5, 7]


def test_a_quorum_certificate_verifies() -> None:
    assert verify_certificate(PUBLICS, "c", HASH, certificate([0, 1, 3]), height=5)
    assert verify_certificate(PUBLICS, "c", HASH, certificate([0, 1, 2, 3]))


def test_too_few_signers_fail() -> None:
    assert not verify_certificate(PUBLICS, "c", HASH, certificate([0, 1]))


def test_wrong_block_height_or_chain_fail() -> None:
    cert = certificate([0, 1, 2])
    assert not verify_certificate(PUBLICS, "c", bytes(32), cert)
    assert not verify_certificate(PUBLICS, "c", HASH, cert, height=6)
    assert not verify_certificate(PUBLICS, "other", HASH, cert)


def test_bitmap_must_name_the_actual_signers_canonically() -> None:
    cert = certificate([0, 1, 2])
    lying = Certificate(cert.height, cert.view, HASH, signer_bitmap([0, 1, 3], 4), cert.agg_sig)
    assert not verify_certificate(PUBLICS, "c", HASH, lying)
    padded = Certificate(cert.height, cert.view, HASH, cert.signers + b"\x00", cert.agg_sig)
    assert certificate_signers(padded, 4) is None
    assert not verify_certificate(PUBLICS, "c", HASH, padded)
    high_bit = Certificate(cert.height, cert.view, HASH, bytes([0b10111]), cert.agg_sig)
    assert certificate_signers(high_bit, 4) is None
