"""Checking a block's commit certificate (DESIGN.md §6) against the validator set in force.

A certificate is valid for a block when at least n − f distinct validators of the n in force at
its height (the genesis set, or the set governance installed: ledger.membership) are named in
its signer bitmap and the BLS aggregate of their commit signatures verifies against
`commit_digest(chain, height, block_hash)`. Node state transfer, `tally audit`, the explorer and
the wallet's proof checks all use this one rule; consensus builds certificates that pass it.

`check_certificate` judges each part of the rule on its own, so a verifier can tell a person
which part failed and who signed; `verify_certificate` is its yes/no.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledger.crypto import bls
from ledger.genesis import ValidatorInfo
from ledger.membership import quorum_of
from ledger.types import Certificate, bitmap_indexes, commit_digest

AggregateVerify = Callable[[Sequence[bytes], bytes, bytes], bool]


def quorum_size(n: int) -> int:
    """n − f with f = ⌊(n−1)/3⌋: 2f+1 for n = 3f+1, and for any other n (a set governance
    grew or shrank) still enough that two quorums share an honest validator."""
    return quorum_of(n)


def certificate_signers(certificate: Certificate, n: int) -> list[int] | None:
    """The validator indexes named by the bitmap, or None if the bitmap is malformed.

    The bitmap must be exactly ceil(n/8) bytes with no bit set at or above n, so one set of
    signers has one encoding (a certificate cannot be re-encoded into a different one).
    """
    if not bitmap_is_canonical(certificate.signers, n):
        return None
    return bitmap_indexes(certificate.signers, n)


def bitmap_is_canonical(signers: bytes, n: int) -> bool:
    """Exactly ceil(n/8) bytes, and no bit set at or above n."""
    if len(signers) != (n + 7) // 8:
        return False
    named = sum(bin(byte).count("1") for byte in signers)
    return named == len(bitmap_indexes(signers, n))


@dataclass(frozen=True, slots=True)
class CertificateVerdict:
    """Each part of the §6 rule, judged on its own; `ok` only when every part holds.

    `signers` are the validators the bitmap names inside the set (even when the bitmap is not
    canonical), and `signature_valid` is the BLS aggregate of exactly those validators over the
    commit digest of the certificate's own height and block hash.
    """

    block_hash_matches: bool
    height_matches: bool
    bitmap_canonical: bool
    signers: tuple[int, ...]
    validators: int
    quorum: int
    signature_valid: bool

    @property
    def quorum_met(self) -> bool:
        return self.validators > 0 and len(self.signers) >= self.quorum

    @property
    def failure(self) -> str | None:
        """The first part that failed: block_hash, height, bitmap, quorum or signature."""
        for name, holds in (
            ("block_hash", self.block_hash_matches),
            ("height", self.height_matches),
            ("bitmap", self.bitmap_canonical),
            ("quorum", self.quorum_met),
            ("signature", self.signature_valid),
        ):
            if not holds:
                return name
        return None

    @property
    def ok(self) -> bool:
        return self.failure is None


def check_certificate(
    validators: Sequence[ValidatorInfo] | Sequence[bytes],
    chain: str,
    block_hash: bytes,
    certificate: Certificate,
    *,
    height: int | None = None,
    aggregate_verify: AggregateVerify | None = None,
) -> CertificateVerdict:
    """Judge whether `certificate` proves a quorum of `validators` committed `block_hash`.

    `validators` are the set in force at the certificate's height, in order (or their BLS
    public keys): `ValidatorHistory.at(height)`, the genesis set on a chain that never
    changed. `height`, when given, must equal the certificate's height (pass the header's
    height). `aggregate_verify` replaces the BLS check (publics, message, signature) -> bool,
    for tests that simulate signatures; by default it is `ledger.crypto.bls.fast_aggregate_verify`.
    """
    n = len(validators)
    signers = bitmap_indexes(certificate.signers, n)
    signature_valid = False
    if signers:
        publics = [_bls_public(validators[index]) for index in signers]
        digest = commit_digest(chain, certificate.height, certificate.block_hash)
        check = aggregate_verify if aggregate_verify is not None else bls.fast_aggregate_verify
        signature_valid = bool(check(publics, digest, certificate.agg_sig))
    return CertificateVerdict(
        block_hash_matches=certificate.block_hash == block_hash,
        height_matches=height is None or certificate.height == height,
        bitmap_canonical=bitmap_is_canonical(certificate.signers, n),
        signers=tuple(signers),
        validators=n,
        quorum=quorum_size(n),
        signature_valid=signature_valid,
    )


def verify_certificate(
    validators: Sequence[ValidatorInfo] | Sequence[bytes],
    chain: str,
    block_hash: bytes,
    certificate: Certificate,
    *,
    height: int | None = None,
    aggregate_verify: AggregateVerify | None = None,
) -> bool:
    """True when `certificate` proves 2f+1 of `validators` committed `block_hash`."""
    verdict = check_certificate(
        validators,
        chain,
        block_hash,
        certificate,
        height=height,
        aggregate_verify=aggregate_verify,
    )
    return verdict.ok


def _bls_public(validator: ValidatorInfo | bytes) -> bytes:
    return validator if isinstance(validator, bytes) else validator.bls
