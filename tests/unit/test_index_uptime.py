"""/validators counts each block against the set in force at its height (explorer.index.uptime)."""

from __future__ import annotations

from pathlib import Path

from explorer.index.db import connect
from explorer.index.schema import migrate
from explorer.index.uptime import uptime
from ledger.genesis import ValidatorInfo
from ledger.membership import SetChange, ValidatorHistory


def _validator(name: str) -> ValidatorInfo:
    return ValidatorInfo(name, f"bank-{name}", name.encode() * 4, b"", b"", "")


def test_signed_and_missed_follow_the_set_in_force_at_each_height(tmp_path: Path) -> None:
    a, b, c, d, e = (_validator(n) for n in "abcde")
    # from height 4 on: a, c, d, e (b removed, e added at index 3)
    history = ValidatorHistory((a, b, c, d)).with_changes([SetChange(2, 4, (a, c, d, e))])
    db = connect(f"sqlite:///{tmp_path}/index.db")
    migrate(db)
    signers = {1: "0,1,2", 2: "0,1,2", 3: "0,1,2", 4: "0,1,2", 5: "0,1,2", 6: "0,3"}
    with db.transaction():
        for height, bitmap in signers.items():
            db.execute(
                "INSERT INTO blocks VALUES (?, ?, '', 0, '', 0, 0, 0, ?, '')",
                (height, f"h{height}", bitmap),
            )
    rows = {u.validator.name: u for u in uptime(db, history, 1000)}
    assert set(rows) == {"a", "b", "c", "d", "e"}
    # b signed 1..3 and left; index 1 from height 4 on is c, not b
    assert (rows["b"].signed, rows["b"].missed, rows["b"].in_force) == (3, 0, False)
    assert (rows["c"].signed, rows["c"].missed) == (5, 1)
    # d: index 3 before height 4 (never signed), index 2 after (signed 4, 5)
    assert (rows["d"].signed, rows["d"].missed, rows["d"].last_signed) == (2, 4, 5)
    # e: in the set from 4, signed only 6 (index 3); not counted before it joined
    assert (rows["e"].signed, rows["e"].missed, rows["e"].recent) == (1, 2, "---001")
    assert rows["b"].recent == "111---"
