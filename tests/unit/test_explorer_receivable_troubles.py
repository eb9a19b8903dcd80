"""The explorer's receivable page model when things go wrong (issue 14): the family graph with
repeated partial repayments and a recourse edge, who is owed what after each step, the frozen
banner's facts and each piece's share of a settled dispute. Pure functions of a trace."""

from __future__ import annotations

from typing import Any

from explorer import receivable_view
from explorer.graph import layout

# INV-1002 as the demo leaves it: rhein-parts passes 150 to fuel-co and sells 350 to bank-b
# with recourse; bigauto repays 40 % (140 + 60); default; bank-b turns its piece on rhein-parts,
# which repays 100 then 110.
ROOT_HISTORY = [
    {"action": "issue", "holder": "rhein-parts", "tx": "t1", "height": 1, "amount": 500},
    {"action": "accept", "holder": "rhein-parts", "tx": "t2", "height": 2},
    {"action": "split", "holder": "rhein-parts", "tx": "t3", "height": 3, "child": "f",
     "amount": 150, "to": "fuel-co"},
    {"action": "finance", "holder": "bank-b", "tx": "t4", "height": 4, "price": 344,
     "seller": "rhein-parts", "with_recourse": True},
    {"action": "overdue", "holder": "bank-b", "tx": "t5", "height": 5, "by": "fuel-co"},
    {"action": "repay", "holder": "bank-b", "tx": "t6", "height": 6, "paid": 140},
    {"action": "default", "holder": "bank-b", "tx": "t7", "height": 7, "by": "bank-b"},
    {"action": "recourse", "holder": "bank-b", "tx": "t8", "height": 8, "seller": "rhein-parts",
     "from": "bigauto", "amount": 210, "was_due": "2027-03-02"},
    {"action": "repay", "holder": "bank-b", "tx": "t9", "height": 9, "paid": 100},
    {"action": "repay", "holder": "bank-b", "tx": "t10", "height": 10, "paid": 110},
]  # fmt: skip
FUEL_HISTORY = [
    {"action": "split_from", "holder": "fuel-co", "tx": "t3", "height": 3, "amount": 150},
    {"action": "overdue", "holder": "fuel-co", "tx": "t5", "height": 5, "by": "fuel-co"},
    {"action": "repay", "holder": "fuel-co", "tx": "t6", "height": 6, "paid": 60},
    {"action": "default", "holder": "fuel-co", "tx": "t7", "height": 7, "by": "bank-b"},
]
TRACE: dict[str, Any] = {
    "root": "r", "creditor": "rhein-parts", "debtor": "bigauto", "due_date": "2027-03-02",
    "grace_days": 5, "last_grace_day": "2027-03-07", "dispute": None, "frozen": False,
    "pieces": [
        {"id": "r", "parent": None, "holder": "bank-b", "debtor": "rhein-parts",
         "recourse_from": "bigauto", "status": "settled", "amount": 350, "repaid": 350,
         "reduced": 0, "outstanding": 0, "due_date": "2027-03-12",
         "financing": {"bank": "bank-b", "with_recourse": True}, "history": ROOT_HISTORY},
        {"id": "f", "parent": "r", "holder": "fuel-co", "debtor": "bigauto",
         "recourse_from": None, "status": "defaulted", "amount": 150, "repaid": 60, "reduced": 0,
         "outstanding": 90, "due_date": "2027-03-02", "financing": None,
         "history": FUEL_HISTORY},
    ],
}  # fmt: skip


def test_partial_repayments_do_not_end_the_holding_and_recourse_is_an_edge_to_the_seller() -> None:
    graph = layout(TRACE)
    boxes = {n.key: n for n in graph.nodes}
    edges = [
        (boxes[e.source].holder, e.kind, e.amount, boxes[e.target].holder) for e in graph.edges
    ]
    assert ("bank-b", "repayment", 140, "bigauto paid") in edges
    assert ("bank-b", "recourse", 210, "rhein-parts") in edges
    # the seller's repayments hang off the seller's box, in two parts
    assert edges.count(("rhein-parts", "repayment", 100, "rhein-parts paid")) == 1
    assert edges.count(("rhein-parts", "repayment", 110, "rhein-parts paid")) == 1
    assert ("fuel-co", "repayment", 60, "bigauto paid") in edges
    (recourse,) = [e for e in graph.edges if e.kind == "recourse"]
    assert recourse.detail == "2027-03-12" and recourse.tx == "t8"
    # fuel-co's box says what bigauto still owes on it; the bank's box that it was turned
    fuel = next(n for n in graph.nodes if n.holder == "fuel-co")
    assert fuel.owed == 90 and fuel.status == "defaulted"
    bank = next(n for n in graph.nodes if n.holder == "bank-b")
    assert bank.label == "turned on rhein-parts" and bank.owed is None
    labels = [n.label for n in graph.nodes if n.holder == "rhein-parts paid"]
    assert labels == ["part paid", "paid in full"]
    # boxes in one column never overlap, and the recourse label fits between its columns
    seller = boxes[recourse.target]
    assert seller.x - (bank.x + 200) >= len("210,000.00 EUR · 2027-03-12") * 6


def test_who_is_owed_what_after_each_step() -> None:
    steps = receivable_view.steps_with_balances(TRACE)
    root_steps = [(s["action"], s["owed_after"], s["debtor_after"]) for s in steps
                  if s["piece"] == "r"]  # fmt: skip
    assert root_steps == [
        ("issue", 500, "bigauto"), ("accept", 500, "bigauto"), ("split", 350, "bigauto"),
        ("finance", 350, "bigauto"), ("overdue", 350, "bigauto"), ("repay", 210, "bigauto"),
        ("default", 210, "bigauto"), ("recourse", 210, "rhein-parts"),
        ("repay", 110, "rhein-parts"), ("repay", 0, "rhein-parts"),
    ]  # fmt: skip
    rows = receivable_view.owed_rows(TRACE)
    assert [(r.holder, r.debtor, r.recourse_from, r.outstanding) for r in rows] == [
        ("bank-b", "rhein-parts", "bigauto", 0),
        ("fuel-co", "bigauto", None, 90),
    ]
    terms = receivable_view.terms(TRACE)
    assert terms["status"] == "defaulted" and terms["owed_by_debtor"] == 90
    assert terms["default_from"] == "2027-03-08" and terms["overdue_from"] == "2027-03-03"
    assert terms["default"]["by"] == "bank-b" and terms["default"]["height"] == 7
    (turned,) = receivable_view.recourses(TRACE)
    assert turned["bank"] == "bank-b" and turned["seller"] == "rhein-parts"
    assert (turned["amount"], turned["date"], turned["outstanding"]) == (210, "2027-03-12", 0)
    assert receivable_view.heights_to_date(TRACE) == [7]


def _disputed(status: str) -> dict[str, Any]:
    history = [
        {"action": "issue", "holder": "acme", "tx": "a1", "height": 1, "amount": 400},
        {"action": "dispute", "holder": "acme", "tx": "a2", "height": 2, "by": "big",
         "reason": "short delivery"},
    ]  # fmt: skip
    if status == "settled":
        history.append(
            {"action": "dispute_settled", "holder": "acme", "tx": "a3", "height": 3,
             "reduction": 80}
        )  # fmt: skip
    piece = {"id": "r", "parent": None, "holder": "acme", "debtor": "big", "status": "accepted",
             "amount": 400 - (80 if status == "settled" else 0), "outstanding": 320,
             "history": history}  # fmt: skip
    record = {"root": "r", "reason": "short delivery", "status": status, "reduction": 80,
              "proposals": {"creditor": 80}, "opened_height": 2,
              "settled_height": 3 if status == "settled" else None}  # fmt: skip
    return {"creditor": "acme", "debtor": "big", "due_date": "2027-01-31", "dispute": record,
            "frozen": status == "open", "pieces": [piece]}  # fmt: skip


def test_an_open_dispute_names_who_why_and_the_proposals_pending() -> None:
    shown = receivable_view.dispute(_disputed("open"))
    assert shown is not None and shown["open"] and shown["by"] == "big"
    assert shown["pending"] == [
        {"party": "creditor", "org": "acme", "reduction": 80},
        {"party": "debtor", "org": "big", "reduction": None},
    ]
    assert receivable_view.heights_to_date(_disputed("open")) == [2]


def test_a_settled_dispute_shows_each_pieces_reduction() -> None:
    trace = _disputed("settled")
    shown = receivable_view.dispute(trace)
    assert shown is not None and not shown["open"]
    assert shown["shares"] == [{"piece": "r", "holder": "acme", "reduction": 80}]
    (step,) = [s for s in receivable_view.steps_with_balances(trace)
               if s["action"] == "dispute_settled"]  # fmt: skip
    assert step["owed_after"] == 320
    assert layout(trace).nodes[0].reduced == 80


def test_a_steps_details_read_as_words_and_money_not_raw_fields() -> None:
    """The history's details column said `with_recourse True` and `price 344`."""
    steps = receivable_view.steps_with_balances(TRACE)
    finance = next(s for s in steps if s["action"] == "finance")
    said = receivable_view.step_details(finance, "EUR", {"EUR": 2})
    assert said == ["price 3.44 EUR", "seller rhein-parts", "with recourse"]
    recourse = next(s for s in steps if s["action"] == "recourse")
    assert receivable_view.step_details(recourse, "EUR", {"EUR": 2}) == [
        "from bigauto",
        "seller rhein-parts",
        "was due 2027-03-02",
    ]
    bought_plain = {**finance, "with_recourse": False, "days": 1}
    assert receivable_view.step_details(bought_plain, "EUR", {}) == [
        "1 day",
        "price 344 EUR",
        "seller rhein-parts",
        "without recourse",
    ]
