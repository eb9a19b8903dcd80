"""The escrow page's own checks: a released preimage against its lock, and the node's answer
against the record its state proof proved (explorer/pages_escrow.py)."""

from __future__ import annotations

import hashlib

from explorer.pages_escrow import differences, preimage_matches

SECRET = b"the secret"
LOCK = hashlib.sha256(SECRET).hexdigest()
SHOWN = {"status": "released", "payer": "acme-steel", "payee": "bigauto", "amount": 5,
         "currency": "CNY", "condition": LOCK, "preimage": SECRET.hex()}  # fmt: skip


def test_a_preimage_is_checked_against_the_lock_here() -> None:
    assert preimage_matches(SHOWN) is True
    assert preimage_matches({**SHOWN, "preimage": b"another".hex()}) is False
    assert preimage_matches({**SHOWN, "preimage": "not hex"}) is False
    assert preimage_matches({**SHOWN, "preimage": None}) is None  # open: nothing to check
    assert preimage_matches({**SHOWN, "condition": None}) is None  # a time lock


def test_fields_the_node_shows_otherwise_than_the_proved_record_are_named() -> None:
    proved = {**SHOWN, "condition": bytes.fromhex(LOCK), "preimage": SECRET}  # as stored
    assert differences(SHOWN, proved) == []
    assert differences({**SHOWN, "payee": "fuel-co", "amount": 6}, proved) == ["payee", "amount"]
    assert differences(SHOWN, None) == []  # nothing proved: the page says unverified instead
