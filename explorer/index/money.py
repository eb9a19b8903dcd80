"""Which balance movements a committed event stands for, per organization and currency.

The contracts change balances in a few places (contracts/cash.py `move`, `hold`, `release`,
mint and burn) and every one of them is announced by an event of the contract that called it;
this table reads those events back into signed movements, one per side. A movement's
counterparty is the other organization, or what the money came from or went to when there is
none: `mint`, `burn`, `hold:ORG` (a repayment held for a sanctioned holder), `escrow:ID`,
`netting:ID` (a window settles net positions, not bilateral transfers).

The follower checks the sum against proved balances (`reconcile`), so an event this table does
not know cannot silently leave a statement wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Event = dict[str, Any]
PieceCurrency = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Move:
    org: str
    currency: str
    amount: int  # signed: positive credits `org`
    counterparty: str
    kind: str  # the event type that moved it


def _pair(kind: str, currency: str, payer: str, payee: str, amount: int) -> list[Move]:
    """Both sides of one transfer; a transfer to oneself moves nothing."""
    if payer == payee or amount == 0:
        return []
    return [
        Move(payer, currency, -amount, payee, kind),
        Move(payee, currency, amount, payer, kind),
    ]


def _repaid(event: Event, piece_currency: PieceCurrency) -> list[Move]:
    pieces = event.get("pieces") or {}
    currency = piece_currency(next(iter(sorted(pieces)))) if pieces else ""
    debtor = str(event["debtor"])
    moves: list[Move] = []
    for org, amount in sorted((event.get("paid") or {}).items()):
        moves += _pair("receivable_repaid", currency, debtor, org, int(amount))
    for org, amount in sorted((event.get("held") or {}).items()):
        moves.append(Move(debtor, currency, -int(amount), f"hold:{org}", "repayment_held"))
    return moves


def _escrow(event: Event, side: str, sign: int) -> list[Move]:
    org = str(event[side])
    return [
        Move(
            org,
            str(event["currency"]),
            sign * int(event["amount"]),
            f"escrow:{event['id']}",
            str(event["type"]),
        )
    ]


def _netting(event: Event, result: Any) -> list[Move]:
    positions = result.get("positions", {}) if isinstance(result, dict) else {}
    return [
        Move(str(org), str(event["currency"]), int(value), f"netting:{event['id']}", "netting")
        for org, value in sorted(positions.items())
        if int(value) != 0
    ]


def movements(event: Event, result: Any, piece_currency: PieceCurrency) -> list[Move]:
    """The movements of one event of an ok receipt (`result` is that receipt's result)."""
    kind = (event.get("contract"), event.get("type"))
    if kind == ("cash", "issued"):
        return [Move(event["to"], event["currency"], int(event["amount"]), "mint", "issued")]
    if kind == ("cash", "redeemed"):
        return [Move(event["org"], event["currency"], -int(event["amount"]), "burn", "redeemed")]
    if kind == ("cash", "transferred"):
        return _pair(
            "transferred", event["currency"], event["payer"], event["to"], int(event["amount"])
        )
    if kind == ("payments", "payment"):
        return _pair(
            "payment", event["currency"], event["payer"], event["payee"], int(event["amount"])
        )
    if kind == ("payments", "payment_fx"):
        base = _pair(
            "payment_fx", event["base"], event["payer"], event["dealer"], int(event["base_amount"])
        )
        credit = _pair(
            "payment_fx",
            event["credit_currency"],
            event["dealer"],
            event["payee"],
            int(event["credit"]),
        )
        return base + credit
    if kind == ("receivables", "receivable_financed"):
        currency = piece_currency(str(event["id"]))
        return _pair("financed", currency, event["bank"], event["seller"], int(event["price"]))
    if kind == ("receivables", "receivable_repaid"):
        return _repaid(event, piece_currency)
    if kind[1] == "repayment_released":
        org = str(event["holder"])
        return [Move(org, event["currency"], int(event["amount"]), f"hold:{org}", kind[1])]
    if kind == ("netting", "window_settled"):
        return _netting(event, result)
    if kind == ("escrow", "escrow_created"):
        return _escrow(event, "payer", -1)
    if kind == ("escrow", "escrow_released"):
        return _escrow(event, "payee", 1)
    if kind == ("escrow", "escrow_cancelled"):
        return _escrow(event, "payer", 1)
    return []
