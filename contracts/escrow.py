"""Escrow: conditional payments with a hash lock and timeouts (DESIGN.md §10), the basis of
atomic swaps with other ledgers.

`create` takes the payer's deposit tokens out of its balance into a lock (`cash.lock`); the
escrow then ends exactly once, by one of:

- `release`, by the payee, strictly before `cancel_ms`: with a preimage whose SHA-256 is the
  escrow's `condition` when it has one, and no earlier than `release_ms` when it has one.
  When both are given, both must hold (a hash lock that also waits for a time); at least one
  must be given, or nothing could release the escrow.
- `cancel`, by the payer, from `cancel_ms` on: the funds go back to it.

The release window [release_ms or creation, cancel_ms) and the cancel window [cancel_ms, ∞)
never overlap, so at any block time at most one of the two is possible, and a closed escrow
refuses both: never both released and cancelled. An atomic swap picks the cancel time of the
leg locked first later than that of the other leg, so whoever learns the secret from the
other's release still has time to use it. Time is block time.

Compliance, at each end (contracts/compliance.py): `create` is a movement from the payer to
the payee (both unsanctioned, the payer KYC-valid, counted against the payer's daily limit
now); `release` pays the payee (payer and payee unsanctioned, the payee KYC-valid); `cancel`
pays the payer back (the payer unsanctioned and KYC-valid). A refused release or cancel
changes nothing and may be tried again once the party is cleared.

State:
  esc/rec/<id>                           -> `Escrow` (contracts/escrow_records.py)
  esc/by_org/<org>/<height:016d>/<id>    -> {id, roles: ["payer"] or ["payee"]}, oldest first
  cash/locked/<currency>                 -> int, see contracts/cash.py
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts import cash, compliance
from contracts.args import (
    amount,
    bin32,
    binary,
    currency,
    hex_id,
    integer,
    nullable,
    optional,
    org_id,
)
from contracts.errors import ensure, fail
from contracts.escrow_records import CANCELLED, OPEN, RELEASED, Escrow
from contracts.runtime import Context, method
from contracts.wording import moment
from ledger.hashing import sha256
from ledger.state_keys import escrow_key

# The last millisecond of year 9999: every time an escrow keeps can be written as a date.
MAX_TIME_MS = 253_402_300_799_999
MAX_PREIMAGE_BYTES = 256
block_time = integer(0, MAX_TIME_MS)


def record_key(escrow_id: str) -> str:
    return escrow_key(escrow_id)


def index_prefix(org: str) -> str:
    """Where an organization's escrows are listed: `<prefix><height:016d>/<id> -> {id, roles}`."""
    return f"esc/by_org/{org}/"


def get_escrow(ctx: Context, escrow_id: str) -> Escrow:
    record = ctx.get(record_key(escrow_id))
    ensure(record is not None, "UNKNOWN_ESCROW", f"no escrow {escrow_id}")
    return Escrow.from_value(record)


def _require_terms(
    ctx: Context, condition: bytes | None, release_ms: int | None, cancel_ms: int
) -> None:
    ensure(
        condition is not None or release_ms is not None,
        "NO_RELEASE_TERMS",
        "an escrow needs a condition (sha256 of a preimage), a release time, or both",
    )
    ensure(
        cancel_ms > ctx.time_ms,
        "BAD_TIMES",
        f"cancel time {moment(cancel_ms)} is not after the block time {moment(ctx.time_ms)}",
        {"cancel_ms": cancel_ms, "block_time_ms": ctx.time_ms},
    )
    if release_ms is not None:
        ensure(
            release_ms < cancel_ms,
            "BAD_TIMES",
            f"release time {moment(release_ms)} is not before the cancel time "
            f"{moment(cancel_ms)}: the escrow could never be released",
            {"release_ms": release_ms, "cancel_ms": cancel_ms},
        )


def _require_open(record: Escrow) -> None:
    """Neither released nor cancelled yet: each escrow closes once."""
    if record.status == RELEASED:
        fail("ALREADY_RELEASED", f"escrow {record.id} was released at block {record.closed_height}")
    if record.status == CANCELLED:
        fail(
            "ALREADY_CANCELLED", f"escrow {record.id} was cancelled at block {record.closed_height}"
        )
    ensure(record.status == OPEN, "BAD_RECORD", f"escrow {record.id} has status {record.status!r}")


def _require_releasable(ctx: Context, record: Escrow, preimage: bytes | None) -> None:
    """The release rules of the module docstring, time before the hash lock."""
    ensure(
        ctx.time_ms < record.cancel_ms,
        "ESCROW_EXPIRED",
        f"escrow {record.id} could be released only before {moment(record.cancel_ms)}, block "
        f"time {moment(ctx.time_ms)}; its payer may cancel it now",
        {"cancel_ms": record.cancel_ms, "block_time_ms": ctx.time_ms},
    )
    if record.release_ms is not None:
        ensure(
            ctx.time_ms >= record.release_ms,
            "RELEASE_TOO_EARLY",
            f"escrow {record.id} may be released from {moment(record.release_ms)}, block time "
            f"{moment(ctx.time_ms)}",
            {"release_ms": record.release_ms, "block_time_ms": ctx.time_ms},
        )
    if record.condition is None:
        ensure(
            preimage is None,
            "NO_CONDITION",
            f"escrow {record.id} has no hash lock: release it without a preimage",
        )
        return
    ensure(
        preimage is not None,
        "PREIMAGE_REQUIRED",
        f"escrow {record.id} is released only with the preimage of its condition",
    )
    ensure(
        sha256(preimage or b"") == record.condition,
        "WRONG_PREIMAGE",
        f"the sha256 of the preimage is not escrow {record.id}'s condition",
    )


def _close(ctx: Context, record: Escrow, status: str, preimage: bytes | None) -> Escrow:
    closed = replace(
        record,
        status=status,
        closed_tx=ctx.tx_id.hex(),
        closed_height=ctx.height,
        closed_ms=ctx.time_ms,
        preimage=preimage,
    )
    ctx.put(record_key(record.id), closed.to_value())
    return closed


@method(
    "escrow",
    "create",
    {
        "currency": currency,
        "to": org_id,
        "amount": amount,
        "condition": optional(nullable(bin32)),
        "release_ms": optional(nullable(block_time)),
        "cancel_ms": block_time,
    },
)
def create(
    ctx: Context,
    currency: str,
    to: str,
    amount: int,
    condition: bytes | None,
    release_ms: int | None,
    cancel_ms: int,
) -> dict[str, str]:
    """Lock `amount` of `currency` of the caller for `to`, released by the preimage of
    `condition` and/or from `release_ms`, cancellable by the caller from `cancel_ms`."""
    payer = ctx.sender_org
    ensure(to != payer, "SELF_ESCROW", "an escrow needs a payee other than its payer")
    _require_terms(ctx, condition, release_ms, cancel_ms)
    cash.lock(ctx, currency, payer, to, amount)
    record = Escrow(
        id=ctx.new_id(),
        tx=ctx.tx_id.hex(),
        height=ctx.height,
        time_ms=ctx.time_ms,
        currency=currency,
        payer=payer,
        payee=to,
        amount=amount,
        condition=condition,
        release_ms=release_ms,
        cancel_ms=cancel_ms,
        status=OPEN,
        closed_tx=None,
        closed_height=None,
        closed_ms=None,
        preimage=None,
    )
    ctx.put(record_key(record.id), record.to_value())
    for org, role in ((payer, "payer"), (to, "payee")):
        entry = {"id": record.id, "roles": [role]}
        ctx.put(f"{index_prefix(org)}{ctx.height:016d}/{record.id}", entry)
    ctx.emit("escrow_created", **_event_fields(record))
    return {"id": record.id}


def _event_fields(record: Escrow) -> dict[str, Any]:
    return {
        "id": record.id,
        "currency": record.currency,
        "payer": record.payer,
        "payee": record.payee,
        "amount": record.amount,
        "condition": record.condition,
        "release_ms": record.release_ms,
        "cancel_ms": record.cancel_ms,
    }


@method(
    "escrow",
    "release",
    {"id": hex_id, "preimage": optional(nullable(binary(MAX_PREIMAGE_BYTES)))},
)
def release(ctx: Context, id: str, preimage: bytes | None) -> dict[str, Any]:
    """The payee takes the escrowed funds: with the preimage of its condition, from its
    release time, before its cancel time."""
    record = get_escrow(ctx, id)
    _require_open(record)
    ensure(
        ctx.sender_org == record.payee,
        "NOT_PAYEE",
        f"only {record.payee}, the payee, may release escrow {id}",
    )
    _require_releasable(ctx, record, preimage)
    compliance.require_unsanctioned(ctx, record.payee, record.payer)
    compliance.require_kyc(ctx, record.payee)
    cash.unlock(ctx, record.currency, record.payee, record.amount)
    _close(ctx, record, RELEASED, preimage)
    ctx.emit("escrow_released", **_event_fields(record), preimage=preimage)
    return {"id": id, "amount": record.amount, "to": record.payee}


@method("escrow", "cancel", {"id": hex_id})
def cancel(ctx: Context, id: str) -> dict[str, Any]:
    """The payer takes its funds back, from the escrow's cancel time on."""
    record = get_escrow(ctx, id)
    _require_open(record)
    ensure(
        ctx.sender_org == record.payer,
        "NOT_PAYER",
        f"only {record.payer}, the payer, may cancel escrow {id}",
    )
    ensure(
        ctx.time_ms >= record.cancel_ms,
        "CANCEL_TOO_EARLY",
        f"escrow {id} may be cancelled from {moment(record.cancel_ms)}, block time "
        f"{moment(ctx.time_ms)}",
        {"cancel_ms": record.cancel_ms, "block_time_ms": ctx.time_ms},
    )
    compliance.require_initiator(ctx)
    cash.unlock(ctx, record.currency, record.payer, record.amount)
    _close(ctx, record, CANCELLED, None)
    ctx.emit("escrow_cancelled", **_event_fields(record))
    return {"id": id, "amount": record.amount, "to": record.payer}
