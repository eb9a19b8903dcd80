"""The search box: what a query could be by its shape, and which page the node confirms."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from explorer.reader import NodeError, NodeReader
from explorer.search import candidates, resolve

TX = "aa" * 32
BLOCK = "bb" * 32
PIECE = "cc" * 32
ESCROW = "ee" * 32
PAYMENT = "dd" * 32
UETR = "0f4e8c1a-3b2d-4c5e-9a6b-7c8d9e0f1a2b"


class FakeReader(NodeReader):
    """Answers from a table; anything else is the node's 404."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__("http://fake")
        self.answers = answers

    async def get_json(self, path: str) -> Any:
        if path in self.answers:
            return self.answers[path]
        raise NodeError(404, "NOT_FOUND", f"{path} not found")


NODE = FakeReader(
    {
        "/v1/blocks/42": {"height": 42},
        f"/v1/txs/{TX}": {"id": TX, "status": "committed"},
        f"/v1/blocks/{BLOCK}": {"height": 7},
        f"/v1/receivables/{PIECE}": {"id": PIECE},
        f"/v1/escrows/{ESCROW}": {"id": ESCROW},
        "/v1/orgs/acme-steel": {"id": "acme-steel"},
        "/v1/receivables?invoice=INV-1001": {
            "items": [{"id": PIECE, "creditor": "acme-steel", "debtor": "bigauto"}]
        },
        "/v1/receivables?invoice=acme-steel": {"items": []},
        f"/v1/payments?uetr={UETR}": {"uetr": UETR, "payments": [{"id": PAYMENT}], "next": None},
    }
)


def _urls(query: str) -> list[str]:
    return [target.url for target in _run_isolated(resolve(NODE, query))]


def test_candidates_follow_the_shape_of_the_query() -> None:
    assert candidates("42") == ["height"]
    assert candidates(TX.upper()) == ["tx", "block", "receivable", "payment", "escrow"]
    assert candidates("acme-steel") == ["org", "invoice"]
    assert candidates("INV-1001") == ["invoice"]
    assert candidates("") == [] and candidates("two words") == [] and candidates("x" * 500) == []


def test_each_kind_of_identifier_resolves_to_its_page() -> None:
    assert _urls("42") == ["/block/42"]
    assert _urls(TX) == [f"/tx/{TX}"]
    assert _urls(BLOCK.upper()) == ["/block/7"]
    assert _urls(ESCROW) == [f"/escrow/{ESCROW}"]
    assert _urls(PIECE) == [f"/receivable/{PIECE}"]
    assert _urls("acme-steel") == ["/org/acme-steel"]
    assert _urls("INV-1001") == [f"/receivable/{PIECE}"]


def test_unknown_identifiers_resolve_to_nothing() -> None:
    assert _urls("43") == []
    assert _urls("dd" * 32) == []
    assert _urls("nobody") == []


def test_an_unreachable_node_is_not_reported_as_not_found() -> None:
    class Down(FakeReader):
        async def get_json(self, path: str) -> Any:
            raise NodeError(502, "NODE_UNREACHABLE", "cannot reach")

    try:
        _run_isolated(resolve(Down({}), "acme-steel"))
    except NodeError as error:
        assert error.status == 502
    else:
        raise AssertionError("expected NODE_UNREACHABLE")


def _run_isolated(coroutine: Any) -> Any:
    """asyncio.run in a thread of its own: safe even when this thread already runs a loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_uetr_leads_to_its_payment_in_any_case() -> None:
    assert candidates(UETR.upper()) == ["uetr"]
    assert candidates(UETR.replace("-4c5e-", "-3c5e-")) == ["org", "invoice"]  # not version 4
    assert _urls(UETR.upper()) == [f"/payment/{PAYMENT}"]
    assert _urls("0f4e8c1a-3b2d-4c5e-9a6b-000000000000") == []  # no payment has it
