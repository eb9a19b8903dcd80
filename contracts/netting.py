"""Multilateral netting: banks submit obligations into a window, then settle only the nets.

After the close a participant calls `settle`; the contract computes each bank's net position
and moves the nets (net debtors pay net creditors, matched in id order) in one call, so a net
debtor short of funds fails the whole settlement and no balance changes; the window stays open
for a later settle, or a governance `cancel_netting`.

State:
  net/win/<id>              -> {id, currency, participants, close_ms, opener, status, count,
                                gross, positions, transfers, settled_tx, settled_height, ...}
  net/ob/<id>/<seq:08d>     -> {from, to, amount, ref, tx, height}
"""

from __future__ import annotations

from typing import Any

from contracts import cash
from contracts.amounts import add
from contracts.args import amount, currency, hex_id, integer, list_of, optional, org_id, text
from contracts.errors import ensure
from contracts.registry import get_currency, get_org
from contracts.runtime import Context, method
from contracts.xborder_netting_math import (
    apply_obligation,
    net_total,
    settlement_transfers,
)
from contracts.xborder_rules import require_compliant

MAX_PARTICIPANTS = 50


def window_key(window_id: str) -> str:
    return "net/win/" + window_id


def obligation_prefix(window_id: str) -> str:
    return f"net/ob/{window_id}/"


def get_window(ctx: Context, window_id: str) -> dict[str, Any]:
    record = ctx.get(window_key(window_id))
    ensure(record is not None, "WINDOW_NOT_FOUND", f"no netting window {window_id}")
    return dict(record)


def _require_participant(window: dict[str, Any], org: str) -> None:
    ensure(
        org in window["participants"],
        "NOT_PARTICIPANT",
        f"{org} is not a participant of netting window {window['id']}",
    )


def _require_open(window: dict[str, Any]) -> None:
    status = window["status"]
    ensure(status != "settled", "WINDOW_SETTLED", f"window {window['id']} is already settled")
    ensure(status != "cancelled", "WINDOW_CANCELLED", f"window {window['id']} was cancelled")


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
    window_id = ctx.new_id()
    ctx.put(
        window_key(window_id),
        {
            "id": window_id,
            "currency": currency,
            "participants": members,
            "close_ms": close_ms,
            "opener": ctx.sender_org,
            "status": "open",
            "count": 0,
            "gross": 0,
            "positions": {org: 0 for org in members},
            "transfers": [],
            "opened_tx": ctx.tx_id.hex(),
            "opened_height": ctx.height,
        },
    )
    ctx.emit("window_opened", id=window_id, currency=currency, participants=members)
    return {"id": window_id}


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
    ensure(ctx.time_ms <= record["close_ms"], "WINDOW_CLOSED", f"window {window} has closed")
    _require_participant(record, ctx.sender_org)
    _require_participant(record, to)
    ensure(to != ctx.sender_org, "SELF_PAYMENT", "an obligation needs two different banks")
    seq = int(record["count"])
    ctx.put(
        f"{obligation_prefix(window)}{seq:08d}",
        {
            "from": ctx.sender_org,
            "to": to,
            "amount": amount,
            "ref": ref,
            "tx": ctx.tx_id.hex(),
            "height": ctx.height,
        },
    )
    positions = dict(record["positions"])
    apply_obligation(positions, ctx.sender_org, to, amount)
    gross = add(int(record["gross"]), amount, f"the gross of netting window {window}")
    count = add(seq, 1, f"the obligation count of netting window {window}")
    record.update(count=count, gross=gross, positions=positions)
    ctx.put(window_key(window), record)
    ctx.emit("obligation", window=window, payer=ctx.sender_org, to=to, amount=amount, ref=ref)
    return {"seq": seq}


@method("netting", "settle", {"window": hex_id}, kinds=("bank",))
def settle(ctx: Context, window: str) -> dict[str, Any]:
    """After the close, settle every net position at once, or fail and change nothing."""
    record = get_window(ctx, window)
    _require_participant(record, ctx.sender_org)
    _require_open(record)
    ensure(
        ctx.time_ms > record["close_ms"],
        "WINDOW_OPEN",
        f"window {window} closes at {record['close_ms']}, block time {ctx.time_ms}",
    )
    code = record["currency"]
    positions = {org: int(value) for org, value in record["positions"].items()}
    for org in record["participants"]:
        require_compliant(ctx, org)
    for org, value in sorted(positions.items()):
        held = cash.balance(ctx, code, org)
        ensure(
            value >= 0 or held >= -value,
            "INSUFFICIENT_FUNDS",
            f"net debtor {org} holds {held} {code}, owes {-value} net in window {window}",
        )
    transfers = settlement_transfers(positions)
    for payer, payee, value in transfers:
        cash.move(ctx, code, payer, payee, value)
    net = net_total(positions)
    record.update(
        status="settled",
        net=net,
        transfers=[{"from": p, "to": q, "amount": v} for p, q, v in transfers],
        settled_tx=ctx.tx_id.hex(),
        settled_height=ctx.height,
        settled_ms=ctx.time_ms,
        settled_date=ctx.today(),
    )
    ctx.put(window_key(window), record)
    ctx.emit("window_settled", id=window, currency=code, gross=record["gross"], net=net)
    return {"gross": record["gross"], "net": net, "positions": positions}


def cancel_window(ctx: Context, window: str) -> None:
    """Governance cancels an unsettled window (e.g. a net debtor cannot fund it)."""
    record = get_window(ctx, window)
    _require_open(record)
    record["status"] = "cancelled"
    ctx.put(window_key(window), record)
    ctx.emit("window_cancelled", id=window)
