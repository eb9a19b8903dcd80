"""Signed and missed commits per validator, each block judged against the set in force at its
height (genesis plus the committed set changes, ledger.membership), not only the genesis set.

A certificate's signer bitmap numbers the validators of the set in force at that height, so
index i of block h is `history.at(h)[i]`; a validator outside the set at h neither signed nor
missed h. Validators are told apart by their Ed25519 key (a name may be reused by a new key).
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.index.db import Database
from ledger.genesis import ValidatorInfo
from ledger.membership import ValidatorHistory
from ledger.types import Receipt

STRIP = 100


@dataclass(frozen=True, slots=True)
class Uptime:
    """One validator's record over the window: `recent` is the last STRIP blocks, oldest first,
    "1" signed, "0" missed, "-" not in the set in force at that height."""

    validator: ValidatorInfo
    signed: int
    missed: int
    last_signed: int  # height, 0 if not within the window
    recent: str
    in_force: bool  # a member of the latest set


def history_of(db: Database, history: ValidatorHistory) -> ValidatorHistory:
    """`history` followed through the set changes the index kept (their verified receipts)."""
    rows = db.all("SELECT height, receipts FROM validator_changes ORDER BY height")
    for height, text in rows:
        receipts = [Receipt.decode(bytes.fromhex(r)) for r in str(text).split(",") if r]
        history = history.follow(int(height), receipts)
    return history


def _signers(text: object) -> set[int]:
    return {int(i) for i in str(text).split(",") if i}


def uptime(db: Database, history: ValidatorHistory, window: int = 1000) -> list[Uptime]:
    """Every validator in force at some height of the last `window` blocks, or now."""
    rows = db.all(f"SELECT height, signers FROM blocks ORDER BY height DESC LIMIT {int(window)}")
    marks: dict[bytes, list[str]] = {}  # key -> marks, newest first
    last: dict[bytes, int] = {}
    known: dict[bytes, ValidatorInfo] = {v.ed25519: v for v in history.latest()}
    for position, (height, signers) in enumerate(rows):
        members = history.at(int(height))
        signed = _signers(signers)
        for index, member in enumerate(members):
            known.setdefault(member.ed25519, member)
            mine = marks.setdefault(member.ed25519, ["-"] * position)
            mine.append("1" if index in signed else "0")
            if index in signed:
                last[member.ed25519] = max(last.get(member.ed25519, 0), int(height))
        for mine in marks.values():
            if len(mine) < position + 1:
                mine.append("-")
    latest = {v.ed25519 for v in history.latest()}
    result = []
    for key, validator in known.items():
        mine = marks.get(key, [])
        result.append(
            Uptime(
                validator,
                mine.count("1"),
                mine.count("0"),
                last.get(key, 0),
                "".join(reversed(mine[:STRIP])),
                key in latest,
            )
        )
    return result
