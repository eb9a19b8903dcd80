"""Issue 12, finding 2, replayed on a real four-validator localnet: of the six spellings of one
invoice (same creditor, debtor, amount and document) only the first is issued, so no second
bank can finance it; the refused five are committed as failed and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.hashing import sha256
from wallet.client import Client
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key

SIX_SPELLINGS = (
    "INV-42",
    "INV-42 ",
    "inv-42",
    "INV-\u200b42",
    "INV\u201142",
    "\uff29\uff2e\uff36-42",
)


def _ledger_view(client: Client) -> dict[str, Any]:
    """What a refused issue must leave alone: every balance, and every receivable."""
    return {
        "balances": {org["id"]: client.org(org["id"])["balances"] for org in client.orgs()},
        "receivables": client.receivables(creditor="acme-steel"),
        "owed": client.receivables(debtor="bigauto"),
    }


@pytest.mark.slow
def test_six_spellings_of_one_invoice_issue_once(localnet: Any) -> None:
    net = localnet(nodes=4)
    client = Client(net["nodes"][0]["api"])
    today = datetime.now(UTC).date()
    args = {
        "debtor": "bigauto",
        "amount": 10_000_000,
        "currency": "CNY",
        "issue_date": today.isoformat(),
        "due_date": (today + timedelta(days=90)).isoformat(),
        "doc_hash": sha256(b"INV-42.pdf"),
    }
    creditor = localnet_key(net, "acme-steel")
    issued = client.call(creditor, "receivables", "issue", {**args, "invoice_no": SIX_SPELLINGS[0]})
    first = issued["result"]["id"]
    client.call(localnet_key(net, "bigauto"), "receivables", "accept", {"id": first})
    before = _ledger_view(client)
    for spelling in SIX_SPELLINGS[1:]:
        with pytest.raises(TxFailed) as refused:
            client.call(creditor, "receivables", "issue", {**args, "invoice_no": spelling})
        assert refused.value.code == "DUPLICATE_INVOICE", spelling
        assert client.tx(refused.value.tx_id)["status"] == "committed"  # ordered, auditable
    assert _ledger_view(client) == before
    assert [item["id"] for item in before["receivables"]] == [first]
