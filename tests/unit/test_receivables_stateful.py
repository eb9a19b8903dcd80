"""Random sequences of every receivables operation and of cash transfers and redemptions by random
organizations, while governance sanctions and lifts sanctions on organizations and lets their KYC
expire and renews it, and block time passes (through due dates and grace periods): partial and
full repayment, overdue, default, financing with and without recourse, recourse, disputes and
their settlement.

After every step: each family's pieces add up to its face amount, which is the issued face less
the reductions agreed in disputes; what is still owed on a family is its face less everything
repaid on it (to holders or into holds); the unsettled pieces of one debt share a status; each
piece has exactly one holder (record and index agree); cash is conserved (balances plus what is
held); a failed step failed with the code the rules predict for its pre-state (SANCTIONED and
KYC_EXPIRED included) and changed nothing at all; and no step moved value to or from an
organization sanctioned throughout it: its balance and the pieces it holds are as they were
(an agreed reduction shrinks its pieces as everyone's, and moves nothing to or from it), and
what a repayment owed it is held until the sanction is lifted, then paid to it in full.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from contracts.allocation import pro_rata
from contracts.receivables_pricing import days_to_maturity, price
from ledger.hashing import sha256
from tests.support.compliance_flow import EXPIRED, governance
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
VALID = "2099-12-31"  # the dev cast's KYC expiry
CHAIN_GRACE = 30  # the dev chain's params.receivable_grace_days
OUTSTANDING = ("accepted", "overdue", "defaulted")


def outstanding(record: dict[str, Any]) -> int:
    return 0 if record["status"] == "settled" else record["amount"] - record.get("repaid", 0)


class ReceivablesMachine(RuleBasedStateMachine):
    pieces = Bundle("pieces")
    offers = Bundle("offers")

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="rcv-stateful-")
        self.chain = ContractChain(self.directory + "/db")
        self.roots: list[str] = []
        self.issued_face: dict[str, int] = {}  # root -> face at issue
        self.reduced: dict[str, int] = {}  # root -> reductions agreed so far
        self.repaid: dict[str, int] = {}  # root -> repaid on the family, to holders or holds
        self.invoices: set[tuple[str, str, int]] = set()  # (creditor, debtor, number) issued
        self.documents: set[int] = set()  # documents that back an invoice
        self.sanctioned: set[str] = set()
        self.kyc_expired: set[str] = set()
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

    def debt(self, record: dict[str, Any]) -> dict[str, Any]:
        """The model of contracts/receivables_debts.py: the debt a piece belongs to."""
        if not record.get("recourse_from"):
            return self.invoice_debt(self.piece(record["root"]))
        return self._debt(record, record["id"], [record], record["debtor"], record["due_date"])

    def invoice_debt(self, root: dict[str, Any]) -> dict[str, Any]:
        """What the invoice's debtor owes (every piece not turned back), even when the root
        piece itself was turned back on its seller."""
        pieces = [p for p in self.family(root["id"]) if not p.get("recourse_from")]
        debtor = root.get("recourse_from") or root["debtor"]
        due = pieces[0]["due_date"] if pieces else root["due_date"]
        return self._debt(root, root["id"], pieces, debtor, due)

    def _debt(
        self, record: dict[str, Any], key: str, pieces: list[Any], debtor: str, due: str
    ) -> dict[str, Any]:
        unsettled = [p for p in pieces if p["status"] != "settled"]
        grace = record.get("grace_days", CHAIN_GRACE)
        return {
            "key": key,
            "debtor": debtor,
            "pieces": pieces,
            "unsettled": unsettled,
            "status": unsettled[0]["status"] if unsettled else "settled",
            "owed": sum(outstanding(p) for p in unsettled),
            "last_grace_day": (date.fromisoformat(due) + timedelta(days=grace)).isoformat(),
            "due": due,
        }

    def frozen(self, record: dict[str, Any]) -> bool:
        dispute = self.chain.state(f"rcv/dispute/{record['root']}")
        return dispute is not None and dispute["status"] == "open"

    def holdings(self, org: str) -> tuple[int, dict[str, int]]:
        """What an organization has: its cash, and the pieces it holds with their amounts."""
        prefix = f"rcv/holder/{org}/"
        pieces = [key.removeprefix(prefix) for key in self.chain.state_items(prefix)]
        return self.chain.balance("CNY", org), {p: self.piece(p)["amount"] for p in pieces}

    def run(
        self,
        org: str,
        method: str,
        args: dict[str, Any],
        expected: str | None,
        contract: str = "receivables",
    ) -> Any:
        before = self.chain.state_items()
        frozen = {org: self.holdings(org) for org in sorted(self.sanctioned)}
        receipt = self.chain.submit(org, contract, method, args)
        code = receipt.error.code if receipt.error else None
        assert code == expected, (method, org, args, code, expected)
        event(f"{contract}.{method}: {code or 'ok'}")  # --hypothesis-show-statistics: reached
        if code is not None:
            assert self.chain.state_items() == before, f"failed {method} changed state"
        if method == "settle_dispute":  # an agreed reduction shrinks pieces, moving nothing
            frozen = {org: (had[0], {p: self.piece(p)["amount"] for p in had[1]})
                      for org, had in frozen.items()}  # fmt: skip
        for sanctioned, had in frozen.items():
            assert self.holdings(sanctioned) == had, f"{method} moved value of {sanctioned}"
        return receipt.result

    def compliance_code(self, parties: tuple[str, ...], initiators: tuple[str, ...]) -> str | None:
        """SANCTIONED if any party is sanctioned, else KYC_EXPIRED if an initiator's KYC is."""
        if any(org in self.sanctioned for org in parties):
            return "SANCTIONED"
        if any(org in self.kyc_expired for org in initiators):
            return "KYC_EXPIRED"
        return None

    def movable_code(self, record: dict[str, Any]) -> str | None:
        if record["status"] == "issued":
            return "NOT_ACCEPTED"
        if record["status"] != "accepted" or self.today() > record["due_date"]:
            return "NOT_TRANSFERABLE"
        if record.get("recourse_from"):
            return "NOT_TRANSFERABLE"
        return "DISPUTED" if self.frozen(record) else None

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
        grace=st.one_of(st.none(), st.integers(0, 5)),
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
        grace: int | None,
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
            **({} if grace is None else {"grace_days": grace}),
        }
        expected = (
            "NOT_AUTHORIZED" if KIND.get(creditor) != "enterprise"
            else "SELF_INVOICE" if debtor == creditor
            else "DEBTOR_NOT_ENTERPRISE" if KIND.get(debtor) != "enterprise"
            else "DUPLICATE_INVOICE" if (creditor, debtor, number) in self.invoices
            else "DUPLICATE_DOCUMENT" if doc in self.documents
            else self.compliance_code((creditor, debtor), (creditor,))
        )  # fmt: skip
        result = self.run(creditor, "issue", args, expected)
        if result is None:
            return multiple()
        self.invoices.add((creditor, debtor, number))
        self.documents.add(doc)
        self.roots.append(result["id"])
        self.issued_face[result["id"]] = amount
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
            or ("AMOUNT_EXCEEDS_PIECE" if amount > outstanding(record) else None)
            or self.compliance_code((org, to), (org,))
        )  # fmt: skip
        result = self.run(org, "transfer", {"id": piece, "to": to, "amount": amount}, expected)
        if result is None:
            return multiple()
        assert self.piece(result["id"])["holder"] == to
        assert outstanding(self.piece(result["id"])) == amount
        return result["id"]

    @rule(
        target=offers,
        piece=pieces,
        bank=banks,
        rate=st.integers(0, 3_000),
        life=st.integers(0, 5),
        with_recourse=st.booleans(),
    )
    def offer(self, piece: str, bank: str, rate: int, life: int, with_recourse: bool) -> Any:
        record = self.chain.state(f"rcv/piece/{piece}")
        expected = (
            "NOT_AUTHORIZED" if KIND.get(bank) != "bank"
            else "UNKNOWN_RECEIVABLE" if record is None
            else self.movable_code(record)
            or ("ALREADY_FINANCED" if record["financed_by"] else None)
            or ("OWN_PIECE" if record["holder"] == bank else None)
            or ("OFFER_EXPIRED" if life == 0 else None)
            or self.compliance_code((bank, record["holder"]), (bank,))
        )  # fmt: skip
        args = {
            "id": piece,
            "rate_bps": rate,
            "expires_ms": self.chain.now_ms + life * DAY_MS,
            "with_recourse": with_recourse,
        }
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
            cost = price(outstanding(record), terms["rate_bps"], days)
        expected = (
            "UNKNOWN_OFFER" if terms is None or record is None
            else "OFFER_CLOSED" if terms["status"] != "open"
            else "OFFER_EXPIRED" if self.chain.now_ms > terms["expires_ms"]
            else "ALREADY_FINANCED" if record["financed_by"]
            else "NOT_HOLDER" if record["holder"] != org
            else "OFFER_VOID" if len(record["history"]) != terms["version"]
            else self.movable_code(record)
            or ("ZERO_PRICE" if cost == 0 else None)
            or self.compliance_code((org, terms["bank"]), (org, terms["bank"]))
            or ("INSUFFICIENT_FUNDS" if self.chain.balance("CNY", terms["bank"]) < cost else None)
        )  # fmt: skip
        seller_before = self.chain.balance("CNY", org)
        result = self.run(org, "accept_financing", {"offer": offer}, expected)
        if result is not None:
            assert result == {"price": cost}
            assert self.chain.balance("CNY", org) == seller_before + cost
            assert record is not None and self.piece(record["id"])["holder"] == terms["bank"]

    def repay_code(self, record: dict[str, Any], org: str, value: int | None) -> str | None:
        """The code `repay` must fail with, in the contract's order; None if it succeeds."""
        if KIND.get(org) not in ("enterprise", "bank"):
            return "NOT_AUTHORIZED"
        turned = bool(record.get("recourse_from")) and record["debtor"] == org
        if not turned and record["parent"] is not None:
            return "NOT_ROOT"
        debt = self.debt(record)
        owed = debt["owed"]
        return (
            "NOT_DEBTOR" if debt["debtor"] != org
            else "ALREADY_SETTLED" if debt["status"] == "settled"
            else "NOT_ACCEPTED" if debt["status"] not in OUTSTANDING
            else "DISPUTED" if self.frozen(record)
            else "AMOUNT_EXCEEDS_DUE" if value is not None and value > owed
            else self.compliance_code((org,), (org,))
            or ("INSUFFICIENT_FUNDS" if self.chain.balance("CNY", org) < (value or owed) else None)
        )  # fmt: skip

    @rule(
        piece=pieces,
        actor=actors,
        use_root=st.booleans(),
        part=st.one_of(st.none(), st.integers(1, 60), st.integers(1, 1_200)),
    )
    def repay(self, piece: str, actor: str | None, use_root: bool, part: int | None) -> None:
        """The invoice's debtor (or a seller a piece was turned on) repays all or part."""
        piece = self.piece(piece)["root"] if use_root else piece
        record = self.piece(piece)
        org = actor or record["debtor"]
        expected = self.repay_code(record, org, part)
        debt = self.debt(record)
        args = {"id": piece} if part is None else {"id": piece, "amount": part}
        result = self.run(org, "repay", args, expected)
        if result is None:
            return
        value = debt["owed"] if part is None else part
        held = result.get("held", {})
        assert sum(result["paid"].values()) + sum(held.values()) == value
        assert result["outstanding"] == debt["owed"] - value
        shares = pro_rata(value, {p["id"]: outstanding(p) for p in debt["unsettled"]})
        by_holder: dict[str, int] = {}
        for p in debt["unsettled"]:
            if shares[p["id"]]:
                by_holder[p["holder"]] = by_holder.get(p["holder"], 0) + shares[p["id"]]
        assert {**result["paid"], **held} == by_holder
        assert set(held) <= self.sanctioned and not set(result["paid"]) & self.sanctioned
        self.repaid[record["root"]] = self.repaid.get(record["root"], 0) + value
        event("repay: " + ("in full" if part is None or value == debt["owed"] else "in part"))

    @rule(piece=pieces, actor=actors)
    def mark_overdue(self, piece: str, actor: str | None) -> None:
        record = self.piece(piece)
        org = actor or record["holder"]
        debt = self.debt(record)
        holders = {p["holder"] for p in debt["pieces"]}
        expected = (
            "NOT_OUTSTANDING" if debt["status"] != "accepted"
            else "DISPUTED" if self.frozen(record)
            else "NOT_DUE" if self.today() <= debt["due"]
            else None if org == debt["debtor"] or org in holders or KIND.get(org) == "bank"
            else "NOT_AUTHORIZED"
        )  # fmt: skip
        self.run(org, "mark_overdue", {"id": piece}, expected)

    @rule(piece=pieces, actor=actors)
    def declare_default(self, piece: str, actor: str | None) -> None:
        record = self.piece(piece)
        org = actor or record["holder"]
        debt = self.debt(record)
        expected = (
            "ALREADY_DEFAULTED" if debt["status"] == "defaulted"
            else "NOT_OUTSTANDING" if debt["status"] not in ("accepted", "overdue")
            else "DISPUTED" if self.frozen(record)
            else "IN_GRACE" if self.today() <= debt["last_grace_day"]
            else "NOT_HOLDER" if org not in {p["holder"] for p in debt["unsettled"]}
            else None
        )  # fmt: skip
        self.run(org, "declare_default", {"id": piece}, expected)
        if expected is None:
            assert {p["status"] for p in self.debt(self.piece(piece))["unsettled"]} == {"defaulted"}

    @rule(piece=pieces, actor=actors)
    def recourse(self, piece: str, actor: str | None) -> None:
        record = self.piece(piece)
        org = actor or record["holder"]
        terms = record["financing"]
        expected = (
            "NOT_AUTHORIZED" if KIND.get(org) != "bank"
            else "NOT_HOLDER" if record["holder"] != org
            else "NOT_FINANCED" if terms is None or terms["bank"] != org
            else "WITHOUT_RECOURSE" if not terms.get("with_recourse")
            else "ALREADY_TURNED" if record.get("recourse_from")
            else "NOT_DEFAULTED" if record["status"] != "defaulted"
            else self.compliance_code((org, terms["seller"]), (org,))
        )  # fmt: skip
        result = self.run(org, "recourse", {"id": piece}, expected)
        if result is not None:
            assert result == {"debtor": terms["seller"], "amount": outstanding(record)}
            turned = self.piece(piece)
            assert turned["debtor"] == terms["seller"] and turned["due_date"] == self.today()

    @rule(piece=pieces, actor=actors)
    def dispute(self, piece: str, actor: str | None) -> None:
        record = self.piece(piece)
        debt = self.invoice_debt(self.piece(record["root"]))
        org = actor or debt["debtor"]
        expected = (
            "NOT_AUTHORIZED" if KIND.get(org) != "enterprise"
            else "NOT_DEBTOR" if org != debt["debtor"]
            else "ALREADY_DISPUTED" if self.frozen(record)
            else "NOT_ACCEPTED" if debt["status"] == "issued"
            else "NOT_DISPUTABLE" if debt["status"] not in ("accepted", "overdue")
            else None
        )  # fmt: skip
        self.run(org, "dispute", {"id": piece, "reason": "short delivery"}, expected)

    @rule(
        piece=pieces,
        actor=actors,
        creditor_side=st.booleans(),
        reduction=st.one_of(st.integers(0, 3), st.integers(0, 1_200)),
    )
    def settle_dispute(
        self, piece: str, actor: str | None, creditor_side: bool, reduction: int
    ) -> None:
        record = self.piece(piece)
        root = self.piece(record["root"])
        debt = self.invoice_debt(root)
        org = actor or (root["creditor"] if creditor_side else debt["debtor"])
        dispute = self.chain.state(f"rcv/dispute/{root['id']}")
        expected = (
            "NOT_AUTHORIZED" if KIND.get(org) != "enterprise"
            else "NOT_DISPUTED" if not self.frozen(record)
            else "NOT_PARTY" if org not in (root["creditor"], debt["debtor"])
            else "REDUCTION_TOO_LARGE" if reduction > debt["owed"]
            else None
        )  # fmt: skip
        result = self.run(org, "settle_dispute", {"id": piece, "reduction": reduction}, expected)
        if result is None:
            return
        other = "debtor" if org == root["creditor"] else "creditor"
        agreed = dispute["proposals"].get(other) == reduction
        assert result == {"applied": agreed}
        if agreed:
            self.reduced[root["id"]] = self.reduced.get(root["id"], 0) + reduction
            event("settle_dispute: applied")

    @rule(
        target=pieces,
        parties=st.permutations(ENTERPRISES).map(lambda orgs: orgs[:3]),
        amount=amounts,
        number=st.integers(4, 40),
        term=st.integers(5, 30),
        grace=st.one_of(st.none(), st.integers(0, 5)),
        bank=st.sampled_from(BANKS),
        with_recourse=st.sampled_from((True, True, False)),
        goes_wrong=st.booleans(),
    )
    def story(
        self,
        parties: tuple[str, ...],
        amount: int,
        number: int,
        term: int,
        grace: int | None,
        bank: str,
        with_recourse: bool,
        goes_wrong: bool,
    ) -> Any:
        """An invoice issued, accepted, split and its part sold: random steps alone rarely
        reach repayment, default and recourse. Each step is the rule's own, checked as such."""
        creditor, debtor, supplier = parties
        root = self.issue(creditor, debtor, amount, number, "INV-{}", 100 + number, term, grace)
        if not isinstance(root, str):
            return multiple()
        self.decide(root, None, 1)
        child = self.transfer(root, None, supplier, max(1, amount // 3))
        if not isinstance(child, str):
            return multiple(root)
        offer = self.offer(child, bank, 600, 3, with_recourse)
        if isinstance(offer, str):
            self.accept_financing(offer, None)
        if goes_wrong:  # and then the debtor does not pay in time
            self.default_and_recourse(child, None)
        return multiple(root, child)

    @rule(piece=pieces, part=st.one_of(st.none(), st.integers(1, 60)))
    def default_and_recourse(self, piece: str, part: int | None) -> None:
        """Time runs past the piece's grace period, its holder declares default and turns it
        on its seller, who repays (part of) it: each step the rule's own, checked as such."""
        debt = self.debt(self.piece(piece))
        past = date.fromisoformat(debt["last_grace_day"]) - date.fromisoformat(self.today())
        self.advance_time_far(max(0, past.days + 1))
        self.declare_default(piece, None)
        self.recourse(piece, None)
        self.repay(piece, None, False, part)

    @rule(piece=pieces, reduction=st.integers(0, 60))
    def dispute_and_settle(self, piece: str, reduction: int) -> None:
        """The debtor disputes, then creditor and debtor name the same reduction: random
        proposals alone rarely agree. Each step the rule's own, checked as such."""
        self.dispute(piece, None)
        self.settle_dispute(piece, None, True, reduction)
        self.settle_dispute(piece, None, False, reduction)

    @rule(days=st.integers(0, 6))
    def advance_time(self, days: int) -> None:
        self.chain.advance_time(days=days, ms=1)

    @rule(days=st.integers(20, 40))
    def advance_time_far(self, days: int) -> None:
        """Past due dates and grace periods, so defaults and recourse are reached."""
        self.chain.advance_time(days=days)

    @rule(org=st.sampled_from(ENTERPRISES), amount=st.integers(1, 3_000))
    def fund(self, org: str, amount: int) -> None:
        expected = self.compliance_code(("bank-a", org), ("bank-a",))
        args = {"currency": "CNY", "to": org, "amount": amount}
        self.run("bank-a", "issue", args, expected, contract="cash")

    @rule(payer=orgs, to=orgs, amount=st.integers(1, 3_000))
    def pay_cash(self, payer: str, to: str, amount: int) -> None:
        """cash.transfer between any two organizations: value moving outside receivables, to
        or from a sanctioned organization as often as not."""
        expected = self.compliance_code((payer, to), (payer,))
        if expected is None and self.chain.balance("CNY", payer) < amount:
            expected = "INSUFFICIENT_FUNDS"
        args = {"currency": "CNY", "to": to, "amount": amount}
        self.run(payer, "transfer", args, expected, contract="cash")

    @rule(org=orgs, amount=st.integers(1, 3_000))
    def redeem_cash(self, org: str, amount: int) -> None:
        """cash.redeem: value leaving the ledger, which a sanctioned organization may not take."""
        expected = self.compliance_code((org,), (org,))
        if expected is None and self.chain.balance("CNY", org) < amount:
            expected = "INSUFFICIENT_FUNDS"
        args = {"currency": "CNY", "amount": amount}
        self.run(org, "redeem", args, expected, contract="cash")

    @rule(org=orgs)
    def toggle_sanction(self, org: str) -> None:
        """Governance sanctions `org`, or lifts its sanction, which pays out what was held."""
        balance, held = self.chain.balance("CNY", org), self.held_for(org)
        on = org not in self.sanctioned
        governance(self.chain, "set_sanctioned", {"org": org, "sanctioned": on})
        if on:
            self.sanctioned.add(org)
            assert self.chain.balance("CNY", org) == balance
        else:
            self.sanctioned.discard(org)
            assert self.chain.balance("CNY", org) == balance + held
            event("lift: held money released" if held else "lift: nothing held")
            assert self.held_for(org) == 0

    @rule(piece=pieces)
    def toggle_sanction_of_holder(self, piece: str) -> None:
        """The same for whoever holds a piece now: random organizations alone rarely hold
        what a debtor is about to repay."""
        self.toggle_sanction(self.piece(piece)["holder"])

    @rule(org=orgs, expired=st.booleans())
    def set_kyc(self, org: str, expired: bool) -> None:
        """Governance lets `org`'s KYC lapse (expired yesterday) or renews it."""
        expires = EXPIRED if expired else VALID
        governance(self.chain, "set_kyc", {"org": org, "kyc_expires": expires})
        (self.kyc_expired.add if expired else self.kyc_expired.discard)(org)

    def held_for(self, org: str) -> int:
        return int(self.chain.state(f"cash/held/CNY/{org}") or 0)

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def face_and_outstanding_amounts_are_conserved_per_family(self) -> None:
        for root in self.roots:
            family = self.family(root)
            face = self.issued_face[root] - self.reduced.get(root, 0)
            assert {p["face"] for p in family} == {face}
            assert sum(p["amount"] for p in family) == face
            assert sum(outstanding(p) for p in family) == face - self.repaid.get(root, 0)
            for p in family:
                if p["status"] == "settled":
                    assert "repaid" not in p and p["amount"] >= 0
                else:
                    assert 0 <= p.get("repaid", 0) < p["amount"]
            invoice = [p for p in family if not p.get("recourse_from")]
            assert len({p["status"] for p in invoice if p["status"] != "settled"}) <= 1

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
        held = self.chain.state_items("cash/held/CNY/")
        total = sum(balances.values()) + sum(held.values())
        assert total == self.chain.state("cash/supply/CNY")

    @invariant()
    def money_is_held_only_for_sanctioned_holders_and_as_recorded(self) -> None:
        recorded: dict[str, int] = {}
        for hold in self.chain.state_items("hold/piece/").values():
            if hold["status"] == "held":
                recorded[hold["holder"]] = recorded.get(hold["holder"], 0) + hold["amount"]
        held = {
            key.rsplit("/", 1)[1]: v for key, v in self.chain.state_items("cash/held/CNY/").items()
        }
        assert held == recorded
        assert set(held) <= self.sanctioned


ReceivablesMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=50, deadline=None, derandomize=False
)
TestReceivables = ReceivablesMachine.TestCase
