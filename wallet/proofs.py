"""Offline verification of a transaction's inclusion proof (DESIGN.md §6, §9).

Nothing here trusts the node that served the proof: with only the genesis file, a verifier
re-derives the tx id, checks both RFC 6962 audit paths against the header's roots, ties the
header to the genesis chain and validator set, and checks that 2f+1 genesis validators
BLS-signed the header's hash. Every check is recorded, so an auditor sees what was verified and
which step failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import certificates, merkle
from ledger.errors import DecodeError
from ledger.genesis import Genesis
from ledger.hashing import sha256
from ledger.types import Certificate, Header, Receipt, SignedTx


@dataclass(frozen=True, slots=True)
class Check:
    """One verified property: its name, whether it held, and what was found."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """The outcome of `verify_proof`: each check in order, and whether all of them held."""

    checks: tuple[Check, ...]
    tx_id: str
    height: int | None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tx_id": self.tx_id,
            "height": self.height,
            "checks": [
                {"name": check.name, "ok": check.ok, "detail": check.detail}
                for check in self.checks
            ],
        }


class ProofFormatError(ValueError):
    """The proof JSON does not have the shape of DESIGN.md §9."""


@dataclass(frozen=True, slots=True)
class _Proof:
    tx_bytes: bytes
    receipt_bytes: bytes
    header_bytes: bytes
    tx: SignedTx
    receipt: Receipt
    header: Header
    index: int
    tree_size: int
    tx_path: tuple[bytes, ...]
    receipt_path: tuple[bytes, ...]
    certificate: Certificate


def _hex(value: Any, where: str, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ProofFormatError(f"{where} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ProofFormatError(f"{where} is not hex") from None
    if size is not None and len(raw) != size:
        raise ProofFormatError(f"{where} must be {size} bytes, got {len(raw)}")
    return raw


def _int(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofFormatError(f"{where} must be a non-negative integer")
    return value


def _path(value: Any, where: str) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise ProofFormatError(f"{where} must be a list of hex hashes")
    return tuple(_hex(item, f"{where}[{i}]", 32) for i, item in enumerate(value))


def _field(proof: dict[str, Any], name: str) -> Any:
    if name not in proof:
        raise ProofFormatError(f"proof is missing {name!r}")
    return proof[name]


def parse_certificate(value: Any) -> Certificate:
    """A certificate from its JSON form (numbers, hex strings)."""
    if not isinstance(value, dict):
        raise ProofFormatError("certificate must be an object")
    return Certificate(
        height=_int(_field(value, "height"), "certificate.height"),
        view=_int(_field(value, "view"), "certificate.view"),
        block_hash=_hex(_field(value, "block_hash"), "certificate.block_hash", 32),
        signers=_hex(_field(value, "signers"), "certificate.signers"),
        agg_sig=_hex(_field(value, "agg_sig"), "certificate.agg_sig", 96),
    )


def _parse(proof: Any) -> _Proof:
    if not isinstance(proof, dict):
        raise ProofFormatError("a proof must be a JSON object")
    tx_bytes = _hex(_field(proof, "tx"), "tx")
    receipt_bytes = _hex(_field(proof, "receipt"), "receipt")
    header_bytes = _hex(_field(proof, "header"), "header")
    try:
        tx = SignedTx.decode(tx_bytes)
    except DecodeError as exc:
        raise ProofFormatError(f"tx is not a canonical signed tx: {exc.message}") from None
    try:
        receipt = Receipt.decode(receipt_bytes)
    except DecodeError as exc:
        raise ProofFormatError(f"receipt is not a canonical receipt: {exc.message}") from None
    try:
        header = Header.decode(header_bytes)
    except DecodeError as exc:
        raise ProofFormatError(f"header is not a canonical header: {exc.message}") from None
    return _Proof(
        tx_bytes=tx_bytes,
        receipt_bytes=receipt_bytes,
        header_bytes=header_bytes,
        tx=tx,
        receipt=receipt,
        header=header,
        index=_int(_field(proof, "index"), "index"),
        tree_size=_int(_field(proof, "tree_size"), "tree_size"),
        tx_path=_path(_field(proof, "tx_path"), "tx_path"),
        receipt_path=_path(_field(proof, "receipt_path"), "receipt_path"),
        certificate=parse_certificate(_field(proof, "certificate")),
    )


def verify_certificate(
    genesis: Genesis, certificate: Certificate, header_hash: bytes
) -> str | None:
    """Why `certificate` does not commit the block with `header_hash`, or None when it does.

    The verdict is ledger.certificates.verify_certificate, the one check the node, the explorer
    and the wallet share; the steps before it only name the reason for a person.
    """
    if certificate.block_hash != header_hash:
        return "certificate block_hash is not the header's hash"
    n = len(genesis.validators)
    signers = certificates.certificate_signers(certificate, n)
    if signers is None:
        return (
            f"signers bitmap is malformed: it must be {(n + 7) // 8} byte(s) naming only "
            f"validators 0..{n - 1}"
        )
    quorum = certificates.quorum_size(n)
    if len(signers) < quorum:
        return f"only {len(signers)} signers; the quorum is {quorum}"
    if not certificates.verify_certificate(
        genesis.validators, genesis.chain, header_hash, certificate
    ):
        return "the aggregate BLS signature does not verify"
    return None


def verify_proof(
    proof_json: Any, genesis: Genesis, expected_tx_id: str | None = None
) -> ProofCheck:
    """Check an inclusion proof offline against `genesis`; never raises on bad input.

    With `expected_tx_id`, also check that the proof is about that transaction (a node could
    otherwise answer with a valid proof of some other tx).
    """
    checks: list[Check] = []

    def record(name: str, ok: bool, detail: str) -> bool:
        checks.append(Check(name, ok, detail))
        return ok

    try:
        proof = _parse(proof_json)
    except ProofFormatError as exc:
        record("decode", False, str(exc))
        return ProofCheck(tuple(checks), expected_tx_id or "", None)
    record("decode", True, "tx, receipt and header are canonical encodings")

    tx_id = sha256(proof.tx.body_bytes)
    header = proof.header
    if expected_tx_id is not None:
        record(
            "tx_id",
            tx_id.hex() == expected_tx_id.lower(),
            f"sha256(body) = {tx_id.hex()}",
        )
    record(
        "tx_signature",
        proof.tx.signature_valid(),
        "Ed25519 signature of the sender over the tx id",
    )
    record(
        "receipt_tx",
        proof.receipt.tx == tx_id,
        f"receipt.tx = {proof.receipt.tx.hex()}",
    )
    record(
        "receipt_position",
        proof.receipt.height == header.height and proof.receipt.index == proof.index,
        f"receipt at height {proof.receipt.height} index {proof.receipt.index}; "
        f"proof at height {header.height} index {proof.index}",
    )
    record(
        "tx_inclusion",
        merkle.verify_inclusion(
            proof.tx_bytes, proof.index, proof.tree_size, proof.tx_path, header.txs_root
        ),
        f"audit path of {len(proof.tx_path)} hashes to txs_root at {proof.index}/{proof.tree_size}",
    )
    record(
        "receipt_inclusion",
        merkle.verify_inclusion(
            proof.receipt_bytes,
            proof.index,
            proof.tree_size,
            proof.receipt_path,
            header.receipts_root,
        ),
        f"audit path of {len(proof.receipt_path)} hashes to receipts_root",
    )
    record(
        "chain",
        header.chain == genesis.chain,
        f"header chain {header.chain!r}, genesis chain {genesis.chain!r}",
    )
    record(
        "validators_hash",
        header.validators_hash == genesis.validators_hash(),
        "header commits to the genesis validator set"
        if header.validators_hash == genesis.validators_hash()
        else "header names a different validator set",
    )
    header_hash = sha256(proof.header_bytes)
    certificate = proof.certificate
    record(
        "certificate_block",
        certificate.block_hash == header_hash,
        f"sha256(header) = {header_hash.hex()}",
    )
    record(
        "certificate_height",
        certificate.height == header.height,
        f"certificate height {certificate.height}, header height {header.height}",
    )
    reason = verify_certificate(genesis, certificate, header_hash)
    record(
        "certificate_signatures",
        reason is None,
        reason or f"a quorum of {genesis.quorum} of {len(genesis.validators)} validators signed",
    )
    return ProofCheck(tuple(checks), tx_id.hex(), header.height)
