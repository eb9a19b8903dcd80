"""State proofs on the business pages: a balance or a receivable piece is shown as true only once
its proof (GET /v1/state/proof, DESIGN.md §6) checks here against the genesis the explorer trusts.

The verdict is the SDK's (`wallet.verified_state`: the fold to the header's state_root and the
certificate through `ledger.certificates.check_certificate`); this module fetches the proofs a
page needs — concurrently, at most `PROOF_CONCURRENCY` at a time across all pages, each within
`PROOF_TIMEOUT_S` — and words the outcome for an auditor as a `StateBadge`: verified (with the
height, state root, block and who signed it), NOT verified (and why), or unavailable (a node
without the route, a pruned height: nothing proven, nothing claimed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from explorer.reader import NodeError, NodeReader, RouteMissing
from explorer.verify import validator_label
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.state_keys import balance_key, escrow_key, piece_key
from wallet.proofs import Check
from wallet.state_proofs import StateProofCheck
from wallet.verified_state import (
    StateNotVerified,
    VerifiedState,
    verify_balance_answer,
    verify_piece_answer,
    verify_state_answer,
)

PROOF_CONCURRENCY = 8
PROOF_TIMEOUT_S = 5.0
MAX_PROOFS_PER_PAGE = 64  # a node listing endless currencies cannot make a page endless

VERIFIED = "verified"
FAILED = "failed"
UNAVAILABLE = "unavailable"

# The checks of wallet.state_proofs in an auditor's words; the check's own detail follows.
_WHY = {
    "decode": "the node's proof does not decode",
    "key": "the proof is about another key",
    "height": "the proof is for another height than asked",
    "header_height": "the proof and its block header disagree on the height",
    "state_root": "the value and its siblings do not hash to the block's state root",
    "chain": "the block is not of this chain",
    "validators_hash": "the block names another validator set",
    "certificate_block": "the certificate is for another block",
    "certificate_height": "the certificate is for another height",
    "certificate_signatures": "the block's certificate does not verify",
}

# The checks that make the proof's block one certified on this chain (wallet.proofs.header_checks).
_CERTIFIED = frozenset(
    {"chain", "validators_hash", "certificate_block", "certificate_height",
     "certificate_signatures"}
)  # fmt: skip
_HASH = re.compile(r"\b[0-9a-f]{64}\b")  # shortened in a headline; the checks table has it all

Verify = Callable[[Any], VerifiedState]


@dataclass(frozen=True, slots=True)
class StateBadge:
    """What one state key was shown to hold, and what vouches for it (or why nothing does)."""

    key: str
    status: str  # VERIFIED, FAILED or UNAVAILABLE
    reason: str = ""  # FAILED / UNAVAILABLE: why, in a sentence
    value: Any = None  # VERIFIED only: the proved value (a balance: 0 when absent)
    present: bool = False
    height: int | None = None
    state_root: str = ""
    block_hash: str = ""
    signers: tuple[str, ...] = ()  # "Bank A", as the certificate panels name validators
    validators: int = 0
    quorum: int = 0
    checks: tuple[Check, ...] = ()
    failed_check: str = ""  # FAILED by a proof: the first check that failed
    claimed: Any = None  # FAILED by a proof: what the proof claimed the key holds (untrue)
    block_certified: bool = False  # FAILED: the block's own certificate did verify

    @property
    def ok(self) -> bool:
        return self.status == VERIFIED


def signer_labels(genesis: Genesis, names: Iterable[str]) -> tuple[str, ...]:
    """The SDK names validators; the pages name the bank that runs each ("Bank A")."""
    index = {validator.name: i for i, validator in enumerate(genesis.validators)}
    return tuple(validator_label(genesis, index[name]) if name in index else name for name in names)


def verified_badge(genesis: Genesis, state: VerifiedState) -> StateBadge:
    return StateBadge(
        key=state.key,
        status=VERIFIED,
        value=state.value,
        present=state.present,
        height=state.height,
        state_root=state.state_root.hex(),
        block_hash=state.block_hash.hex(),
        signers=signer_labels(genesis, state.signers),
        validators=state.validators,
        quorum=state.quorum,
        checks=state.checks,
    )


def failed_badge(check: StateProofCheck, key: str) -> StateBadge:
    """A proof that does not verify, named by its first failing check."""
    failures = check.failures
    first = failures[0] if failures else Check("proof", False, "no checks were made")
    detail = _HASH.sub(lambda found: f"{found.group(0)[:12]}…", first.detail)
    reason = f"{_WHY.get(first.name, first.name)} (check {first.name}: {detail})"
    passed = {c.name for c in check.checks if c.ok}
    return StateBadge(
        key,
        FAILED,
        reason,
        height=check.height,
        checks=check.checks,
        failed_check=first.name,
        claimed=check.value,
        block_certified=passed >= _CERTIFIED,
    )


def _refused(key: str, error: NodeError) -> StateBadge:
    """A read that brought no proof: unavailable, unless the node answered nonsense."""
    if isinstance(error, RouteMissing):
        return StateBadge(key, UNAVAILABLE, "this node does not serve GET /v1/state/proof")
    if error.status == 502 and error.code != "NODE_UNREACHABLE":
        return StateBadge(key, FAILED, f"the node's answer is not a state proof: {error.message}")
    return StateBadge(key, UNAVAILABLE, f"the node gave no proof: {error.code}: {error.message}")


class StateProver:
    """Fetches and verifies the state proofs of the pages, bounded across all requests."""

    def __init__(self, reader: NodeReader, genesis: Genesis) -> None:
        self.reader = reader
        self.genesis = genesis
        self._slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        if self._slots is None:  # made on first use, inside the running loop
            self._slots = asyncio.Semaphore(PROOF_CONCURRENCY)
        return self._slots

    async def prove(self, key: str, height: int | None, verify: Verify) -> StateBadge:
        """The badge for `key` at `height` (None: the node's tip); never raises for the node."""
        try:
            async with self._semaphore():
                answer = await asyncio.wait_for(
                    self.reader.get_state_proof(key, height), PROOF_TIMEOUT_S
                )
        except TimeoutError:
            return StateBadge(key, UNAVAILABLE, f"no answer within {PROOF_TIMEOUT_S:g} s")
        except NodeError as error:
            return _refused(key, error)
        try:
            return verified_badge(self.genesis, verify(answer))
        except StateNotVerified as error:
            return failed_badge(error.check, key)
        except TallyError as error:  # verified, but not what such a key holds
            return StateBadge(key, FAILED, error.message)

    async def balance(self, org: str, currency: str, height: int | None) -> StateBadge:
        """`org`'s balance in `currency` (minor units; 0 when it holds none), proved."""
        return await self.prove(
            balance_key(currency, org),
            height,
            lambda answer: verify_balance_answer(answer, self.genesis, org, currency, height),
        )

    async def balances(
        self, org: str, currencies: Iterable[str], height: int | None
    ) -> dict[str, StateBadge]:
        """`org`'s balance in each currency, all at `height`, fetched concurrently; the first
        `MAX_PROOFS_PER_PAGE` currencies (list the chain's own first) are proved, by code."""
        codes = list(dict.fromkeys(currencies))
        proved, skipped = codes[:MAX_PROOFS_PER_PAGE], codes[MAX_PROOFS_PER_PAGE:]
        badges = await asyncio.gather(*(self.balance(org, code, height) for code in proved))
        found = dict(zip(proved, badges, strict=True))
        why = f"not fetched: a page checks at most {MAX_PROOFS_PER_PAGE} proofs"
        for code in skipped:
            found[code] = StateBadge(balance_key(code, org), UNAVAILABLE, why)
        return dict(sorted(found.items()))

    async def piece(self, piece_id: str, height: int | None = None) -> StateBadge:
        """The receivable piece `piece_id` as stored (holder, amount, status), proved."""
        return await self.prove(
            piece_key(piece_id),
            height,
            lambda answer: verify_piece_answer(answer, self.genesis, piece_id, height),
        )

    async def escrow(self, escrow_id: str, height: int | None = None) -> StateBadge:
        """The escrow `escrow_id` as stored (status, amount, preimage once released), proved."""
        key = escrow_key(escrow_id)
        return await self.prove(
            key, height, lambda answer: verify_state_answer(answer, self.genesis, key, height)
        )

    async def tip(self) -> int | None:
        """The node's height, so that a page's proofs all speak of one block (None: unknown)."""
        try:
            return int((await self.reader.status())["height"]) or None
        except (NodeError, KeyError, ValueError, TypeError):
            return None


def summary(badges: Iterable[StateBadge]) -> StateBadge | None:
    """One badge that speaks for a page's proofs: the first failure, else one verified (with
    the height they share), else the first unavailable; None when there were none."""
    listed = list(badges)
    for status in (FAILED, VERIFIED, UNAVAILABLE):
        for badge in listed:
            if badge.status == status:
                return badge
    return None
