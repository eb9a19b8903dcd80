"""`tally audit`: walking a node's chain from genesis and checking every link, offline-style.

Synchronous on purpose (a command-line walk, one page of blocks at a time through the wallet's
SDK client). Each block is checked for: the header decodes, its height follows, `prev` links to
the block before (block 1 to the genesis hash), chain id matches genesis, validators_hash names
the set in force at that height and the commit certificate verifies against that set, and
txs_root/receipts_root recompute from the encodings.

The set in force is derived as the walk goes (ledger.membership): genesis's, then, on a chain
whose genesis allows changes, after each block whose receipts check against its certified
receipts_root, every `validator_set_changed` event in them. So a chain whose banks added or
removed validators verifies from genesis with nothing but the chain; a walk without the
encodings cannot follow changes, and a block signed by a later set then fails its
validators_hash check rather than pass unchecked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from explorer.contents import served
from explorer.verify import (
    decode_header,
    verify_certificate,
    verify_contents,
)
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.membership import ValidatorHistory
from ledger.types import Receipt
from wallet.client import ApiError, Client
from wallet.forms import parse_certificate
from wallet.proofs import Check

PAGE = 100
PIECE_ID = re.compile(r"[0-9a-f]{64}")
ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


@dataclass(frozen=True, slots=True)
class BlockFailure:
    height: int
    check: str
    detail: str


@dataclass(slots=True)
class ChainAudit:
    """What a walk found: how often each check passed, and every failure with its height."""

    tip: int = 0
    blocks: int = 0
    passed: Counter[str] = field(default_factory=Counter)
    failures: list[BlockFailure] = field(default_factory=list)
    roots_checked: bool = True
    history: ValidatorHistory | None = None  # the validator sets the walk followed

    @property
    def ok(self) -> bool:
        return not self.failures and self.blocks == self.tip

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tip": self.tip,
            "blocks_checked": self.blocks,
            "roots_checked": self.roots_checked,
            "checks_passed": dict(sorted(self.passed.items())),
            "failures": [
                {"height": f.height, "check": f.check, "detail": f.detail} for f in self.failures
            ],
            "validator_changes": [
                {
                    "height": change.height,
                    "effective_height": change.effective_height,
                    "validators": [v.name for v in change.validators],
                }
                for change in (self.history.changes if self.history is not None else ())
            ],
        }


def _pages(client: Client, tip: int, audit: ChainAudit) -> Iterator[dict[str, Any]]:
    """Blocks 1..tip in order, with encodings when the node serves them."""
    start = 1
    while start <= tip:
        limit = min(PAGE, tip - start + 1)
        if audit.roots_checked:
            try:
                page = client.raw_blocks(start, limit)
            except ApiError as error:
                if error.status != 404:
                    raise
                audit.roots_checked = False
                continue
        else:
            page = client.blocks(start, limit)
        blocks = sorted(page, key=lambda b: int(b.get("height", 0)))
        if not blocks:
            return
        yield from blocks
        start = int(blocks[-1]["height"]) + 1


@dataclass(frozen=True, slots=True)
class BlockCheck:
    """One block's checks, its hash (for the next prev link) and the set history after it."""

    checks: list[Check]
    block_hash: bytes | None
    history: ValidatorHistory


def check_block(
    genesis: Genesis,
    block: dict[str, Any],
    expected_height: int,
    prev_hash: bytes | None,
    history: ValidatorHistory | None = None,
    reader: str = "",
) -> BlockCheck:
    """Every check of one block answer against the set in force at its height; `reader`: the
    organization the node answered (what it withheld is said to be not visible to it)."""
    history = history if history is not None else ValidatorHistory.of_genesis(genesis)
    try:
        header = decode_header(block.get("header"))
    except ValueError as error:
        return BlockCheck([Check("header", False, str(error))], None, history)
    checks = [
        Check(
            "height sequence",
            header.height == expected_height,
            f"expected {expected_height}, got {header.height}",
        )
    ]
    try:
        certificate = parse_certificate(block.get("certificate"))
        checks.extend(verify_certificate(genesis, header, certificate, history).verdict.checks)
    except ValueError as error:
        checks.append(Check("certificate", False, f"does not decode: {error}"))
    txs = receipts = None
    if isinstance(block.get("txs"), list) and "receipts" in block:
        try:
            txs, receipts = served(block, "txs"), served(block, "receipts")
        except ValueError as error:
            checks.append(Check("encodings", False, str(error)))
    checks.extend(verify_contents(header, txs, receipts, prev_hash, reader).checks)
    if genesis.membership and receipts is not None and all(check.ok for check in checks):
        # a withheld receipt is not followed: a set change in it shows as the next block's
        # validators_hash failing, never as a pass
        followed = _follow(history, header.height, [raw for _, raw in receipts.shown])
        if isinstance(followed, Check):
            checks.append(followed)
        else:
            history = followed
    return BlockCheck(checks, header.hash(), history)


def _follow(
    history: ValidatorHistory, height: int, encoded: list[bytes]
) -> ValidatorHistory | Check:
    """The history after a fully checked block, or the check that says why it cannot be."""
    try:
        return history.follow(height, [Receipt.decode(raw) for raw in encoded])
    except (TallyError, ValueError) as error:
        return Check("validator set change", False, f"does not read: {error}")


def verify_chain(
    client: Client, genesis: Genesis, on_block: Callable[[int, int], None] | None = None
) -> ChainAudit:
    """Walk blocks 1..tip; `on_block(height, tip)` is told of progress."""
    tip = int(client.status()["height"])
    audit = ChainAudit(tip=tip)
    prev_hash: bytes | None = genesis.hash()
    history = ValidatorHistory.of_genesis(genesis)
    expected = 1
    for block in _pages(client, tip, audit):
        result = check_block(genesis, block, expected, prev_hash, history)
        checks, block_hash, history = result.checks, result.block_hash, result.history
        # A block counts once per check name: `passed` says in how many blocks a check held.
        failed = {check.name for check in checks if not check.ok}
        audit.passed.update({check.name for check in checks} - failed)
        for check in checks:
            if not check.ok:
                audit.failures.append(BlockFailure(expected, check.name, check.detail))
        audit.blocks += 1
        prev_hash = block_hash
        if on_block is not None:
            on_block(expected, tip)
        expected += 1
    audit.history = history
    return audit


def _org_history(client: Client, org_id: str, org: dict[str, Any]) -> dict[str, Any]:
    """An organization with what it holds, owes and paid; a section the node refuses says why."""
    result: dict[str, Any] = {"kind": "org", "org": org}
    sections: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "held": lambda: client.receivables(holder=org_id),
        "owed": lambda: client.receivables(debtor=org_id),
        "payments": lambda: client.payments(org_id),
    }
    for name, fetch in sections.items():
        try:
            result[name] = fetch()
        except ApiError as error:
            result[name] = {"error": error.message}
    return result


def trace_targets(client: Client, subject: str) -> dict[str, Any]:
    """The history behind an invoice number, a receivable id or an organization."""
    if PIECE_ID.fullmatch(subject):
        return {"kind": "receivable", "traces": [client.receivable_trace(subject)]}
    if ORG_ID.fullmatch(subject):
        try:
            org = client.org(subject)
        except ApiError as error:
            if error.status != 404:
                raise
        else:
            return _org_history(client, subject, org)
    roots = [item["id"] for item in client.receivables(invoice=subject)]
    if not roots:
        raise ApiError("NOT_FOUND", f"no invoice, receivable or organization {subject!r}", 404)
    return {"kind": "invoice", "traces": [client.receivable_trace(root) for root in roots]}
