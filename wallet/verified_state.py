"""What a state key holds, believed only once its proof checks offline (DESIGN.md §6).

`verify_state_answer` takes the answer of `GET /v1/state/proof` and the consortium's genesis
(a trusted copy, never the node's own): `wallet.state_proofs.verify_state_proof` checks the key,
the height, the fold to the header's `state_root`, and the certificate through the one verdict
`ledger.certificates.check_certificate`. Only then is the value handed out, with what vouches
for it (height, root, block hash, signers and quorum); otherwise `StateNotVerified` says which
check failed. The typed readers (`balance`, `piece`) give a key of public interest its meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.state_keys import balance_key, piece_key
from ledger.types import Header, bitmap_indexes
from wallet.errors import NO_GENESIS, ApiError
from wallet.forms import parse_certificate
from wallet.proofs import Check
from wallet.state_proofs import StateProofCheck, verify_state_proof

__all__ = [
    "StateNotVerified",
    "VerifiedState",
    "balance_key",
    "piece_key",
    "trusted_genesis",
    "verify_balance_answer",
    "verify_piece_answer",
    "verify_state_answer",
]


@dataclass(frozen=True, slots=True)
class VerifiedState:
    """A key's value after block `height`, proved under that block's certified state_root."""

    key: str
    height: int
    present: bool
    value: Any  # the decoded value (a balance: 0 when absent; otherwise None when absent)
    state_root: bytes
    block_hash: bytes
    signers: tuple[str, ...]  # names of the validators whose signatures the certificate holds
    quorum: int
    validators: int
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "key": self.key,
            "height": self.height,
            "present": self.present,
            "value": self.value,
            "state_root": self.state_root.hex(),
            "block_hash": self.block_hash.hex(),
            "signers": list(self.signers),
            "quorum": self.quorum,
            "validators": self.validators,
            "checks": [check.to_json() for check in self.checks],
        }


class StateNotVerified(TallyError):
    """The node's answer did not prove the key: `check` holds every check and which failed."""

    def __init__(self, check: StateProofCheck) -> None:
        failed = check.failures[0] if check.failures else Check("proof", False, "no checks")
        super().__init__(
            "STATE_NOT_VERIFIED",
            f"the proof of {check.key!r} does not verify: {failed.name}: {failed.detail}",
        )
        self.check = check


def trusted_genesis(genesis: Genesis | None) -> Genesis:
    """The genesis a verified read checks against; there is no default: the node's own would
    make the check the node's word (NO_GENESIS)."""
    if genesis is None:
        raise ApiError(
            NO_GENESIS, "verifying state needs the consortium's genesis: Client(url, genesis=...)"
        )
    return genesis


def verify_state_answer(
    answer: Any, genesis: Genesis, key: str, height: int | None = None
) -> VerifiedState:
    """The value `answer` proves for `key` (at `height`, if given), or StateNotVerified."""
    check = verify_state_proof(answer, genesis, key, height)
    if not check.ok or check.height is None:
        raise StateNotVerified(check)
    # Both parsed already inside verify_state_proof: these cannot fail any more.
    header = Header.decode(bytes.fromhex(answer["header"]))
    certificate = parse_certificate(answer["certificate"])
    signers = bitmap_indexes(certificate.signers, len(genesis.validators))
    return VerifiedState(
        key=key,
        height=check.height,
        present=check.present,
        value=check.value,
        state_root=header.state_root,
        block_hash=header.hash(),
        signers=tuple(genesis.validators[index].name for index in signers),
        quorum=genesis.quorum,
        validators=len(genesis.validators),
        checks=check.checks,
    )


def verify_balance_answer(
    answer: Any, genesis: Genesis, org: str, currency: str, height: int | None = None
) -> VerifiedState:
    """`org`'s balance in `currency`, minor units (an absent key is a balance of 0)."""
    state = verify_state_answer(answer, genesis, balance_key(currency, org), height)
    if not state.present:
        return replace(state, value=0)
    if type(state.value) is not int:
        raise TallyError("BAD_STATE_VALUE", f"{state.key} holds {state.value!r}, not an amount")
    return state


def verify_piece_answer(
    answer: Any, genesis: Genesis, piece_id: str, height: int | None = None
) -> VerifiedState:
    """The receivable piece `piece_id` as stored (its record's map), or None when absent."""
    state = verify_state_answer(answer, genesis, piece_key(piece_id), height)
    if state.present and not isinstance(state.value, dict):
        raise TallyError("BAD_STATE_VALUE", f"{state.key} holds {state.value!r}, not a piece")
    return state
