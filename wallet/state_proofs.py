"""Offline verification of a state proof: what a key holds after a block (DESIGN.md §6).

The answer of `GET /v1/state/proof` is checked with nothing but the genesis file: the key's
leaf (or the empty subtree, or the other leaf on its path) folds with the siblings into the
header's `state_root`, and the header is certified by 2f+1 genesis validators, exactly as an
inclusion proof's header is (`wallet.proofs.header_checks`). So an auditor learns a balance or a
receivable's status without replaying the chain or trusting the node that answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import codec
from ledger.errors import DecodeError
from ledger.genesis import Genesis
from ledger.membership import ValidatorHistory
from ledger.smt import PATH_BITS, OtherLeaf, StateKeyError, StateProof, StateProofError, utf8_key
from ledger.types import Certificate, Header
from wallet.forms import FormError, field, hex_bytes, natural, parse_certificate
from wallet.proofs import Check, all_held, failed, header_checks


@dataclass(frozen=True, slots=True)
class StateProofCheck:
    """The outcome of `verify_state_proof`: each check in order, and what the key holds."""

    checks: tuple[Check, ...]
    key: str
    height: int | None
    present: bool
    value: Any  # the decoded value when present, else None

    @property
    def ok(self) -> bool:
        return all_held(self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return failed(self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "key": self.key,
            "height": self.height,
            "present": self.present,
            "checks": [check.to_json() for check in self.checks],
        }


@dataclass(frozen=True, slots=True)
class _Parsed:
    proof: StateProof
    height: int
    value: Any
    header_bytes: bytes
    header: Header
    certificate: Certificate


def _siblings(value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise FormError("siblings must be a list of hex hashes")
    if len(value) > PATH_BITS:  # bounded before any of it is parsed
        raise FormError(f"siblings has {len(value)} hashes; a path has {PATH_BITS} bits")
    return tuple(hex_bytes(item, f"siblings[{i}]", 32) for i, item in enumerate(value))


def _other(value: Any) -> OtherLeaf | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise FormError("other must be null or an object")
    return OtherLeaf(
        hex_bytes(field(value, "key_hash", "other"), "other.key_hash", 32),
        hex_bytes(field(value, "value_hash", "other"), "other.value_hash", 32),
    )


def _value(value: Any) -> tuple[bytes | None, Any]:
    """The value's encoding and what it decodes to; a non-canonical encoding is refused."""
    if value is None:
        return None, None
    raw = hex_bytes(value, "value")
    try:
        return raw, codec.decode(raw)
    except DecodeError as exc:
        raise FormError(f"value is not a canonical encoding: {exc.message}") from None


def _parse(proof_json: Any) -> _Parsed:
    if not isinstance(proof_json, dict):
        raise FormError("a state proof must be a JSON object")
    key = field(proof_json, "key", "state proof")
    if not isinstance(key, str):
        raise FormError("key must be a string")
    try:
        utf8_key(key)
    except StateKeyError as exc:
        raise FormError(f"key: {exc.message}") from None
    raw_value, value = _value(field(proof_json, "value", "state proof"))
    other = _other(field(proof_json, "other", "state proof"))
    if raw_value is not None and other is not None:
        raise FormError("a proof with a value cannot name another leaf")
    header_bytes = hex_bytes(field(proof_json, "header", "state proof"), "header")
    try:
        header = Header.decode(header_bytes)
    except DecodeError as exc:
        raise FormError(f"header is not a canonical header: {exc.message}") from None
    siblings = _siblings(field(proof_json, "siblings", "state proof"))
    return _Parsed(
        proof=StateProof(key, raw_value, siblings, other),
        height=natural(field(proof_json, "height", "state proof"), "height"),
        value=value,
        header_bytes=header_bytes,
        header=header,
        certificate=parse_certificate(field(proof_json, "certificate", "state proof")),
    )


def _state_checks(
    parsed: _Parsed, expected_key: str | None, expected_height: int | None
) -> list[Check]:
    """The proof is about the key and height asked for, and folds to the header's state_root."""
    proof, header = parsed.proof, parsed.header
    checks = []
    if expected_key is not None:
        checks.append(Check("key", proof.key == expected_key, f"proof of {proof.key!r}"))
    if expected_height is not None:
        checks.append(
            Check("height", parsed.height == expected_height, f"proof at height {parsed.height}")
        )
    checks.append(
        Check(
            "header_height",
            parsed.height == header.height,
            f"proof height {parsed.height}, header height {header.height}",
        )
    )
    try:
        root = proof.implied_root()
        folded = root == header.state_root
        detail = (
            f"{'leaf' if proof.value is not None else 'absence'} and {len(proof.siblings)} "
            f"siblings fold to {root.hex()}; header state_root {header.state_root.hex()}"
        )
    except StateProofError as exc:
        folded, detail = False, exc.message
    checks.append(Check("state_root", folded, detail))
    return checks


def verify_state_proof(
    proof_json: Any,
    genesis: Genesis,
    expected_key: str | None = None,
    expected_height: int | None = None,
    history: ValidatorHistory | None = None,
) -> StateProofCheck:
    """Check a §6 state proof offline against `genesis`; never raises on bad input.

    With `expected_key` (and `expected_height`), also check that the proof answers that
    question: a node could otherwise answer with a valid proof about some other key or block.
    `history` names the validator set in force at each height (default: the genesis set).
    """
    try:
        parsed = _parse(proof_json)
    except FormError as exc:
        return StateProofCheck(
            (Check("decode", False, str(exc)),), expected_key or "", None, False, None
        )
    checks = [
        Check("decode", True, "value, siblings and header are canonical"),
        *_state_checks(parsed, expected_key, expected_height),
        *header_checks(parsed.header, parsed.header_bytes, parsed.certificate, genesis, history),
    ]
    present = parsed.proof.value is not None
    return StateProofCheck(tuple(checks), parsed.proof.key, parsed.height, present, parsed.value)
