"""A receivable's family tree laid out for drawing: who held which piece, and which tx moved it.

Input is the trace of GET /v1/receivables/{id}/trace: piece records with their `history`
(issue, accept, split, transfer, finance, repay, ...; each step names its tx). A node is one piece
during one holding period; an edge is what ended it (split, transfer, financing, repayment), so
every arrow an auditor follows links to the transaction that did it. Pure: no I/O, no drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NODE_W = 200
NODE_H = 62
COL_GAP = 70
ROW_GAP = 18
PAD = 16

EDGE_ACTIONS = {"transfer": "transfer", "finance": "financing", "split": "split"}
# Steps that end a holding period in a box of their own: (arrow, label of the period they end).
# A share due to a sanctioned holder goes into a hold (issue 12), and from it to the holder once
# the sanction is lifted, so the tree shows who is owed, that it is blocked, and its release.
ENDINGS = {
    "repay": ("repayment", "repaid"),
    "repay_held": ("held", "repaid into a hold"),
    "hold_released": ("released", "held until released"),
}


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


def _walk(piece: dict[str, Any], by_id: dict[str, dict[str, Any]], out: dict[str, _Pending]) -> str:
    """Build the holding-period nodes of `piece` (and, recursively, its children); first key."""
    piece_id = str(piece["id"])
    history = [h for h in piece.get("history", []) if isinstance(h, dict)]
    amount = int(piece.get("amount", 0) or 0)
    status = str(piece.get("status", ""))
    start_amount = next(
        (
            int(h.get("amount", amount))
            for h in history
            if h.get("action") in ("issue", "split_from")
        ),
        amount,
    )
    holder = str(history[0].get("holder", piece.get("holder", ""))) if history else ""
    counter = 0
    key = f"{piece_id}:{counter}"
    out[key] = _Pending(key, piece_id, holder, start_amount, status, status, [])
    first = key
    running = start_amount
    for entry in history[1:]:
        action = str(entry.get("action", ""))
        facts = {
            "tx": str(entry.get("tx", "")),
            "height": int(entry.get("height", 0) or 0),
            "amount": int(
                entry.get("amount", entry.get("paid", entry.get("price", entry.get("held", 0))))
                or 0
            ),
        }
        if action == "split":
            child = by_id.get(str(entry.get("child", "")))
            running -= int(entry.get("amount", 0) or 0)
            out[key].amount = running
            if child is not None:
                child_key = _walk(child, by_id, out)
                out[key].children.append((child_key, {**facts, "kind": "split"}))
        elif action in ("transfer", "finance"):
            counter += 1
            new_key = f"{piece_id}:{counter}"
            out[key].label = EDGE_ACTIONS[action]
            out[new_key] = _Pending(
                new_key, piece_id, str(entry.get("holder", "")), running, status, status, []
            )
            out[key].children.append(
                (new_key, {**facts, "amount": running, "kind": EDGE_ACTIONS[action]})
            )
            key = new_key
        elif action in ENDINGS:
            counter += 1
            new_key = f"{piece_id}:{counter}"
            out[new_key] = _Pending(new_key, piece_id, *_ending(piece, entry, running), [])
            kind, ended = ENDINGS[action]
            out[key].children.append((new_key, {**facts, "kind": kind}))
            out[key].label = ended
            key = new_key
    return first


Box = tuple[str, int, str, str]  # who the box names, amount, status, label


def _ending(piece: dict[str, Any], entry: dict[str, Any], running: int) -> Box:
    """The box a repayment step leads to: the debtor who paid, the hold a sanctioned holder's
    share went into, or the holder it was released to."""
    action, holder = entry.get("action"), str(entry.get("holder", ""))
    if action == "repay":
        return str(piece.get("debtor", "debtor")), running, "paid", "paid"
    if action == "repay_held":
        return f"hold for {holder}", running, "held", f"blocked: {entry.get('reason', '')}"
    return holder, running, "paid", "released to the holder"


def layout(trace: Any) -> Graph:
    """Tidy left-to-right tree: depth picks the column, leaves take successive rows."""
    pieces = trace_pieces(trace)
    if not pieces:
        return Graph((), (), 0, 0)
    by_id = {str(p["id"]): p for p in pieces}
    roots = [p for p in pieces if not p.get("parent") or str(p.get("parent")) not in by_id]
    pending: dict[str, _Pending] = {}
    root_keys = [_walk(root, by_id, pending) for root in roots]
    positions: dict[str, tuple[int, int]] = {}
    next_row = [0]

    def place(key: str, depth: int) -> float:
        children = pending[key].children
        if not children:
            row = float(next_row[0])
            next_row[0] += 1
        else:
            rows = [place(child, depth + 1) for child, _ in children]
            row = (rows[0] + rows[-1]) / 2
        positions[key] = (
            PAD + depth * (NODE_W + COL_GAP),
            int(PAD + row * (NODE_H + ROW_GAP)),
        )
        return row

    for key in root_keys:
        place(key, 0)
    nodes = tuple(
        GraphNode(p.key, p.piece, p.holder, p.amount, p.status, p.label, *positions[p.key])
        for p in pending.values()
        if p.key in positions
    )
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
                )
            )
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
