"""Random sequences of every receivables operation by random organizations.

After every step: each family's pieces add up to its face amount, each piece has exactly one
holder (record and index agree), cash is conserved, and a failed step failed with the code the
rules predict for its pre-state and changed nothing at all.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from contracts.receivables_pricing import days_to_maturity, price
from ledger.hashing import sha256
from tests.support.contract_chain import DAY_MS, ContractChain

BANKS = ("bank-a", "bank-b", "bank-c", "bank-d")
ENTERPRISES = ("acme-steel", "bigauto", "ore-mining", "fuel-co", "rhein-parts")
ORGS = (*BANKS, *ENTERPRISES, "audit-co")
KIND = {**dict.fromkeys(BANKS, "bank"), **dict.fromkeys(ENTERPRISES, "enterprise")}

orgs = st.sampled_from(ORGS)
amounts = st.integers(1, 1_000)
# None means "the party entitled to act" (debtor, holder): random parties alone rarely are.
actors = st.one_of(st.none(), orgs)
enterprises = st.one_of(st.sampled_from(ENTERPRISES), orgs)
banks = st.one_of(st.sampled_from(BANKS), orgs)
# Ways of writing invoice number n that are all the same invoice (DESIGN.md §10).
SPELLINGS = ("INV-{}", "inv {}", "\uff29\uff2e\uff36\u2011{}", "INV{}", "INV_{}\u200b")


class ReceivablesMachine(RuleBasedStateMachine):
    pieces = Bundle("pieces")
    offers = Bundle("offers")

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="rcv-stateful-")
        self.chain = ContractChain(self.directory + "/db")
        self.roots: list[str] = []
        self.invoices: set[tuple[str, str, int]] = set()  # (creditor, debtor, number) issued
        self.documents: set[int] = set()  # documents that back an invoice
        for org in (*ENTERPRISES, *BANKS):
            self.chain.fund(org, "CNY", 5_000)

    def teardown(self) -> None:
        self.chain.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def today(self) -> str:
        return (date(2026, 1, 1) + timedelta(milliseconds=self.now_offset())).isoformat()

    def now_offset(self) -> int:
        return self.chain.now_ms - self.chain.genesis.time_ms

    def piece(self, piece_id: str) -> dict[str, Any]:
        return dict(self.chain.state(f"rcv/piece/{piece_id}"))

    def family(self, root_id: str) -> list[dict[str, Any]]:
        out, stack = [], [root_id]
        while stack:
            record = self.piece(stack.pop())
            out.append(record)
            stack.extend(record["children"])
        return out

    def run(self, org: str, method: str, args: dict[str, Any], expected: str | None) -> Any:
        before = self.chain.state_items()
        receipt = self.chain.submit(org, "receivables", method, args)
        code = receipt.error.code if receipt.error else None
        assert code == expected, (method, org, args, code, expected)
        if code is not None:
            assert self.chain.state_items() == before, f"failed {method} changed state"
        return receipt.result

    def movable_code(self, record: dict[str, Any]) -> str | None:
        if record["status"] == "issued":
            return "NOT_ACCEPTED"
        if record["status"] != "accepted" or self.today() > record["due_date"]:
            return "NOT_TRANSFERABLE"
        return None

    # -- rules -----------------------------------------------------------------------------

    @rule(
        target=pieces,
        creditor=enterprises,
        debtor=enterprises,
        amount=amounts,
        number=st.integers(0, 3),
        spelling=st.sampled_from(SPELLINGS),
        doc=st.integers(0, 5),
        term=st.integers(5, 60),
    )
    def issue(
        self,
        creditor: str,
        debtor: str,
        amount: int,
        number: int,
        spelling: str,
        doc: int,
        term: int,
    ) -> Any:
        due = (date.fromisoformat(self.today()) + timedelta(days=term)).isoformat()
        args = {
            "invoice_no": spelling.format(number),
            "debtor": debtor,
            "amount": amount,
            "currency": "CNY",
            "issue_date": self.today(),
            "due_date": due,
            "doc_hash": sha256(b"doc %d" % doc),
        }
        expected = (
            "NOT_AUTHORIZED" if KIND.get(creditor) != "enterprise"
            else "SELF_INVOICE" if debtor == creditor
            else "DEBTOR_NOT_ENTERPRISE" if KIND.get(debtor) != "enterprise"
            else "DUPLICATE_INVOICE" if (creditor, debtor, number) in self.invoices
            else "DUPLICATE_DOCUMENT" if doc in self.documents
            else None
        )  # fmt: skip
        result = self.run(creditor, "issue", args, expected)
        if result is None:
            return multiple()
        self.invoices.add((creditor, debtor, number))
        self.documents.add(doc)
        self.roots.append(result["id"])
        return result["id"]

    @rule(piece=pieces, actor=actors, choice=st.integers(0, 3))
    def decide(self, piece: str, actor: str | None, choice: int) -> None:
        accept = choice > 0  # mostly accept, so pieces move on
        record = self.chain.state(f"rcv/piece/{piece}")
        org = actor or record["debtor"]
        expected = (
            "NOT_AUTHORIZED" if KIND.get(org) != "enterprise"
            else "UNKNOWN_RECEIVABLE" if record is None
            else "NOT_DEBTOR" if record["debtor"] != org
            else "NOT_PENDING" if record["status"] != "issued"
            else None
        )  # fmt: skip
        if accept:
            self.run(org, "accept", {"id": piece}, expected)
        else:
            self.run(org, "reject", {"id": piece, "reason": "dispute"}, expected)

    @rule(target=pieces, piece=pieces, actor=actors, to=enterprises, amount=st.integers(1, 600))
    def transfer(self, piece: str, actor: str | None, to: str, amount: int) -> Any:
        record = self.chain.state(f"rcv/piece/{piece}")
        org = actor or record["holder"]
        expected = (
            "UNKNOWN_RECEIVABLE" if record is None
            else "NOT_HOLDER" if record["holder"] != org
            else self.movable_code(record)
            or ("SELF_TRANSFER" if to == org else None)
            or ("BAD_RECIPIENT" if KIND.get(to) is None or to == record["debtor"] else None)
            or ("AMOUNT_EXCEEDS_PIECE" if amount > record["amount"] else None)
        )  # fmt: skip
        result = self.run(org, "transfer", {"id": piece, "to": to, "amount": amount}, expected)
        if result is None:
            return multiple()
        assert self.piece(result["id"])["holder"] == to
        assert self.piece(result["id"])["amount"] == amount
        return result["id"]

    @rule(
        target=offers, piece=pieces, bank=banks, rate=st.integers(0, 3_000), life=st.integers(0, 5)
    )
    def offer(self, piece: str, bank: str, rate: int, life: int) -> Any:
        record = self.chain.state(f"rcv/piece/{piece}")
        expected = (
            "NOT_AUTHORIZED" if KIND.get(bank) != "bank"
            else "UNKNOWN_RECEIVABLE" if record is None
            else self.movable_code(record)
            or ("ALREADY_FINANCED" if record["financed_by"] else None)
            or ("OWN_PIECE" if record["holder"] == bank else None)
            or ("OFFER_EXPIRED" if life == 0 else None)
        )  # fmt: skip
        args = {"id": piece, "rate_bps": rate, "expires_ms": self.chain.now_ms + life * DAY_MS}
        result = self.run(bank, "offer_financing", args, expected)
        return multiple() if result is None else result["id"]

    @rule(offer=offers, actor=actors)
    def accept_financing(self, offer: str, actor: str | None) -> None:
        terms = self.chain.state(f"rcv/offer/{offer}")
        record = None if terms is None else self.piece(terms["piece"])
        org = actor or ("fuel-co" if record is None else record["holder"])
        cost = 0
        if terms is not None and record is not None:
            days = days_to_maturity(self.today(), record["due_date"])
            cost = price(record["amount"], terms["rate_bps"], days)
        expected = (
            "UNKNOWN_OFFER" if terms is None or record is None
            else "OFFER_CLOSED" if terms["status"] != "open"
            else "OFFER_EXPIRED" if self.chain.now_ms > terms["expires_ms"]
            else "ALREADY_FINANCED" if record["financed_by"]
            else "NOT_HOLDER" if record["holder"] != org
            else "OFFER_VOID" if len(record["history"]) != terms["version"]
            else self.movable_code(record)
            or ("ZERO_PRICE" if cost == 0 else None)
            or ("INSUFFICIENT_FUNDS" if self.chain.balance("CNY", terms["bank"]) < cost else None)
        )  # fmt: skip
        seller_before = self.chain.balance("CNY", org)
        result = self.run(org, "accept_financing", {"offer": offer}, expected)
        if result is not None:
            assert result == {"price": cost}
            assert self.chain.balance("CNY", org) == seller_before + cost
            assert record is not None and self.piece(record["id"])["holder"] == terms["bank"]

    @rule(piece=pieces, actor=actors, use_root=st.booleans())
    def repay(self, piece: str, actor: str | None, use_root: bool) -> None:
        piece = self.piece(piece)["root"] if use_root else piece
        record = self.chain.state(f"rcv/piece/{piece}")
        org = actor or record["debtor"]
        owed = 0 if record is None else sum(p["amount"] for p in self.family(record["root"]))
        expected = (
            "NOT_AUTHORIZED" if KIND.get(org) != "enterprise"
            else "UNKNOWN_RECEIVABLE" if record is None
            else "NOT_ROOT" if record["parent"] is not None
            else "NOT_DEBTOR" if record["debtor"] != org
            else "ALREADY_SETTLED" if record["status"] == "settled"
            else "NOT_ACCEPTED" if record["status"] not in ("accepted", "overdue")
            else "INSUFFICIENT_FUNDS" if self.chain.balance("CNY", org) < owed
            else None
        )  # fmt: skip
        result = self.run(org, "repay", {"id": piece}, expected)
        if result is not None:
            assert sum(result["paid"].values()) == owed
            assert {p["status"] for p in self.family(piece)} == {"settled"}

    @rule(piece=pieces, actor=actors)
    def mark_overdue(self, piece: str, actor: str | None) -> None:
        record = self.chain.state(f"rcv/piece/{piece}")
        org = actor or record["holder"]
        root = None if record is None else self.piece(record["root"])
        holders = set() if root is None else {p["holder"] for p in self.family(root["id"])}
        expected = (
            "UNKNOWN_RECEIVABLE" if root is None
            else "NOT_OUTSTANDING" if root["status"] != "accepted"
            else "NOT_DUE" if self.today() <= root["due_date"]
            else None if org == root["debtor"] or org in holders or KIND.get(org) == "bank"
            else "NOT_AUTHORIZED"
        )  # fmt: skip
        self.run(org, "mark_overdue", {"id": piece}, expected)

    @rule(days=st.integers(0, 6))
    def advance_time(self, days: int) -> None:
        self.chain.advance_time(days=days, ms=1)

    @rule(org=st.sampled_from(ENTERPRISES), amount=st.integers(1, 3_000))
    def fund(self, org: str, amount: int) -> None:
        self.chain.fund(org, "CNY", amount)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def face_amount_is_conserved_per_family(self) -> None:
        for root in self.roots:
            family = self.family(root)
            assert sum(p["amount"] for p in family) == family[0]["face"]
            assert all(p["amount"] > 0 for p in family)
            assert len({p["status"] for p in family}) == 1

    @invariant()
    def every_piece_has_exactly_one_holder(self) -> None:
        held: dict[str, list[str]] = {}
        for key in self.chain.state_items("rcv/holder/"):
            org, piece_id = key.split("/")[2:4]
            held.setdefault(piece_id, []).append(org)
        records = self.chain.state_items("rcv/piece/")
        assert set(held) == {key.split("/")[2] for key in records}
        for key, record in records.items():
            assert held[key.split("/")[2]] == [record["holder"]]

    @invariant()
    def cash_is_conserved(self) -> None:
        balances = self.chain.state_items("cash/bal/CNY/")
        assert sum(balances.values()) == self.chain.state("cash/supply/CNY")


ReceivablesMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None, derandomize=False
)
TestReceivables = ReceivablesMachine.TestCase
