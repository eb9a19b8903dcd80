"""Checking a block's commit certificate (DESIGN.md §6) with nothing but the genesis validators.

A certificate is valid for a block when at least 2f+1 distinct validators of the n in genesis are
named in its signer bitmap and the BLS aggregate of their commit signatures verifies against
`commit_digest(chain, height, block_hash)`. Node state transfer, `tally audit` and the wallet's
proof checks all use this one function; consensus builds certificates that pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ledger.crypto import bls
from ledger.genesis import ValidatorInfo
from ledger.types import Certificate, bitmap_indexes, commit_digest

AggregateVerify = Callable[[Sequence[bytes], bytes, bytes], bool]


def quorum_size(n: int) -> int:
    """2f+1 for n = 3f+1 validators (1 for n = 1)."""
    return 2 * ((n - 1) // 3) + 1


def certificate_signers(certificate: Certificate, n: int) -> list[int] | None:
    """The validator indexes named by the bitmap, or None if the bitmap is malformed.

    The bitmap must be exactly ceil(n/8) bytes with no bit set at or above n, so one set of
    signers has one encoding (a certificate cannot be re-encoded into a different one).
    """
    signers = certificate.signers
    if len(signers) != (n + 7) // 8:
        return None
    indexes = bitmap_indexes(signers, n)
    if sum(bin(byte).count("1") for byte in signers) != len(indexes):
        return None
    return indexes


def verify_certificate(
    validators: Sequence[ValidatorInfo] | Sequence[bytes],
    chain: str,
    block_hash: bytes,
    certificate: Certificate,
    *,
    height: int | None = None,
    aggregate_verify: AggregateVerify | None = None,
) -> bool:
    """True when `certificate` proves 2f+1 of `validators` committed `block_hash`.

    `validators` are the genesis validators in order (or their BLS public keys). `height`, when
    given, must equal the certificate's height (pass the header's height). `aggregate_verify`
    replaces the BLS check (publics, message, signature) -> bool, for tests that simulate
    signatures; by default it is `ledger.crypto.bls.fast_aggregate_verify`.
    """
    if certificate.block_hash != block_hash:
        return False
    if height is not None and certificate.height != height:
        return False
    n = len(validators)
    if n == 0:
        return False
    signers = certificate_signers(certificate, n)
    if signers is None or len(signers) < quorum_size(n):
        return False
    publics = [_bls_public(validators[index]) for index in signers]
    digest = commit_digest(chain, certificate.height, block_hash)
    check = aggregate_verify if aggregate_verify is not None else bls.fast_aggregate_verify
    return bool(check(publics, digest, certificate.agg_sig))


def _bls_public(validator: ValidatorInfo | bytes) -> bytes:
    return validator if isinstance(validator, bytes) else validator.bls
