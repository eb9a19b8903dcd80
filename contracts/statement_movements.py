"""Cash movements of committed transactions, read back from their receipts' events.

A bank statement (contracts/statements.py) needs every change of a deposit-token balance, one
entry each, with the references a bank reconciles by. Receipts do not carry state writes, so
each event that accompanies a balance change is decoded here into the movements it stands for,
reading the records it names (a payment, a netting window, a receivable piece) where the event
itself does not say the currency or the legs. Those records never change the fields used here
once written, so today's state answers for any past block.

The table `DECODERS` is the one place that knows which events move money. A contract that
moves cash without one of these events would leave a statement whose entries do not add up;
`contracts/statements.py` checks opening + entries = closing against the state tree and refuses
such a statement (STATEMENT_UNBALANCED), so a missing decoder is loud, never silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from contracts import netting, payments
from contracts.exports.iso20022 import uetr
from contracts.queries import StateReader
from ledger.state_keys import piece_key


@dataclass(frozen=True, slots=True)
class Leg:
    """Money that left `payer` for `payee` (either may be None: minted, redeemed, held)."""

    currency: str
    payer: str | None
    payee: str | None
    amount: int
    kind: str  # what made it: payment, fx_payment, transfer, issue, redeem, netting, ...
    reference: str | None = None  # the payment, window or piece it belongs to
    end_to_end_id: str | None = None
    uetr: str | None = None


@dataclass(frozen=True, slots=True)
class Movement:
    """One booked change of one account: `amount` > 0, credited or debited."""

    account: str
    currency: str
    amount: int
    credit: bool
    counterparty: str | None
    kind: str
    tx: str  # hex id of the ledger transaction: the account servicer's reference
    height: int
    index: int
    time_ms: int
    reference: str | None
    end_to_end_id: str | None
    uetr: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "currency": self.currency,
            "amount": self.amount,
            "direction": "CRDT" if self.credit else "DBIT",
            "counterparty": self.counterparty,
            "kind": self.kind,
            "tx": self.tx,
            "height": self.height,
            "index": self.index,
            "time_ms": self.time_ms,
            "reference": self.reference,
            "end_to_end_id": self.end_to_end_id,
            "uetr": self.uetr,
        }


Decoder = Callable[[dict[str, Any], StateReader], list[Leg]]


def _record(state: StateReader, key: str) -> dict[str, Any]:
    value = state.state(key)
    return {} if value is None else dict(value)


def _issued(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], None, event["to"], event["amount"], "issue")]


def _transferred(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], event["payer"], event["to"], event["amount"], "transfer")]


def _redeemed(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], event["org"], None, event["amount"], "redeem")]


def _payment(event: dict[str, Any], state: StateReader) -> list[Leg]:
    """A payment's legs as its record stores them (one, or two for PvP), with its UETR."""
    record = _record(state, payments.record_key(event["id"]))
    kind = "fx_payment" if record.get("kind") == "fx" else "payment"
    e2e = record.get("end_to_end_id")
    return [
        Leg(leg["currency"], leg["from"], leg["to"], leg["amount"], kind, event["id"], e2e,
            uetr(event["id"]))
        for leg in record.get("legs") or []
    ]  # fmt: skip


def _window_settled(event: dict[str, Any], state: StateReader) -> list[Leg]:
    """A settlement's net transfers, each with the references of its pacs.009 leg."""
    window_id = event["id"]
    record = _record(state, netting.window_key(window_id))
    return [
        Leg(event["currency"], leg["from"], leg["to"], leg["amount"], "netting", window_id,
            netting_reference(window_id, index), uetr(f"{window_id}/{index}"))
        for index, leg in enumerate(record.get("transfers") or [])
    ]  # fmt: skip


def netting_reference(window_id: str, index: int) -> str:
    """The end-to-end id of a netting settlement's leg, as its pacs.009 carries it."""
    return f"NET-{window_id[:24]}-{index}"


def _piece_currency(state: StateReader, piece_id: str) -> str:
    return str(_record(state, piece_key(piece_id)).get("currency", ""))


def _financed(event: dict[str, Any], state: StateReader) -> list[Leg]:
    code = _piece_currency(state, event["id"])
    return [Leg(code, event["bank"], event["seller"], event["price"], "financing", event["id"])]


def _repaid(event: dict[str, Any], state: StateReader) -> list[Leg]:
    """What reached each holder; a share paid into a hold is `repayment_held`'s."""
    code = _piece_currency(state, event["id"])
    return [
        Leg(code, event["debtor"], holder, share, "repayment", event["id"])
        for holder, share in sorted(event["paid"].items())
    ]


def _held(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], event["debtor"], None, event["amount"], "hold", event["piece"])]


def _released(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [
        Leg(event["currency"], None, event["holder"], event["amount"], "release", event["piece"])
    ]


def _escrow_locked(event: dict[str, Any], state: StateReader) -> list[Leg]:
    """An escrow takes the payer's money into a lock that no account holds (contracts/escrow.py,
    `cash.lock`); a release pays it to the payee, a cancel back to the payer (`cash.unlock`)."""
    return [Leg(event["currency"], event["payer"], None, event["amount"], "escrow", event["id"])]


def _escrow_released(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], None, event["payee"], event["amount"], "escrow_release",
                event["id"])]  # fmt: skip


def _escrow_cancelled(event: dict[str, Any], state: StateReader) -> list[Leg]:
    return [Leg(event["currency"], None, event["payer"], event["amount"], "escrow_refund",
                event["id"])]  # fmt: skip


DECODERS: dict[str, Decoder] = {
    "issued": _issued,
    "transferred": _transferred,
    "redeemed": _redeemed,
    "payment": _payment,
    "payment_fx": _payment,
    "window_settled": _window_settled,
    "receivable_financed": _financed,
    "receivable_repaid": _repaid,
    "repayment_held": _held,
    "repayment_released": _released,
    "escrow_created": _escrow_locked,
    "escrow_released": _escrow_released,
    "escrow_cancelled": _escrow_cancelled,
}


def legs_of(event: dict[str, Any], state: StateReader) -> list[Leg]:
    """The balance changes an event stands for; none for an event that moves no money. A leg
    whose payer is its payee changes no balance (cash.move checks it and moves nothing)."""
    decoder = DECODERS.get(str(event.get("type")))
    if decoder is None:
        return []
    return [leg for leg in decoder(event, state) if leg.payer != leg.payee and leg.amount > 0]


def movements_of_leg(leg: Leg, where: tuple[str, int, int, int]) -> Iterator[Movement]:
    """A leg as the debit of its payer and the credit of its payee; `where` is the tx (hex),
    height, index and block time."""
    tx, height, index, time_ms = where
    sides = ((leg.payer, False, leg.payee), (leg.payee, True, leg.payer))
    for account, credit, other in sides:
        if account is None:
            continue
        yield Movement(
            account, leg.currency, leg.amount, credit, other, leg.kind, tx, height, index,
            time_ms, leg.reference, leg.end_to_end_id, leg.uetr,
        )  # fmt: skip
