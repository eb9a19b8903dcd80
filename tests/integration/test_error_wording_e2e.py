"""Issue 12, finding 5, against a real node: a failed call's receipt words the amounts for
people, and carries the raw values in `details`, both in the answer to the submit and in
`GET /v1/txs/{id}`."""

from __future__ import annotations

from typing import Any

import pytest

from wallet.client import Client
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key


@pytest.mark.slow
def test_insufficient_funds_in_peoples_units_with_raw_details(localnet: Any) -> None:
    net = localnet(nodes=1)
    client = Client(net["nodes"][0]["api"])
    funding = {"currency": "CNY", "to": "bigauto", "amount": 20_000_100}
    client.call(localnet_key(net, "bank-a"), "cash", "issue", funding)
    transfer = {"currency": "CNY", "to": "acme-steel", "amount": 9_999_999_900}
    with pytest.raises(TxFailed) as failed:
        client.call(localnet_key(net, "bigauto"), "cash", "transfer", transfer)
    expected = {
        "code": "INSUFFICIENT_FUNDS",
        "message": "bigauto holds 200,001.00 CNY, needs 99,999,999.00 CNY",
        "details": {"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900},
    }
    assert failed.value.receipt["error"] == expected
    shown = client.tx(failed.value.tx_id)
    assert shown["status"] == "committed" and shown["receipt"]["error"] == expected
