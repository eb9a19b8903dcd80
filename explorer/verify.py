"""Pure checks of what a node serves, against nothing but the genesis file.

Each check returns a `Check` naming what was compared and why it failed, so the web pages and
`tally audit` can show an auditor exactly what was verified here rather than a bare yes/no.
Inputs are the node's JSON (DESIGN.md §9) with bytes as hex; the hex is decoded and hashed here,
the node's decoded fields are never trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.crypto import bls
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.merkle import merkle_root
from ledger.types import (
    Certificate,
    Header,
    bitmap_indexes,
    commit_digest,
)
from wallet.proofs import Check
from wallet.proofs import verify_proof as wallet_verify_proof


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checks of one object; `ok` only when every check passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    @property
    def reason(self) -> str:
        failed = self.failures
        return "; ".join(f"{c.name}: {c.detail}" for c in failed) if failed else ""


@dataclass(frozen=True, slots=True)
class CertificateVerdict:
    """A certificate's checks plus who signed it, for "signed by Bank A, Bank B (2 of 4)"."""

    verdict: Verdict
    signer_names: tuple[str, ...]
    signer_indexes: tuple[int, ...]
    validators: int
    quorum: int

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ValueError(f"{what} is not hex") from None


def certificate_from_json(value: Any) -> Certificate:
    """The §9 JSON certificate (hex fields) as a `Certificate`; ValueError naming the fault."""
    if not isinstance(value, dict):
        raise ValueError("certificate is missing")
    try:
        return Certificate.from_value(
            {
                "height": value.get("height"),
                "view": value.get("view"),
                "block_hash": _hex(value.get("block_hash"), "block_hash"),
                "signers": _hex(value.get("signers"), "signers"),
                "agg_sig": _hex(value.get("agg_sig"), "agg_sig"),
            }
        )
    except TallyError as error:
        raise ValueError(error.message) from None


def decode_header(header_hex: Any) -> Header:
    """Decode a header from its hex encoding; ValueError when it is not canonical."""
    try:
        return Header.decode(_hex(header_hex, "header"))
    except TallyError as error:
        raise ValueError(f"header does not decode: {error.message}") from None


def validator_label(genesis: Genesis, index: int) -> str:
    """'Bank A' for the validator run by bank-a: what an auditor recognises."""
    validator = genesis.validators[index]
    org = next((o for o in genesis.orgs if o.id == validator.org), None)
    return org.name if org is not None else validator.name


def verify_certificate(
    genesis: Genesis, header: Header, certificate: Certificate
) -> CertificateVerdict:
    """Does `certificate` commit `header` on this chain with a quorum of genesis validators?"""
    n = len(genesis.validators)
    block_hash = header.hash()
    checks = [
        Check(
            "block hash",
            certificate.block_hash == block_hash,
            f"sha256(header) = {block_hash.hex()[:16]}…"
            + ("" if certificate.block_hash == block_hash else " ≠ certificate.block_hash"),
        ),
        Check(
            "height",
            certificate.height == header.height,
            f"certificate {certificate.height}, header {header.height}",
        ),
        Check(
            "chain",
            header.chain == genesis.chain,
            f"header {header.chain!r}, genesis {genesis.chain!r}",
        ),
        Check(
            "validators_hash",
            header.validators_hash == genesis.validators_hash(),
            "matches the genesis validator set"
            if header.validators_hash == genesis.validators_hash()
            else "differs from the genesis validator set",
        ),
    ]
    expected_len = (n + 7) // 8
    stray = len(certificate.signers) != expected_len or any(
        certificate.signers[i // 8] >> (i % 8) & 1 for i in range(n, len(certificate.signers) * 8)
    )
    indexes = bitmap_indexes(certificate.signers, n)
    checks.append(
        Check(
            "signer bitmap",
            not stray,
            f"{len(certificate.signers)} byte(s) for {n} validators"
            + (": names validators outside the set" if stray else ""),
        )
    )
    checks.append(
        Check(
            "quorum",
            len(indexes) >= genesis.quorum,
            f"{len(indexes)} of {n} signed, {genesis.quorum} needed",
        )
    )
    publics = [genesis.validators[i].bls for i in indexes]
    digest = commit_digest(genesis.chain, header.height, certificate.block_hash)
    signature_ok = bool(publics) and bls.fast_aggregate_verify(publics, digest, certificate.agg_sig)
    checks.append(
        Check(
            "BLS aggregate signature",
            signature_ok,
            "valid over the commit digest" if signature_ok else "does not verify",
        )
    )
    return CertificateVerdict(
        Verdict(tuple(checks)),
        tuple(validator_label(genesis, i) for i in indexes),
        tuple(indexes),
        n,
        genesis.quorum,
    )


def verify_contents(
    header: Header,
    txs: Sequence[bytes] | None,
    receipts: Sequence[bytes] | None,
    prev_hash: bytes | None,
) -> Verdict:
    """A block's contents and link: roots recomputed from the encodings, prev checked.

    `txs`/`receipts` are the encodings (None: the node did not serve them, so not checked);
    `prev_hash` is the hash of the block before (the genesis hash for block 1), if known.
    """
    checks = []
    if txs is not None:
        root = merkle_root(list(txs))
        checks.append(
            Check(
                "txs_root",
                root == header.txs_root,
                f"recomputed over {len(txs)} transaction(s)"
                + ("" if root == header.txs_root else ": differs from the header"),
            )
        )
    if receipts is not None:
        root = merkle_root(list(receipts))
        checks.append(
            Check(
                "receipts_root",
                root == header.receipts_root,
                f"recomputed over {len(receipts)} receipt(s)"
                + ("" if root == header.receipts_root else ": differs from the header"),
            )
        )
    if prev_hash is not None:
        what = "genesis hash" if header.height == 1 else f"hash of block {header.height - 1}"
        checks.append(
            Check(
                "prev link",
                header.prev == prev_hash,
                f"header.prev {'=' if header.prev == prev_hash else '≠'} {what}",
            )
        )
    return Verdict(tuple(checks))


def verify_block(
    genesis: Genesis,
    header: Header,
    certificate: Certificate,
    txs: Sequence[bytes] | None,
    receipts: Sequence[bytes] | None,
    prev_hash: bytes | None,
) -> Verdict:
    """Everything checkable about one block: its certificate, then its contents and link."""
    cert = verify_certificate(genesis, header, certificate)
    contents = verify_contents(header, txs, receipts, prev_hash)
    return Verdict(cert.verdict.checks + contents.checks)


def expected_prev(genesis: Genesis, height: int, previous_header: Header | None) -> bytes | None:
    """What block `height`'s prev must be: the genesis hash for block 1, else the hash before."""
    if height == 1:
        return genesis.hash()
    return None if previous_header is None else previous_header.hash()


def check_proof(genesis: Genesis, proof: Any, tx_id: str | None = None) -> Verdict:
    """An inclusion proof (GET /v1/txs/{id}/proof) checked step by step, offline.

    The wallet's verifier is the one implementation of the proof rules; the explorer shows its
    checks in its own terms.
    """
    result = wallet_verify_proof(proof, genesis, tx_id)
    return Verdict(tuple(Check(c.name, c.ok, c.detail) for c in result.checks))
