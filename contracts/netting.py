"""Multilateral netting: banks submit obligations into a window, then settle only the nets.

After the close a participant calls `settle`; the contract computes each bank's net position
and moves the nets (net debtors pay net creditors, matched in id order) in one call, so a net
debtor short of funds fails the whole settlement and no balance changes; the window stays open
for a later settle, or a governance `cancel_netting`.

State (records in contracts/netting_records.py):
  net/win/<id>              -> `Window` {id, currency, participants, close_ms, opener, status,
                                count, gross, positions, transfers, opened_tx, opened_height,
                                and once settled: net, settled_tx, settled_height, ...}
  net/ob/<id>/<seq:08d>     -> `Obligation` {from, to, amount, ref, tx, height}
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contracts import cash, compliance
from contracts.amounts import add
from contracts.args import amount, currency, hex_id, integer, list_of, optional, org_id, text
from contracts.errors import ensure, fail
from contracts.netting_records import (
    CANCELLED,
    OPEN,
    SETTLED,
    NetTransfer,
    Obligation,
    Settlement,
    Window,
)
from contracts.registry import get_currency, get_org
from contracts.runtime import Context, method
from contracts.wording import moment, money
from contracts.xborder_netting_math import (
    apply_obligation,
    net_total,
    settlement_transfers,
)

MAX_PARTICIPANTS = 50


def window_key(window_id: str) -> str:
    return "net/win/" + window_id


def obligation_prefix(window_id: str) -> str:
    return f"net/ob/{window_id}/"


def get_window(ctx: Context, window_id: str) -> Window:
    record = ctx.get(window_key(window_id))
    ensure(record is not None, "WINDOW_NOT_FOUND", f"no netting window {window_id}")
    return Window.from_value(record)


def _save(ctx: Context, window: Window) -> None:
    ctx.put(window_key(window.id), window.to_value())


def _require_participant(window: Window, org: str) -> None:
    ensure(
        org in window.participants,
        "NOT_PARTICIPANT",
        f"{org} is not a participant of netting window {window.id}",
    )


def _require_open(window: Window) -> None:
    ensure(window.status != SETTLED, "WINDOW_SETTLED", f"window {window.id} is already settled")
    ensure(window.status != CANCELLED, "WINDOW_CANCELLED", f"window {window.id} was cancelled")


@method(
    "netting",
    "open",
    {
        "currency": currency,
        "participants": list_of(org_id, MAX_PARTICIPANTS, 2),
        "close_ms": integer(0),
    },
    kinds=("bank",),
)
def open_window(
    ctx: Context, currency: str, participants: list[str], close_ms: int
) -> dict[str, str]:
    """A participating bank opens a window in one currency among banks, closing at `close_ms`."""
    get_currency(ctx, currency)
    members = sorted(set(participants))
    ensure(len(members) == len(participants), "BAD_ARGUMENT", "participants must be distinct")
    for org in members:
        ensure(get_org(ctx, org)["kind"] == "bank", "NOT_A_BANK", f"{org} is not a bank")
    ensure(ctx.sender_org in members, "NOT_PARTICIPANT", "the opener must be a participant")
    ensure(close_ms > ctx.time_ms, "WINDOW_CLOSED", "close_ms must be after the block time")
    window = Window(
        id=ctx.new_id(),
        currency=currency,
        participants=tuple(members),
        close_ms=close_ms,
        opener=ctx.sender_org,
        status=OPEN,
        count=0,
        gross=0,
        positions=dict.fromkeys(members, 0),
        transfers=(),
        opened_tx=ctx.tx_id.hex(),
        opened_height=ctx.height,
    )
    _save(ctx, window)
    ctx.emit("window_opened", id=window.id, currency=currency, participants=members)
    return {"id": window.id}


@method(
    "netting",
    "submit",
    {"window": hex_id, "to": org_id, "amount": amount, "ref": optional(text(35), "")},
    kinds=("bank",),
)
def submit(ctx: Context, window: str, to: str, amount: int, ref: str) -> dict[str, int]:
    """The caller owes `to` `amount` in the window's currency, to be settled net."""
    record = get_window(ctx, window)
    _require_open(record)
    ensure(
        ctx.time_ms <= record.close_ms,
        "WINDOW_CLOSED",
        f"window {window} closed at {moment(record.close_ms)}, block time {moment(ctx.time_ms)}",
        {"close_ms": record.close_ms, "block_time_ms": ctx.time_ms},
    )
    _require_participant(record, ctx.sender_org)
    _require_participant(record, to)
    ensure(to != ctx.sender_org, "SELF_PAYMENT", "an obligation needs two different banks")
    compliance.require_movement(ctx, ctx.sender_org, to)  # what it will owe `to` net
    seq = record.count
    obligation = Obligation(ctx.sender_org, to, amount, ref, ctx.tx_id.hex(), ctx.height)
    ctx.put(f"{obligation_prefix(window)}{seq:08d}", obligation.to_value())
    positions = dict(record.positions)
    apply_obligation(positions, ctx.sender_org, to, amount)
    gross = add(record.gross, amount, f"the gross of netting window {window}")
    count = add(seq, 1, f"the obligation count of netting window {window}")
    _save(ctx, replace(record, count=count, gross=gross, positions=positions))
    ctx.emit("obligation", window=window, payer=ctx.sender_org, to=to, amount=amount, ref=ref)
    return {"seq": seq}


@method("netting", "settle", {"window": hex_id}, kinds=("bank",))
def settle(ctx: Context, window: str) -> dict[str, Any]:
    """After the close, settle every net position at once, or fail and change nothing."""
    record = get_window(ctx, window)
    _require_participant(record, ctx.sender_org)
    _require_open(record)
    ensure(
        ctx.time_ms > record.close_ms,
        "WINDOW_OPEN",
        f"window {window} closes at {moment(record.close_ms)}, block time {moment(ctx.time_ms)}",
        {"close_ms": record.close_ms, "block_time_ms": ctx.time_ms},
    )
    code = record.currency
    positions = dict(record.positions)
    compliance.require_compliant(ctx, *record.participants)
    for org, value in sorted(positions.items()):
        if value < 0:  # what each net debtor pays, within its limit, before any funds check
            compliance.require_within_limit(ctx, org, code, -value)
    for org, value in sorted(positions.items()):
        held = cash.balance(ctx, code, org)
        if value < 0 and held < -value:
            fail(
                "INSUFFICIENT_FUNDS",
                f"net debtor {org} holds {money(ctx, code, held)}, owes "
                f"{money(ctx, code, -value)} net in window {window}",
                {"currency": code, "held": held, "needed": -value},
            )
    transfers = settlement_transfers(positions)
    for payer, payee, value in transfers:
        cash.move(ctx, code, payer, payee, value)
    net = net_total(positions)
    settled = replace(
        record,
        status=SETTLED,
        transfers=tuple(NetTransfer(p, q, v) for p, q, v in transfers),
        settlement=Settlement(net, ctx.tx_id.hex(), ctx.height, ctx.time_ms, ctx.today()),
    )
    _save(ctx, settled)
    ctx.emit("window_settled", id=window, currency=code, gross=record.gross, net=net)
    return {"gross": record.gross, "net": net, "positions": positions}


def cancel_window(ctx: Context, window: str) -> None:
    """Governance cancels an unsettled window (e.g. a net debtor cannot fund it)."""
    record = get_window(ctx, window)
    _require_open(record)
    _save(ctx, replace(record, status=CANCELLED))
    ctx.emit("window_cancelled", id=window)
