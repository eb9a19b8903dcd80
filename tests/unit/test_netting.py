"""Netting windows: refusals with stable codes, all-or-nothing settlement, governance cancel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS

TRIO = ["bank-a", "bank-b", "bank-c"]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def open_window(chain: ContractChain, participants: list[str] = TRIO) -> str:
    args = {"currency": "USD", "participants": participants, "close_ms": chain.now_ms + HOUR_MS}
    return str(chain.call(participants[0], "netting", "open", args)["id"])


def failed(chain: ContractChain, org: str, method: str, args: dict[str, Any]) -> str:
    before = chain.state_items("cash/"), chain.state_items("net/")
    receipt = chain.submit(org, "netting", method, args)
    assert receipt.status == "failed" and receipt.error is not None
    assert (chain.state_items("cash/"), chain.state_items("net/")) == before
    return receipt.error.code


def test_settle_before_close_is_refused(chain: ContractChain) -> None:
    window = open_window(chain)
    chain.call("bank-a", "netting", "submit", {"window": window, "to": "bank-b", "amount": 10})
    chain.advance_time(ms=HOUR_MS)  # exactly at close: still open
    assert failed(chain, "bank-a", "settle", {"window": window}) == "WINDOW_OPEN"


def test_non_participant_cannot_submit_or_settle(chain: ContractChain) -> None:
    window = open_window(chain)
    args = {"window": window, "to": "bank-a", "amount": 10}
    assert failed(chain, "bank-d", "submit", args) == "NOT_PARTICIPANT"
    args = {"window": window, "to": "bank-d", "amount": 10}
    assert failed(chain, "bank-a", "submit", args) == "NOT_PARTICIPANT"
    chain.advance_time(ms=HOUR_MS + 1)
    assert failed(chain, "bank-d", "settle", {"window": window}) == "NOT_PARTICIPANT"
    assert failed(chain, "acme-steel", "settle", {"window": window}) == "NOT_AUTHORIZED"


def test_submit_after_close_is_refused(chain: ContractChain) -> None:
    window = open_window(chain)
    chain.advance_time(ms=HOUR_MS + 1)
    args = {"window": window, "to": "bank-b", "amount": 10}
    assert failed(chain, "bank-a", "submit", args) == "WINDOW_CLOSED"


def test_only_banks_take_part(chain: ContractChain) -> None:
    args = {"currency": "USD", "participants": ["bank-a", "acme-steel"], "close_ms": 2**42}
    assert failed(chain, "bank-a", "open", args) == "NOT_A_BANK"
    args = {"currency": "USD", "participants": ["bank-b", "bank-c"], "close_ms": 2**42}
    assert failed(chain, "bank-a", "open", args) == "NOT_PARTICIPANT"


def test_short_net_debtor_fails_settlement_and_nothing_moves(chain: ContractChain) -> None:
    chain.fund("bank-a", "USD", 1_000)
    chain.fund("bank-b", "USD", 50)
    window = open_window(chain)
    for payer, payee, value in (("bank-a", "bank-c", 500), ("bank-b", "bank-c", 80)):
        chain.call(payer, "netting", "submit", {"window": window, "to": payee, "amount": value})
    chain.advance_time(ms=HOUR_MS + 1)
    receipt = chain.submit("bank-c", "netting", "settle", {"window": window})
    assert receipt.error is not None and receipt.error.code == "INSUFFICIENT_FUNDS"
    assert "bank-b" in receipt.error.message
    assert (chain.balance("USD", "bank-a"), chain.balance("USD", "bank-b")) == (1_000, 50)
    assert chain.balance("USD", "bank-c") == 0
    assert chain.state("net/win/" + window)["status"] == "open"
    # once bank-b is funded, the same window settles
    chain.fund("bank-b", "USD", 30)
    result = chain.call("bank-c", "netting", "settle", {"window": window})
    assert result == {
        "gross": 580,
        "net": 580,
        "positions": {"bank-a": -500, "bank-b": -80, "bank-c": 580},
    }
    assert chain.balance("USD", "bank-c") == 580
    assert failed(chain, "bank-c", "settle", {"window": window}) == "WINDOW_SETTLED"


def test_governance_cancels_a_window_that_cannot_settle(chain: ContractChain) -> None:
    window = open_window(chain)
    chain.call("bank-a", "netting", "submit", {"window": window, "to": "bank-b", "amount": 10})
    chain.advance_time(ms=HOUR_MS + 1)
    pid = chain.call(
        "bank-a",
        "registry",
        "propose",
        {"action": "cancel_netting", "params": {"window": window}},
        "admin",
    )["id"]
    chain.call("bank-b", "registry", "approve", {"id": pid}, "admin")
    chain.call("bank-c", "registry", "approve", {"id": pid}, "admin")
    assert chain.state("net/win/" + window)["status"] == "cancelled"
    assert failed(chain, "bank-a", "settle", {"window": window}) == "WINDOW_CANCELLED"


def test_empty_window_settles_to_nothing(chain: ContractChain) -> None:
    window = open_window(chain)
    chain.advance_time(ms=HOUR_MS + 1)
    result = chain.call("bank-b", "netting", "settle", {"window": window})
    assert result == {"gross": 0, "net": 0, "positions": {"bank-a": 0, "bank-b": 0, "bank-c": 0}}
