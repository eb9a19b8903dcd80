"""Issue 12, findings 2 and 3, replayed on one real four-validator localnet.

Finding 2: of the six spellings of one invoice (same creditor, debtor, amount and document) only
the first is issued, so no second bank can finance it. Finding 3: due dates that are not
`YYYY-MM-DD` days (`2026-W01-1`, an ISO week date, and `20260101xx`, both once taken by Python's
permissive `date.fromisoformat` and then compared as strings) are refused, so an invoice long
past due can neither pass as not due nor be financed at full price. Every refusal is committed
as failed and changes no state key at all (tests/support/unchanged_state.py), besides the
balances and receivables the API lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ledger.hashing import sha256
from tests.support.localnet_tools import signed_client
from tests.support.unchanged_state import assert_no_state_change_since
from wallet.client import Client
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

SIX_SPELLINGS = (
    "INV-42",
    "INV-42 ",
    "inv-42",
    "INV-\u200b42",
    "INV\u201142",
    "\uff29\uff2e\uff36-42",
)
NOT_DAYS = ("2026-W01-1", "20260101xx")


@pytest.fixture(scope="module")
def net(module_localnet: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """One four-validator localnet for the module; bigauto and bank-a hold CNY."""
    net = module_localnet(nodes=4)
    client = signed_client(net["nodes"][0]["api"])
    for org in ("bigauto", "bank-a"):
        funding = {"currency": "CNY", "to": org, "amount": 500_000_000}
        client.call(localnet_key(net, "bank-a"), "cash", "issue", funding)
    return net


def _ledger_view(client: Client) -> dict[str, Any]:
    """What a refused call must leave alone, as the API lists it: balances and receivables."""
    return {
        "balances": {org["id"]: client.org(org["id"])["balances"] for org in client.orgs()},
        "receivables": client.receivables(creditor="acme-steel"),
        "owed": client.receivables(debtor="bigauto"),
    }


def _invoice(number: str, issued: date, due: date | str, document: bytes) -> dict[str, Any]:
    return {
        "invoice_no": number,
        "debtor": "bigauto",
        "amount": 10_000_000,
        "currency": "CNY",
        "issue_date": issued.isoformat(),
        "due_date": due if isinstance(due, str) else due.isoformat(),
        "doc_hash": sha256(document),
    }


def _refused(client: Client, signer: Any, method: str, args: dict[str, Any]) -> TxFailed:
    with pytest.raises(TxFailed) as refused:
        client.call(signer, "receivables", method, args)
    assert client.tx(refused.value.tx_id)["status"] == "committed"  # ordered, auditable
    return refused.value


def test_six_spellings_of_one_invoice_issue_once(net: dict[str, Any]) -> None:
    client = signed_client(net["nodes"][0]["api"])
    today = datetime.now(UTC).date()
    args = _invoice(SIX_SPELLINGS[0], today, today + timedelta(days=90), b"INV-42.pdf")
    creditor = localnet_key(net, "acme-steel")
    first = client.call(creditor, "receivables", "issue", args)["result"]["id"]
    client.call(localnet_key(net, "bigauto"), "receivables", "accept", {"id": first})
    before, mark = _ledger_view(client), client.height()
    for spelling in SIX_SPELLINGS[1:]:
        refused = _refused(client, creditor, "issue", {**args, "invoice_no": spelling})
        assert refused.code == "DUPLICATE_INVOICE", spelling
    assert_no_state_change_since(client, mark)
    assert _ledger_view(client) == before
    assert [item["id"] for item in before["receivables"]] == [first]


def test_a_date_that_is_no_day_is_refused_and_an_overdue_invoice_cannot_be_financed(
    net: dict[str, Any],
) -> None:
    client = signed_client(net["nodes"][0]["api"])
    creditor, bank = localnet_key(net, "acme-steel"), localnet_key(net, "bank-a")
    today = datetime.now(UTC).date()
    issued = today - timedelta(days=365)  # 2026-W01-1 is 2025-12-29: due 11 months ago and more
    before, mark = _ledger_view(client), client.height()
    for field in ("due_date", "issue_date"):
        for value in NOT_DAYS:
            args = _invoice(f"WK-{field}-{value}", issued, today + timedelta(days=30), b"wk")
            refused = _refused(client, creditor, "issue", {**args, field: value})
            assert refused.code == "BAD_ARGUMENT" and field in refused.message, refused.message
    assert_no_state_change_since(client, mark)
    assert _ledger_view(client) == before

    # The same invoice with its due date written as a day: it is overdue, and no bank buys it.
    due = date.fromisoformat("2025-12-29")
    late = _invoice("WK-2025-52", due - timedelta(days=60), due, b"wk-late")
    piece = client.call(creditor, "receivables", "issue", late)["result"]["id"]
    client.call(localnet_key(net, "bigauto"), "receivables", "accept", {"id": piece})
    held, mark = _ledger_view(client), client.height()
    expires = client.status()["time_ms"] + 3_600_000
    offer = {"id": piece, "rate_bps": 200, "expires_ms": expires}
    refused = _refused(client, bank, "offer_financing", offer)
    assert refused.code == "NOT_TRANSFERABLE" and "2025-12-29" in refused.message
    assert_no_state_change_since(client, mark)
    assert _ledger_view(client) == held
    client.call(bank, "receivables", "mark_overdue", {"id": piece})
    assert client.receivable(piece)["status"] == "overdue"
    with pytest.raises(AssertionError, match="changed the state"):  # the check can fail
        assert_no_state_change_since(client, mark)
