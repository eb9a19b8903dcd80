"""A receivable piece, its history steps, its financing and a financing offer, as typed records.

Each maps to the same canonical map the contract always stored (field for field, byte for byte
once encoded), so records already on a chain read back unchanged and the state root is the
same. Records are frozen: a rule makes a changed copy (`dataclasses.replace`) and saves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from contracts.records import fields_of
from ledger import codec

# Piece statuses. Accept/reject happen before any split; overdue and default apply to every
# unsettled piece of one debt at once (the invoice's pieces still owed by its debtor, or one
# piece turned back on its seller by recourse); a piece is settled when nothing is left owing.
ISSUED = "issued"
ACCEPTED = "accepted"
REJECTED = "rejected"
OVERDUE = "overdue"
DEFAULTED = "defaulted"
SETTLED = "settled"
OUTSTANDING = (ACCEPTED, OVERDUE, DEFAULTED)

OFFER_OPEN = "open"
OFFER_TAKEN = "taken"


@dataclass(frozen=True, slots=True)
class Step:
    """One history entry: what happened, who holds the piece after it, and which tx did it.

    `details` are the action's own fields (`amount`, `from`, `parent`, `price`, ...), stored
    beside the four every step has.
    """

    action: str
    holder: str
    tx: str
    height: int
    details: Mapping[str, Any] = field(default_factory=dict)

    COMMON = ("action", "holder", "tx", "height")

    def to_value(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "holder": self.holder,
            "tx": self.tx,
            "height": self.height,
            **self.details,
        }

    @staticmethod
    def from_value(value: Any) -> Step:
        entry = fields_of(value, frozenset(Step.COMMON), "history step", optional=None)
        common = [entry.pop(name) for name in Step.COMMON]
        return Step(common[0], common[1], common[2], common[3], entry)


@dataclass(frozen=True, slots=True)
class Financing:
    """How a bank bought a piece: the offer taken, who sold, the rate, days and price paid."""

    offer: str
    bank: str
    seller: str
    rate_bps: int
    days: int
    price: int
    with_recourse: bool = False  # stored only when true: older financings keep their bytes

    FIELDS = frozenset({"offer", "bank", "seller", "rate_bps", "days", "price"})
    OPTIONAL = frozenset({"with_recourse"})

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "offer": self.offer,
            "bank": self.bank,
            "seller": self.seller,
            "rate_bps": self.rate_bps,
            "days": self.days,
            "price": self.price,
        }
        if self.with_recourse:
            value["with_recourse"] = True
        return value

    @staticmethod
    def from_value(value: Any) -> Financing:
        return Financing(**fields_of(value, Financing.FIELDS, "financing", Financing.OPTIONAL))


@dataclass(frozen=True, slots=True)
class Piece:
    """A receivable piece: the root an invoice was issued as, or a part split off it."""

    id: str
    root: str
    parent: str | None
    children: tuple[str, ...]
    invoice_no: str
    creditor: str
    debtor: str
    currency: str
    face: int
    amount: int
    issue_date: str
    due_date: str
    doc_hash: bytes
    holder: str
    status: str
    financed_by: str | None
    financing: Financing | None
    reason: str
    history: tuple[Step, ...]
    # From the second release, each stored only when it differs from its default, so the
    # records of an invoice that never went wrong keep the bytes they always had:
    grace_days: int | None = None  # days after due_date before default; None: the chain's
    repaid: int = 0  # what was paid on `amount` so far; dropped once settled (all of it)
    reduced: int = 0  # how much dispute settlements took off this piece's amount
    recourse_from: str | None = None  # the debtor before a bank turned the piece on `debtor`

    FIELDS = frozenset(
        {
            "id", "root", "parent", "children", "invoice_no", "creditor", "debtor", "currency",
            "face", "amount", "issue_date", "due_date", "doc_hash", "holder", "status",
            "financed_by", "financing", "reason", "history",
        }
    )  # fmt: skip
    OPTIONAL = frozenset({"grace_days", "repaid", "reduced", "recourse_from"})
    DEFAULTS: ClassVar[Mapping[str, Any]] = {
        "grace_days": None,
        "repaid": 0,
        "reduced": 0,
        "recourse_from": None,
    }

    @property
    def outstanding(self) -> int:
        """What is still owed on this piece: nothing once settled."""
        return 0 if self.status == SETTLED else self.amount - self.repaid

    @staticmethod
    def issued(
        piece_id: str,
        invoice_no: str,
        creditor: str,
        debtor: str,
        currency: str,
        amount: int,
        issue_date: str,
        due_date: str,
        doc_hash: bytes,
    ) -> Piece:
        """A new invoice's root piece: the whole face amount, held by its creditor, issued."""
        return Piece(
            id=piece_id,
            root=piece_id,
            parent=None,
            children=(),
            invoice_no=invoice_no,
            creditor=creditor,
            debtor=debtor,
            currency=currency,
            face=amount,
            amount=amount,
            issue_date=issue_date,
            due_date=due_date,
            doc_hash=doc_hash,
            holder=creditor,
            status=ISSUED,
            financed_by=None,
            financing=None,
            reason="",
            history=(),
        )

    def to_value(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "root": self.root,
            "parent": self.parent,
            "children": list(self.children),
            "invoice_no": self.invoice_no,
            "creditor": self.creditor,
            "debtor": self.debtor,
            "currency": self.currency,
            "face": self.face,
            "amount": self.amount,
            "issue_date": self.issue_date,
            "due_date": self.due_date,
            "doc_hash": self.doc_hash,
            "holder": self.holder,
            "status": self.status,
            "financed_by": self.financed_by,
            "financing": None if self.financing is None else self.financing.to_value(),
            "reason": self.reason,
            "history": [entry.to_value() for entry in self.history],
            **{
                name: getattr(self, name)
                for name, default in self.DEFAULTS.items()
                if getattr(self, name) != default
            },
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Piece:
        record = fields_of(value, Piece.FIELDS, "receivable piece", Piece.OPTIONAL)
        financing = record["financing"]
        record["children"] = tuple(record["children"])
        record["financing"] = None if financing is None else Financing.from_value(financing)
        record["history"] = tuple(Step.from_value(entry) for entry in record["history"])
        return Piece(**record)

    @staticmethod
    def decode(data: bytes) -> Piece:
        return Piece.from_value(codec.decode(data))


@dataclass(frozen=True, slots=True)
class Offer:
    """A bank's offer to buy one piece, valid only for its holder, amount and version then."""

    id: str
    piece: str
    bank: str
    holder: str
    amount: int
    version: int  # the piece's history length when offered: any later step voids the offer
    rate_bps: int
    expires_ms: int
    status: str
    tx: str
    height: int
    with_recourse: bool = False  # stored only when true: older offers keep their bytes

    FIELDS = frozenset(
        {
            "id", "piece", "bank", "holder", "amount", "version", "rate_bps", "expires_ms",
            "status", "tx", "height",
        }
    )  # fmt: skip
    OPTIONAL = frozenset({"with_recourse"})

    def to_value(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "id": self.id,
            "piece": self.piece,
            "bank": self.bank,
            "holder": self.holder,
            "amount": self.amount,
            "version": self.version,
            "rate_bps": self.rate_bps,
            "expires_ms": self.expires_ms,
            "status": self.status,
            "tx": self.tx,
            "height": self.height,
        }
        if self.with_recourse:
            value["with_recourse"] = True
        return value

    def encode(self) -> bytes:
        return codec.encode(self.to_value())

    @staticmethod
    def from_value(value: Any) -> Offer:
        return Offer(**fields_of(value, Offer.FIELDS, "financing offer", Offer.OPTIONAL))

    @staticmethod
    def decode(data: bytes) -> Offer:
        return Offer.from_value(codec.decode(data))


DISPUTE_OPEN = "open"
DISPUTE_SETTLED = "settled"


@dataclass(frozen=True, slots=True)
class Dispute:
    """The debtor's dispute of an invoice, which freezes its family while `open`.

    `proposals` holds the reduction each party (`creditor`, `debtor`) last proposed; when both
    propose the same one it is applied (`reduction`) and the dispute is settled.
    """

    root: str
    reason: str
    status: str
    proposals: Mapping[str, int]
    reduction: int | None
    opened_tx: str
    opened_height: int
    settled_tx: str | None
    settled_height: int | None

    FIELDS = frozenset(
        {
            "root", "reason", "status", "proposals", "reduction", "opened_tx", "opened_height",
            "settled_tx", "settled_height",
        }
    )  # fmt: skip

    def to_value(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "reason": self.reason,
            "status": self.status,
            "proposals": dict(self.proposals),
            "reduction": self.reduction,
            "opened_tx": self.opened_tx,
            "opened_height": self.opened_height,
            "settled_tx": self.settled_tx,
            "settled_height": self.settled_height,
        }

    @staticmethod
    def from_value(value: Any) -> Dispute:
        return Dispute(**fields_of(value, Dispute.FIELDS, "dispute"))
