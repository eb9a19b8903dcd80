"""Offline verification of a transaction's inclusion proof (DESIGN.md §6, §9).

Nothing here trusts the node that served the proof: with only the genesis file, a verifier
re-derives the tx id, checks both RFC 6962 audit paths against the header's roots, ties the
header to the genesis chain and the validator set in force at its height (the genesis set, or
the one governance installed: pass the `ValidatorHistory` derived from the chain), and checks
that a quorum of that set BLS-signed the header's hash. Every check is recorded, so an auditor
sees what was verified and which step failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger import certificates, merkle
from ledger.errors import DecodeError
from ledger.genesis import Genesis, ValidatorInfo, validators_hash
from ledger.hashing import sha256
from ledger.membership import ValidatorHistory
from ledger.types import Certificate, Header, Receipt, SignedTx
from wallet.forms import FormError, field, hex_bytes, natural, parse_certificate

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Check:
    """One verified property: its name, whether it held, and what was found."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def all_held(checks: tuple[Check, ...]) -> bool:
    """A verdict over `checks`: at least one was made and every one held."""
    return bool(checks) and all(check.ok for check in checks)


def failed(checks: tuple[Check, ...]) -> tuple[Check, ...]:
    return tuple(check for check in checks if not check.ok)


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """The outcome of `verify_proof`: each check in order, and whether all of them held."""

    checks: tuple[Check, ...]
    tx_id: str
    height: int | None

    @property
    def ok(self) -> bool:
        return all_held(self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return failed(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tx_id": self.tx_id,
            "height": self.height,
            "checks": [check.to_json() for check in self.checks],
        }


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


def _path(value: Any, where: str) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise FormError(f"{where} must be a list of hex hashes")
    return tuple(hex_bytes(item, f"{where}[{i}]", 32) for i, item in enumerate(value))


def _decoded(raw: bytes, name: str, what: str, decode: Callable[[bytes], T]) -> T:
    try:
        return decode(raw)
    except DecodeError as exc:
        raise FormError(f"{name} is not a canonical {what}: {exc.message}") from None


def _parse(proof: Any) -> _Proof:
    if not isinstance(proof, dict):
        raise FormError("a proof must be a JSON object")
    tx_bytes = hex_bytes(field(proof, "tx", "proof"), "tx")
    receipt_bytes = hex_bytes(field(proof, "receipt", "proof"), "receipt")
    header_bytes = hex_bytes(field(proof, "header", "proof"), "header")
    return _Proof(
        tx_bytes=tx_bytes,
        receipt_bytes=receipt_bytes,
        header_bytes=header_bytes,
        tx=_decoded(tx_bytes, "tx", "signed tx", SignedTx.decode),
        receipt=_decoded(receipt_bytes, "receipt", "receipt", Receipt.decode),
        header=_decoded(header_bytes, "header", "header", Header.decode),
        index=natural(field(proof, "index", "proof"), "index"),
        tree_size=natural(field(proof, "tree_size", "proof"), "tree_size"),
        tx_path=_path(field(proof, "tx_path", "proof"), "tx_path"),
        receipt_path=_path(field(proof, "receipt_path", "proof"), "receipt_path"),
        certificate=parse_certificate(field(proof, "certificate", "proof")),
    )


def validators_in_force(
    genesis: Genesis, history: ValidatorHistory | None, height: int
) -> tuple[ValidatorInfo, ...]:
    """The set that signs at `height`: from `history` when given, else the genesis set."""
    return genesis.validators if history is None else history.at(height)


def verify_certificate(
    genesis: Genesis,
    certificate: Certificate,
    header_hash: bytes,
    history: ValidatorHistory | None = None,
) -> str | None:
    """Why `certificate` does not commit the block with `header_hash`, or None when it does.

    The verdict is ledger.certificates.check_certificate, the one rule the node, the explorer
    and the wallet share, against the set in force at the certificate's height; this only
    words its first failure for a person.
    """
    validators = validators_in_force(genesis, history, certificate.height)
    verdict = certificates.check_certificate(validators, genesis.chain, header_hash, certificate)
    n = verdict.validators
    reasons = {
        "block_hash": "certificate block_hash is not the header's hash",
        "bitmap": f"signers bitmap is malformed: it must be {(n + 7) // 8} byte(s) naming only "
        f"validators 0..{n - 1}",
        "quorum": f"only {len(verdict.signers)} signers; the quorum is {verdict.quorum}",
        "signature": "the aggregate BLS signature does not verify",
    }
    return None if verdict.failure is None else reasons[verdict.failure]


def _tx_checks(proof: _Proof, tx_id: bytes, expected_tx_id: str | None) -> list[Check]:
    """The tx is the one asked for, signed by its sender, and the receipt is its receipt."""
    checks = []
    if expected_tx_id is not None:
        checks.append(
            Check("tx_id", tx_id.hex() == expected_tx_id.lower(), f"sha256(body) = {tx_id.hex()}")
        )
    receipt, header = proof.receipt, proof.header
    checks += [
        Check(
            "tx_signature",
            proof.tx.signature_valid(),
            "Ed25519 signature of the sender over the tx id",
        ),
        Check("receipt_tx", receipt.tx == tx_id, f"receipt.tx = {receipt.tx.hex()}"),
        Check(
            "receipt_position",
            receipt.height == header.height and receipt.index == proof.index,
            f"receipt at height {receipt.height} index {receipt.index}; "
            f"proof at height {header.height} index {proof.index}",
        ),
    ]
    return checks


def _inclusion_checks(proof: _Proof) -> list[Check]:
    """Both audit paths lead from the encodings to the header's roots."""
    header = proof.header
    return [
        Check(
            "tx_inclusion",
            merkle.verify_inclusion(
                proof.tx_bytes, proof.index, proof.tree_size, proof.tx_path, header.txs_root
            ),
            f"audit path of {len(proof.tx_path)} hashes to txs_root "
            f"at {proof.index}/{proof.tree_size}",
        ),
        Check(
            "receipt_inclusion",
            merkle.verify_inclusion(
                proof.receipt_bytes,
                proof.index,
                proof.tree_size,
                proof.receipt_path,
                header.receipts_root,
            ),
            f"audit path of {len(proof.receipt_path)} hashes to receipts_root",
        ),
    ]


def header_checks(
    header: Header,
    header_bytes: bytes,
    certificate: Certificate,
    genesis: Genesis,
    history: ValidatorHistory | None = None,
) -> list[Check]:
    """The header belongs to the genesis chain and the validator set in force at its height,
    and is certified (the part every offline proof shares: of a transaction here, of a state
    key in state_proofs)."""
    validators = validators_in_force(genesis, history, header.height)
    same_validators = header.validators_hash == validators_hash(validators)
    header_hash = sha256(header_bytes)
    reason = verify_certificate(genesis, certificate, header_hash, history)
    needed = certificates.quorum_size(len(validators))
    quorum = f"a quorum of {needed} of {len(validators)} validators signed"
    return [
        Check(
            "chain",
            header.chain == genesis.chain,
            f"header chain {header.chain!r}, genesis chain {genesis.chain!r}",
        ),
        Check(
            "validators_hash",
            same_validators,
            f"header commits to the validator set in force at height {header.height}"
            if same_validators
            else "header names a different validator set",
        ),
        Check(
            "certificate_block",
            certificate.block_hash == header_hash,
            f"sha256(header) = {header_hash.hex()}",
        ),
        Check(
            "certificate_height",
            certificate.height == header.height,
            f"certificate height {certificate.height}, header height {header.height}",
        ),
        Check("certificate_signatures", reason is None, reason or quorum),
    ]


def verify_proof(
    proof_json: Any,
    genesis: Genesis,
    expected_tx_id: str | None = None,
    history: ValidatorHistory | None = None,
) -> ProofCheck:
    """Check an inclusion proof offline against `genesis`; never raises on bad input.

    With `expected_tx_id`, also check that the proof is about that transaction (a node could
    otherwise answer with a valid proof of some other tx).
    """
    try:
        proof = _parse(proof_json)
    except FormError as exc:
        return ProofCheck((Check("decode", False, str(exc)),), expected_tx_id or "", None)
    tx_id = proof.tx.id  # recomputed from the body when it was decoded (ledger.types.tx_id)
    checks = [
        Check("decode", True, "tx, receipt and header are canonical encodings"),
        *_tx_checks(proof, tx_id, expected_tx_id),
        *_inclusion_checks(proof),
        *header_checks(proof.header, proof.header_bytes, proof.certificate, genesis, history),
    ]
    return ProofCheck(tuple(checks), tx_id.hex(), proof.header.height)
