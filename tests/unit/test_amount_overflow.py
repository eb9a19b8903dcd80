"""No tx can push a running sum out of range: it fails with AMOUNT_OVERFLOW, and blocks go on.

Issue 11, finding 2: `cash.issue` or `netting.submit` of 2^63 − 1, twice, left a sum the codec
cannot encode, and the error surfaced only when the block's writes were encoded, so no block
could be built any more. Each attack is replayed here through the real executor over LevelDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.amounts import MAX_AMOUNT
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS, pay_args

TRIO = ["bank-a", "bank-b", "bank-c"]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


def overflows(chain: ContractChain, org: str, contract: str, method: str, args: Any) -> str:
    """Submit a call that must fail with AMOUNT_OVERFLOW and change nothing; its message."""
    before = chain.state_items()
    receipt = chain.submit(org, contract, method, args)
    assert receipt.status == "failed" and receipt.error is not None
    assert receipt.error.code == "AMOUNT_OVERFLOW", receipt.error
    assert chain.state_items() == before
    return receipt.error.message


def still_builds(chain: ContractChain) -> None:
    """The next block builds and commits, with an ordinary tx in it."""
    height = chain.executor.tip.height
    chain.call("bank-d", "cash", "issue", {"currency": "KWD", "to": "bank-b", "amount": 1})
    assert chain.executor.tip.height == height + 1


def issue(org: str, amount: int) -> dict[str, Any]:
    return {"currency": "CNY", "to": org, "amount": amount}


def open_window(chain: ContractChain) -> str:
    args = {"currency": "USD", "participants": TRIO, "close_ms": chain.now_ms + HOUR_MS}
    return str(chain.call("bank-a", "netting", "open", args)["id"])


def test_second_issue_of_the_largest_amount_overflows_and_blocks_go_on(
    chain: ContractChain,
) -> None:
    chain.call("bank-a", "cash", "issue", issue("acme-steel", MAX_AMOUNT))
    message = overflows(chain, "bank-a", "cash", "issue", issue("acme-steel", MAX_AMOUNT))
    assert "CNY supply" in message
    still_builds(chain)
    assert chain.balance("CNY", "acme-steel") == MAX_AMOUNT


def test_issue_to_another_holder_cannot_overflow_the_supply(chain: ContractChain) -> None:
    chain.call("bank-a", "cash", "issue", issue("acme-steel", MAX_AMOUNT - 1))
    overflows(chain, "bank-a", "cash", "issue", issue("bigauto", 2))
    chain.call("bank-a", "cash", "issue", issue("bigauto", 1))  # exactly the largest supply
    assert chain.state("cash/supply/CNY") == MAX_AMOUNT
    overflows(chain, "bank-a", "cash", "issue", issue("bank-b", 1))
    chain.call("bigauto", "cash", "redeem", {"currency": "CNY", "amount": 1})
    still_builds(chain)


def test_second_netting_submit_of_the_largest_amount_overflows_and_blocks_go_on(
    chain: ContractChain,
) -> None:
    window = open_window(chain)
    args = {"window": window, "to": "bank-b", "amount": MAX_AMOUNT}
    chain.call("bank-a", "netting", "submit", args)
    message = overflows(chain, "bank-a", "netting", "submit", args)
    assert "net position of bank-a" in message
    still_builds(chain)
    record = chain.state("net/win/" + window)
    assert record["count"] == 1 and record["gross"] == MAX_AMOUNT


def test_creditor_position_and_gross_of_a_window_are_checked(chain: ContractChain) -> None:
    window = open_window(chain)
    first = {"window": window, "to": "bank-b", "amount": MAX_AMOUNT}
    chain.call("bank-a", "netting", "submit", first)
    message = overflows(
        chain, "bank-c", "netting", "submit", {"window": window, "to": "bank-b", "amount": 1}
    )
    assert "net position of bank-b" in message
    # Positions stay in range (MAX − 1 each way) but the gross would pass the largest amount.
    message = overflows(
        chain, "bank-b", "netting", "submit", {"window": window, "to": "bank-a", "amount": 1}
    )
    assert "gross" in message
    still_builds(chain)


def test_daily_limit_counter_cannot_overflow_when_money_comes_back(chain: ContractChain) -> None:
    """What a payer sent today is a running sum too: money paid out and back can exceed it."""
    chain.fund("acme-steel", "EUR", MAX_AMOUNT)
    chain.call("acme-steel", "payments", "send", pay_args(amount=MAX_AMOUNT))
    back = pay_args(to="acme-steel", amount=MAX_AMOUNT, end_to_end_id="E2E-BACK")
    chain.call("rhein-parts", "payments", "send", back)
    message = overflows(
        chain, "acme-steel", "payments", "send", pay_args(amount=1, end_to_end_id="E2E-AGAIN")
    )
    assert "acme-steel paid in EUR today" in message
    still_builds(chain)


def test_an_fx_credit_beyond_the_largest_amount_fails_with_amount_overflow(
    chain: ContractChain,
) -> None:
    quote_args = {
        "base": "USD",
        "quote": "JPY",
        "rate": 10**18,
        "max_base": MAX_AMOUNT,
        "expires_ms": chain.now_ms + HOUR_MS,
    }
    quote = chain.call("bank-d", "fx", "quote", quote_args)["id"]
    base_amount = 10**12  # credit = 10^12 × 10^18 / (10^8 × 10^2) = 10^20 yen
    chain.fund("acme-steel", "USD", base_amount)
    args = {**pay_args(to="rhein-parts"), "quote": quote, "base_amount": base_amount}
    for name in ("currency", "amount"):
        args.pop(name)
    overflows(chain, "acme-steel", "payments", "send_fx", args)
    still_builds(chain)


@pytest.mark.parametrize("value", [MAX_AMOUNT + 1, 2**64 - 1])
@pytest.mark.parametrize(
    ("org", "contract", "method", "args"),
    [
        ("bank-a", "cash", "issue", {"currency": "CNY", "to": "acme-steel"}),
        ("bank-a", "cash", "transfer", {"currency": "CNY", "to": "acme-steel"}),
        ("bank-a", "cash", "redeem", {"currency": "CNY"}),
        ("acme-steel", "payments", "send", pay_args()),
    ],
)
def test_an_amount_argument_the_codec_accepts_but_no_sum_could_hold_is_refused(
    chain: ContractChain, org: str, contract: str, method: str, args: Any, value: int
) -> None:
    receipt = chain.submit(org, contract, method, {**args, "amount": value})
    assert receipt.error is not None and receipt.error.code == "BAD_ARGUMENT"
    assert "'amount'" in receipt.error.message
