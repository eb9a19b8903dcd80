"""Issue 12, finding 5, against a real node: a failed call's receipt words amounts and times for
people and carries the raw values in `details`, in the answer to the submit, in
`GET /v1/txs/{id}` and in `tally ... --json`; the people's output of `tally` shows the message.
Both of the finding's messages: `INSUFFICIENT_FUNDS` (amounts) and `QUOTE_EXPIRED` (times).
Neither refusal writes any state key (tests/support/unchanged_state.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from contracts.wording import moment
from node.cli import tally
from tests.support.localnet_tools import signed_client, wait_until
from tests.support.unchanged_state import assert_no_state_change_since
from tests.support.xborder_chain import fx_args
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

SHORT = {
    "code": "INSUFFICIENT_FUNDS",
    "message": "bigauto holds 200,001.00 CNY, needs 99,999,999.00 CNY",
    "details": {"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900},
}


@pytest.fixture(scope="module")
def net(module_localnet: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """One validator; bigauto holds the finding's 200,001.00 CNY."""
    net = module_localnet(nodes=1)
    funding = {"currency": "CNY", "to": "bigauto", "amount": 20_000_100}
    signed_client(net["nodes"][0]["api"]).call(
        localnet_key(net, "bank-a"), "cash", "issue", funding
    )
    return net


def test_insufficient_funds_in_peoples_units_with_raw_details(net: dict[str, Any]) -> None:
    client = signed_client(net["nodes"][0]["api"])
    mark = client.height()
    transfer = {"currency": "CNY", "to": "acme-steel", "amount": 9_999_999_900}
    with pytest.raises(TxFailed) as failed:
        client.call(localnet_key(net, "bigauto"), "cash", "transfer", transfer)
    assert failed.value.receipt["error"] == SHORT
    shown = client.tx(failed.value.tx_id)
    assert shown["status"] == "committed" and shown["receipt"]["error"] == SHORT

    pay = ["pay", "--plain", "acme-steel", "99,999,999.00", "CNY", "--as", "bigauto"]
    answer = CliRunner().invoke(tally, [*pay, "--localnet", net["dir"], "--json"])
    assert answer.exit_code == 1
    error = json.loads(answer.output)["error"]
    assert {name: error[name] for name in SHORT} == SHORT
    assert client.tx(error["tx"])["receipt"]["error"] == SHORT
    people = CliRunner().invoke(tally, [*pay, "--localnet", net["dir"]])
    assert people.exit_code == 1
    assert f"error: INSUFFICIENT_FUNDS: {SHORT['message']}" in people.output
    assert "9999999900" not in people.output
    assert_no_state_change_since(client, mark)


def test_an_expired_quote_says_when_in_utc_with_raw_times(net: dict[str, Any]) -> None:
    client = signed_client(net["nodes"][0]["api"])
    expires = int(time.time() * 1000) + 4_000  # time enough to commit the quote
    quote = {"base": "CNY", "quote": "EUR", "rate": 12_820_513, "max_base": 10_000_000,
             "expires_ms": expires}  # fmt: skip
    quote_id = client.call(localnet_key(net, "bank-c"), "fx", "quote", quote)["result"]["id"]
    wait_until(lambda: time.time() * 1000 > expires + 50, what="the quote's expiry")
    mark = client.height()
    with pytest.raises(TxFailed) as failed:
        client.call(localnet_key(net, "bigauto"), "payments", "send_fx", fx_args(quote_id, 100))
    block_time = client.block(failed.value.receipt["height"])["time_ms"]
    assert block_time > expires
    when = f"expired at {moment(expires)}, block time {moment(block_time)}"
    assert failed.value.receipt["error"] == {
        "code": "QUOTE_EXPIRED",
        "message": f"quote {quote_id} {when}",
        "details": {"expires_ms": expires, "block_time_ms": block_time},
    }
    assert str(expires) not in failed.value.message
    assert_no_state_change_since(client, mark)
