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

from explorer.contents import Served, root_check, withheld_check
from ledger.certificates import CertificateVerdict, check_certificate
from ledger.errors import TallyError
from ledger.genesis import Genesis, ValidatorInfo, validators_hash
from ledger.membership import ValidatorHistory
from ledger.types import Certificate, Header
from wallet.forms import hex_bytes
from wallet.proofs import Check, all_held, failed
from wallet.proofs import verify_proof as wallet_verify_proof


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checks of one object; `ok` only when every check passed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all_held(self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return failed(self.checks)

    @property
    def reason(self) -> str:
        failed = self.failures
        return "; ".join(f"{c.name}: {c.detail}" for c in failed) if failed else ""


@dataclass(frozen=True, slots=True)
class CertificateReport:
    """A certificate's checks plus who signed it, for "signed by Bank A, Bank B (2 of 4)"."""

    verdict: Verdict
    signer_names: tuple[str, ...]
    signer_indexes: tuple[int, ...]
    validators: int
    quorum: int

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def decode_header(header_hex: Any) -> Header:
    """Decode a header from its hex encoding; ValueError when it is not canonical."""
    try:
        return Header.decode(hex_bytes(header_hex, "header"))
    except TallyError as error:
        raise ValueError(f"header does not decode: {error.message}") from None


def validator_label(genesis: Genesis, index: int, validators: Sequence[ValidatorInfo] = ()) -> str:
    """'Bank A' for the validator run by bank-a: what an auditor recognises. `validators`
    is the set in force (default: the genesis set)."""
    validator = (validators or genesis.validators)[index]
    org = next((o for o in genesis.orgs if o.id == validator.org), None)
    return org.name if org is not None else validator.name


def _header_checks(
    genesis: Genesis, header: Header, validators: Sequence[ValidatorInfo]
) -> list[Check]:
    """The header names this chain and the validator set in force at its height."""
    same_validators = header.validators_hash == validators_hash(list(validators))
    which = "genesis" if tuple(validators) == genesis.validators else "in-force"
    return [
        Check(
            "chain",
            header.chain == genesis.chain,
            f"header {header.chain!r}, genesis {genesis.chain!r}",
        ),
        Check(
            "validators_hash",
            same_validators,
            f"matches the {which} validator set"
            if same_validators
            else f"differs from the {which} validator set",
        ),
    ]


def _worded(
    verdict: CertificateVerdict, header: Header, certificate: Certificate
) -> tuple[list[Check], list[Check]]:
    """The ledger's verdict in the explorer's words: (binding to the header, signatures)."""
    block_hash = header.hash().hex()
    n = verdict.validators
    binding = [
        Check(
            "block hash",
            verdict.block_hash_matches,
            f"sha256(header) = {block_hash[:16]}…"
            + ("" if verdict.block_hash_matches else " ≠ certificate.block_hash"),
        ),
        Check(
            "height",
            verdict.height_matches,
            f"certificate {certificate.height}, header {header.height}",
        ),
    ]
    signatures = [
        Check(
            "signer bitmap",
            verdict.bitmap_canonical,
            f"{len(certificate.signers)} byte(s) for {n} validators"
            + ("" if verdict.bitmap_canonical else ": names validators outside the set"),
        ),
        Check(
            "quorum",
            verdict.quorum_met,
            f"{len(verdict.signers)} of {n} signed, {verdict.quorum} needed",
        ),
        Check(
            "BLS aggregate signature",
            verdict.signature_valid,
            "valid over the commit digest" if verdict.signature_valid else "does not verify",
        ),
    ]
    return binding, signatures


def verify_certificate(
    genesis: Genesis,
    header: Header,
    certificate: Certificate,
    history: ValidatorHistory | None = None,
) -> CertificateReport:
    """Does `certificate` commit `header` on this chain with a quorum of the validators in
    force at its height (`history`, derived from the chain; default: the genesis set)?

    ledger.certificates decides; this words each part of its verdict and names the signers.
    """
    validators = genesis.validators if history is None else history.at(header.height)
    verdict = check_certificate(
        validators, genesis.chain, header.hash(), certificate, height=header.height
    )
    binding, signatures = _worded(verdict, header, certificate)
    checks = binding + _header_checks(genesis, header, validators) + signatures
    return CertificateReport(
        Verdict(tuple(checks)),
        tuple(validator_label(genesis, i, validators) for i in verdict.signers),
        verdict.signers,
        verdict.validators,
        verdict.quorum,
    )


def verify_contents(
    header: Header,
    txs: Served | Sequence[bytes | None] | None,
    receipts: Served | Sequence[bytes | None] | None,
    prev_hash: bytes | None,
    reader: str = "",
) -> Verdict:
    """A block's contents and link: roots recomputed from the encodings, prev checked.

    `txs`/`receipts` are the encodings (None: the node did not serve them, so not checked),
    a withheld one None with its leaf hash in a `Served` (explorer/contents.py); `prev_hash`
    is the hash of the block before (the genesis hash for block 1), if known; `reader` is the
    organization the node answered, for the words on what it withheld.
    """
    checks = []
    if txs is not None:
        served_txs = Served.of(txs)
        checks.append(root_check("txs_root", "transaction", served_txs, header.txs_root))
        withheld = withheld_check(served_txs, reader)
        if withheld is not None:
            checks.append(withheld)
    if receipts is not None:
        served_receipts = Served.of(receipts)
        checks.append(root_check("receipts_root", "receipt", served_receipts, header.receipts_root))
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
    txs: Served | Sequence[bytes | None] | None,
    receipts: Served | Sequence[bytes | None] | None,
    prev_hash: bytes | None,
    history: ValidatorHistory | None = None,
) -> Verdict:
    """Everything checkable about one block: its certificate, then its contents and link."""
    report = verify_certificate(genesis, header, certificate, history)
    contents = verify_contents(header, txs, receipts, prev_hash)
    return Verdict(report.verdict.checks + contents.checks)


def expected_prev(genesis: Genesis, height: int, previous_header: Header | None) -> bytes | None:
    """What block `height`'s prev must be: the genesis hash for block 1, else the hash before."""
    if height == 1:
        return genesis.hash()
    return None if previous_header is None else previous_header.hash()


def check_proof(
    genesis: Genesis, proof: Any, tx_id: str | None = None, history: ValidatorHistory | None = None
) -> Verdict:
    """An inclusion proof (GET /v1/txs/{id}/proof) checked step by step, offline.

    The wallet's verifier is the one implementation of the proof rules; the explorer shows its
    checks in its own terms.
    """
    return Verdict(wallet_verify_proof(proof, genesis, tx_id, history).checks)
