"""Property: whatever mix of escrow calls and clock moves, no escrow is both released and
cancelled, each call succeeds exactly when the rules say, and money is conserved.

Random sequences of create (hash lock, time lock or both), release (with the right secret, a
wrong one or none, by the payee or not), cancel and time steps run one per block through the
real executor over LevelDB. A small model of the rules says which must succeed; after each
block every balance plus what is locked equals the supply, what is locked equals the open
escrows' amounts, and every closed escrow was closed by exactly one successful call.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.contract_chain import ContractChain

ORGS = ["acme-steel", "bigauto", "fuel-co"]
FUNDS = 1_000
SECRET = b"s"
CONDITION = hashlib.sha256(SECRET).digest()
STEP_MS = 1_000

creates = st.tuples(
    st.just("create"),
    st.sampled_from(ORGS),
    st.sampled_from(ORGS),
    st.integers(1, 600),
    st.sampled_from(["hash", "time", "both"]),
    st.integers(1, 4),  # release after this many steps (time locks)
    st.integers(1, 6),  # cancellable after this many steps
)
closes = st.tuples(
    st.sampled_from(["release", "cancel"]),
    st.integers(0, 7),  # which escrow (modulo how many were made)
    st.sampled_from(["party", "party", "other"]),  # its payee (release) or payer (cancel)
    st.sampled_from([SECRET, SECRET, b"wrong", None]),
)
waits = st.tuples(st.just("wait"), st.integers(1, 3))
# A few escrows first, then calls and clock steps in any order (more escrows among them).
operations = st.tuples(
    st.lists(creates, min_size=1, max_size=4),
    st.lists(st.one_of(creates, closes, closes, closes, waits), min_size=4, max_size=16),
).map(lambda parts: parts[0] + parts[1])


def _create_outcome(model: dict[str, Any], op: tuple[Any, ...], now: int) -> dict[str, Any]:
    _, payer, payee, amount, kind, release_steps, cancel_steps = op
    args: dict[str, Any] = {
        "currency": "CNY",
        "to": payee,
        "amount": amount,
        "cancel_ms": now + cancel_steps * STEP_MS,
    }
    if kind in ("hash", "both"):
        args["condition"] = CONDITION
    if kind in ("time", "both"):
        args["release_ms"] = now + min(release_steps, cancel_steps - 1) * STEP_MS
    ok = payer != payee and model["balances"][payer] >= amount
    return {"args": args, "ok": ok}


def _close_ok(escrow: dict[str, Any], method: str, signer: str, secret: Any, now: int) -> bool:
    """The rules of contracts/escrow.py, restated."""
    if escrow["status"] != "open":
        return False
    if method == "cancel":
        return signer == escrow["payer"] and now >= escrow["cancel_ms"]
    if signer != escrow["payee"] or now >= escrow["cancel_ms"]:
        return False
    if escrow["release_ms"] is not None and now < escrow["release_ms"]:
        return False
    if escrow["condition"] is None:
        return secret is None
    return secret == SECRET


def _check_money(chain: ContractChain, model: dict[str, Any]) -> None:
    balances = {org: chain.balance("CNY", org) for org in ORGS}
    assert balances == model["balances"]
    locked = int(chain.state("cash/locked/CNY") or 0)
    open_total = sum(e["amount"] for e in model["escrows"] if e["status"] == "open")
    assert locked == open_total
    assert sum(balances.values()) + locked == int(chain.state("cash/supply/CNY"))


def _run(chain: ContractChain, ops: list[tuple[Any, ...]]) -> None:
    model: dict[str, Any] = {"balances": dict.fromkeys(ORGS, FUNDS), "escrows": []}
    for op in ops:
        if op[0] == "wait":
            chain.advance_time(ms=op[1] * STEP_MS)
            continue
        now = chain.now_ms
        if op[0] == "create":
            outcome = _create_outcome(model, op, now)
            receipt = chain.submit(op[1], "escrow", "create", outcome["args"])
            assert (receipt.status == "ok") == outcome["ok"], (op, receipt.error)
            if outcome["ok"]:
                a = outcome["args"]
                model["balances"][op[1]] -= a["amount"]
                model["escrows"].append(
                    {**a, "id": receipt.result["id"], "payer": op[1], "payee": a["to"],
                     "condition": a.get("condition"), "release_ms": a.get("release_ms"),
                     "status": "open", "closings": 0}
                )  # fmt: skip
        elif model["escrows"]:
            method, which, who, secret = op
            escrow = model["escrows"][which % len(model["escrows"])]
            party = escrow["payee"] if method == "release" else escrow["payer"]
            signer = party if who == "party" else next(o for o in ORGS if o != party)
            args: dict[str, Any] = {"id": escrow["id"]}
            if method == "release" and secret is not None:
                args["preimage"] = secret
            ok = _close_ok(escrow, method, signer, secret, now)
            receipt = chain.submit(signer, "escrow", method, args)
            assert (receipt.status == "ok") == ok, (op, escrow, receipt.error)
            if ok:
                escrow["status"] = "released" if method == "release" else "cancelled"
                escrow["closings"] += 1
                gets = escrow["payee"] if method == "release" else escrow["payer"]
                model["balances"][gets] += escrow["amount"]
        _check_money(chain, model)
    for escrow in model["escrows"]:
        stored = chain.state(f"esc/rec/{escrow['id']}")
        assert stored["status"] == escrow["status"] and escrow["closings"] <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
@example(  # two escrows, so a second close of the first would find funds locked to take
    [
        ("create", "acme-steel", "bigauto", 100, "hash", 1, 2),
        ("create", "acme-steel", "bigauto", 100, "both", 1, 2),
        ("release", 0, "party", SECRET),
        ("release", 0, "party", SECRET),
        ("wait", 2),
        ("cancel", 0, "party", None),
        ("release", 1, "party", SECRET),
        ("cancel", 1, "party", None),
        ("cancel", 1, "party", None),
    ]
)
def test_no_escrow_is_both_released_and_cancelled_and_money_is_conserved(
    ops: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        chain = ContractChain(Path(tmp) / "db")
        try:
            for org in ORGS:
                chain.fund(org, "CNY", FUNDS)
            _run(chain, ops)
        finally:
            chain.close()
