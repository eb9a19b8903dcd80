"""A receivable's family tree laid out for drawing: who held which piece, and which tx moved it.

Input is the trace of GET /v1/receivables/{id}/trace: piece records with their `history`
(issue, accept, split, transfer, finance, repay, recourse, ...; each step names its tx). A node
is one piece during one holding period, or a payment out of it; an edge is what ended it or paid
on it (split, transfer, financing, each repayment, a hold, recourse on the seller), so every
arrow an auditor follows links to the transaction that did it. Pure: no I/O, no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NODE_W = 200
NODE_H = 76
COL_GAP = 70
ROW_GAP = 18
PAD = 16

EDGE_ACTIONS = {"transfer": "transfer", "finance": "financing", "split": "split"}
# Steps after which money is owed elsewhere, each drawn as a box of its own hanging off the box
# the debt lives in: a repayment (partial ones too: the piece stays held, owing the rest), a share
# held for a sanctioned holder (issue 12) and its release, and a piece turned on its seller by
# recourse (issue 14), whose own repayments then hang off the seller's box.
LABEL_CHAR_W = 6  # px per character of an edge label at 10.5px, a little generous
LABEL_PAD = 24


@dataclass(frozen=True, slots=True)
class GraphNode:
    key: str
    piece: str
    holder: str
    amount: int
    status: str
    label: str  # what this holding period ended in, or the piece's current status
    x: int
    y: int
    owed: int | None = None  # still owed on the piece, on the box its debt lives in now
    reduced: int = 0  # taken off this piece by dispute settlements while this box held it


@dataclass(frozen=True, slots=True)
class GraphEdge:
    source: str
    target: str
    kind: str
    tx: str
    height: int
    amount: int
    x1: int
    y1: int
    x2: int
    y2: int
    detail: str = ""  # a second label line: the recourse's date


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    width: int
    height: int


def trace_pieces(trace: Any) -> list[dict[str, Any]]:
    """The piece records in a trace answer, whatever list it keeps them under."""
    if isinstance(trace, list):
        return [p for p in trace if isinstance(p, dict) and "id" in p]
    if not isinstance(trace, dict):
        return []
    for name in ("pieces", "family", "receivables", "lineage", "items"):
        value = trace.get(name)
        if isinstance(value, list):
            return [p for p in value if isinstance(p, dict) and "id" in p]
    return [trace] if "id" in trace and "history" in trace else []


@dataclass(slots=True)
class _Pending:
    key: str
    piece: str
    holder: str
    amount: int
    status: str
    label: str
    children: list[tuple[str, dict[str, Any]]]  # (child node key, edge facts)
    owed: int | None = None
    reduced: int = 0


def _number(entry: dict[str, Any], *names: str) -> int:
    """The first of `names` the step carries, as an int (0 when none)."""
    return next((int(entry[n] or 0) for n in names if n in entry), 0)


@dataclass(slots=True)
class _PieceWalk:
    """One piece's history turned into boxes: `key` is the box of its holder now, `anchor` the
    box its debt lives in (the holder's, or after recourse the seller's), `hold` a held share."""

    piece: dict[str, Any]
    out: dict[str, _Pending]
    running: int
    owed: int
    key: str = ""
    anchor: str = ""
    hold: str = ""
    counter: int = 0

    def box(self, holder: str, amount: int, status: str, label: str) -> str:
        piece_id = str(self.piece["id"])
        key = f"{piece_id}:{self.counter}"
        self.counter += 1
        self.out[key] = _Pending(key, piece_id, holder, amount, status, label, [])
        return key

    def link(self, source: str, target: str, facts: dict[str, Any], kind: str) -> None:
        self.out[source].children.append((target, {**facts, "kind": kind}))

    def passed_on(self, entry: dict[str, Any], facts: dict[str, Any], action: str) -> None:
        status = str(self.piece.get("status", ""))
        new_key = self.box(str(entry.get("holder", "")), self.running, status, status)
        self.out[self.key].label = EDGE_ACTIONS[action]
        self.out[self.key].status = "passed"  # this holder's part is over
        self.link(self.key, new_key, {**facts, "amount": self.running}, EDGE_ACTIONS[action])
        self.key = self.anchor = new_key

    def repaid(self, entry: dict[str, Any], facts: dict[str, Any]) -> None:
        paid = _number(entry, "paid")
        self.owed = max(0, self.owed - paid)
        if self.anchor != self.key:  # turned on the seller: the seller pays
            payer = self.out[self.anchor].holder
        else:  # the invoice's debtor, whoever owes the piece now
            payer = str(self.piece.get("recourse_from") or self.piece.get("debtor") or "debtor")
        done = "paid in full" if self.owed == 0 else "part paid"
        leaf = self.box(f"{payer} paid", paid, "paid", done)
        self.link(self.anchor, leaf, {**facts, "amount": paid}, "repayment")
        if self.owed == 0:
            turned = self.anchor != self.key
            self.out[self.anchor].label = "recourse debt repaid" if turned else "repaid"

    def held(self, entry: dict[str, Any], facts: dict[str, Any]) -> None:
        amount = _number(entry, "held")
        self.owed = max(0, self.owed - amount)
        holder = str(entry.get("holder", ""))
        self.hold = self.box(
            f"hold for {holder}", amount, "held", f"blocked: {entry.get('reason', '')}"
        )
        self.link(self.anchor, self.hold, {**facts, "amount": amount}, "held")
        self.out[self.anchor].label = "repaid into a hold"

    def released(self, entry: dict[str, Any], facts: dict[str, Any]) -> None:
        amount = _number(entry, "paid")
        source = self.hold or self.anchor
        target = self.box(str(entry.get("holder", "")), amount, "paid", "released to the holder")
        self.link(source, target, {**facts, "amount": amount}, "released")
        if source == self.hold:
            self.out[source].label = "held until released"

    def turned(self, entry: dict[str, Any], facts: dict[str, Any]) -> None:
        amount = _number(entry, "amount")
        seller = str(entry.get("seller", ""))
        bank = str(entry.get("holder", ""))
        status = str(self.piece.get("status", ""))
        target = self.box(seller, amount, status, f"owes {bank}: recourse")
        detail = str(self.piece.get("due_date", "")) if self.piece.get("recourse_from") else ""
        self.link(self.key, target, {**facts, "amount": amount, "detail": detail}, "recourse")
        self.out[self.key].label = f"turned on {seller}"
        self.out[self.key].status = "turned"  # the bank is owed by the seller's box now
        self.anchor = target

    def reduced(self, entry: dict[str, Any]) -> None:
        reduction = _number(entry, "reduction")
        self.owed = max(0, self.owed - reduction)
        self.running -= reduction
        self.out[self.anchor].reduced += reduction


def _walk(piece: dict[str, Any], by_id: dict[str, dict[str, Any]], out: dict[str, _Pending]) -> str:
    """Build the boxes of `piece` (and, recursively, its children); the first box's key."""
    history = [h for h in piece.get("history", []) if isinstance(h, dict)]
    amount = int(piece.get("amount", 0) or 0)
    start = next(
        (_number(h, "amount") for h in history if h.get("action") in ("issue", "split_from")),
        amount,
    )
    walk = _PieceWalk(piece, out, start, start)
    status = str(piece.get("status", ""))
    holder = str(history[0].get("holder", piece.get("holder", ""))) if history else ""
    walk.key = walk.anchor = walk.box(holder, start, status, status)
    first = walk.key
    for entry in history[1:]:
        action = str(entry.get("action", ""))
        facts: dict[str, Any] = {
            "tx": str(entry.get("tx", "")),
            "height": int(entry.get("height", 0) or 0),
            "amount": _number(entry, "amount", "paid", "price", "held"),
        }
        if action == "split":
            walk.running -= int(facts["amount"])
            walk.owed -= int(facts["amount"])
            out[walk.key].amount = walk.running
            child = by_id.get(str(entry.get("child", "")))
            if child is not None:
                walk.link(walk.key, _walk(child, by_id, out), facts, "split")
        elif action in EDGE_ACTIONS:
            walk.passed_on(entry, facts, action)
        elif action == "repay":
            walk.repaid(entry, facts)
        elif action == "repay_held":
            walk.held(entry, facts)
        elif action == "hold_released":
            walk.released(entry, facts)
        elif action == "recourse":
            walk.turned(entry, facts)
        elif action == "dispute_settled":
            walk.reduced(entry)
    if walk.owed > 0 or status not in ("settled", ""):
        out[walk.anchor].owed = int(piece.get("outstanding", walk.owed))
    return first


def _label_width(kind: str, facts: dict[str, Any]) -> int:
    """The pill an edge's label needs: its kind, and for recourse the amount and date line."""
    text = max(len(kind), len(str(facts.get("detail", ""))) + 19 if facts.get("detail") else 0)
    return text * LABEL_CHAR_W + LABEL_PAD


def _columns(pending: dict[str, _Pending], depths: dict[str, int]) -> list[int]:
    """Each depth column's x: a gap wide enough for the widest label drawn into it."""
    gaps: dict[int, int] = {}
    for p in pending.values():
        for child, facts in p.children:
            if child in depths:
                width = _label_width(str(facts["kind"]), facts) + 16
                gaps[depths[child]] = max(gaps.get(depths[child], COL_GAP), width)
    columns = [PAD]
    for depth in range(1, max(depths.values(), default=0) + 1):
        columns.append(columns[-1] + NODE_W + gaps.get(depth, COL_GAP))
    return columns


def _edges(pending: dict[str, _Pending], positions: dict[str, tuple[int, int]]) -> list[GraphEdge]:
    edges = []
    for p in pending.values():
        sx, sy = positions[p.key]
        for child_key, facts in p.children:
            tx, ty = positions[child_key]
            edges.append(
                GraphEdge(
                    p.key,
                    child_key,
                    str(facts["kind"]),
                    str(facts["tx"]),
                    int(facts["height"]),
                    int(facts["amount"]),
                    sx + NODE_W,
                    sy + NODE_H // 2,
                    tx,
                    ty + NODE_H // 2,
                    str(facts.get("detail", "")),
                )
            )
    return edges


def _node(p: _Pending, position: tuple[int, int]) -> GraphNode:
    x, y = position
    return GraphNode(p.key, p.piece, p.holder, p.amount, p.status, p.label, x, y, p.owed, p.reduced)


def layout(trace: Any) -> Graph:
    """Tidy left-to-right tree: depth picks the column, leaves take successive rows."""
    pieces = trace_pieces(trace)
    if not pieces:
        return Graph((), (), 0, 0)
    by_id = {str(p["id"]): p for p in pieces}
    roots = [p for p in pieces if not p.get("parent") or str(p.get("parent")) not in by_id]
    pending: dict[str, _Pending] = {}
    root_keys = [_walk(root, by_id, pending) for root in roots]
    cells: dict[str, tuple[int, float]] = {}
    next_row = [0]

    def place(key: str, depth: int) -> float:
        children = pending[key].children
        if not children:
            row = float(next_row[0])
            next_row[0] += 1
        else:
            rows = [place(child, depth + 1) for child, _ in children]
            row = (rows[0] + rows[-1]) / 2
        cells[key] = (depth, row)
        return row

    for key in root_keys:
        place(key, 0)
    columns = _columns(pending, {key: depth for key, (depth, _) in cells.items()})
    positions = {
        key: (columns[depth], int(PAD + row * (NODE_H + ROW_GAP)))
        for key, (depth, row) in cells.items()
    }
    nodes = tuple(_node(p, positions[p.key]) for p in pending.values() if p.key in positions)
    edges = _edges(pending, positions)
    width = max(x for x, _ in positions.values()) + NODE_W + PAD
    height = max(y for _, y in positions.values()) + NODE_H + PAD
    return Graph(nodes, tuple(edges), width, height)


def timeline(trace: Any) -> list[dict[str, Any]]:
    """Every step of every piece, oldest first: the table under the graph."""
    steps = []
    for piece in trace_pieces(trace):
        for entry in piece.get("history", []):
            if isinstance(entry, dict):
                steps.append({"piece": str(piece["id"]), **entry})
    steps.sort(key=lambda s: (int(s.get("height", 0) or 0), str(s.get("piece"))))
    return steps
