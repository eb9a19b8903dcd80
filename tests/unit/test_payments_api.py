"""The payments/FX/netting/governance routes over a real committed store (no node process)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from node.api.context import STORE
from node.api.payments import OPENAPI_PATHS, ROUTES
from node.api.responses import HttpError
from tests.support.contract_chain import ContractChain
from tests.support.xborder_chain import HOUR_MS, fx_args, pay_args


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """The shape node/api/app.py's middleware gives errors (DESIGN.md §9)."""
    try:
        return await handler(request)  # type: ignore[no-any-return]
    except HttpError as error:
        body = {"error": {"code": error.code, "message": error.message}}
        return web.json_response(body, status=error.status)


def get(chain: ContractChain, path: str) -> tuple[int, str, Any]:
    """GET `path` from an app serving our routes; (status, content type, body)."""

    async def run() -> tuple[int, str, Any]:
        app = web.Application(middlewares=[errors])
        app[STORE] = chain.store
        app.add_routes(ROUTES)
        async with TestClient(TestServer(app)) as client:
            response = await client.get(path)
            if response.content_type == "application/json":
                return response.status, response.content_type, await response.json()
            return response.status, response.content_type, await response.read()

    return asyncio.run(run())


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "CNY", 50_000_000)
    chain.fund("acme-steel", "EUR", 1_000_000)
    chain.fund("bank-c", "EUR", 10_000_000)
    yield chain
    chain.close()


def test_payment_routes_show_record_list_and_pacs008(chain: ContractChain) -> None:
    ids = [
        chain.call("acme-steel", "payments", "send", pay_args(end_to_end_id=f"P{i}"))["id"]
        for i in range(5)
    ]
    status, _, body = get(chain, f"/v1/payments/{ids[0]}")
    assert status == 200 and body["payer"] == "acme-steel" and body["amount"] == 100
    status, kind, xml = get(chain, f"/v1/payments/{ids[0]}/iso20022")
    assert (status, kind) == (200, "application/xml")
    assert etree.fromstring(xml).tag.endswith("Document")

    seen: list[str] = []
    cursor = ""
    while True:
        _, _, page = get(chain, f"/v1/payments?org=acme-steel&limit=2&cursor={cursor}")
        seen += [p["id"] for p in page["payments"]]
        if page["next"] is None:
            break
        cursor = page["next"]
    assert seen == list(reversed(ids))  # newest first, every payment once
    _, _, page = get(chain, "/v1/payments?org=rhein-parts&role=sent")
    assert page["payments"] == []
    _, _, page = get(chain, "/v1/payments?org=rhein-parts&role=received")
    assert len(page["payments"]) == 5


def test_bad_ids_and_unknown_ids_are_json_errors(chain: ContractChain) -> None:
    status, _, body = get(chain, "/v1/payments/nothex")
    assert status == 400 and body["error"]["code"] == "BAD_ID"
    status, _, body = get(chain, "/v1/payments/" + "0" * 64)
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    status, _, body = get(chain, "/v1/payments")
    assert status == 400 and body["error"]["code"] == "BAD_QUERY"


def test_quote_listing_hides_withdrawn_exhausted_and_expired(chain: ContractChain) -> None:
    def quote(max_base: int, expires: int) -> str:
        args = {"base": "CNY", "quote": "EUR", "rate": 12_820_513}
        args.update(max_base=max_base, expires_ms=chain.now_ms + expires)
        return str(chain.call("bank-c", "fx", "quote", args)["id"])

    live, withdrawn, used, short = (
        quote(10**6, HOUR_MS),
        quote(10**6, HOUR_MS),
        quote(10, HOUR_MS),
        quote(10**6, 10),
    )
    chain.call("bank-c", "fx", "withdraw", {"id": withdrawn})
    chain.call("acme-steel", "payments", "send_fx", fx_args(used, 10))
    chain.advance_time(ms=11)
    chain.fund("bank-a", "CNY", 1)  # a block after the short quote expired
    _, _, body = get(chain, "/v1/fx/quotes?base=CNY")
    assert [q["id"] for q in body["quotes"]] == [live]
    _, _, body = get(chain, f"/v1/fx/quotes/{withdrawn}")
    assert body["status"] == "withdrawn"
    assert short


def test_netting_and_governance_routes(chain: ContractChain) -> None:
    chain.fund("bank-a", "EUR", 1_000)
    args = {"currency": "EUR", "participants": ["bank-a", "bank-b"], "close_ms": chain.now_ms + 5}
    window = chain.call("bank-a", "netting", "open", args)["id"]
    chain.call("bank-a", "netting", "submit", {"window": window, "to": "bank-b", "amount": 700})
    status, _, body = get(chain, f"/v1/netting/{window}/iso20022")
    assert status == 409 and body["error"]["code"] == "NOTHING_TO_EXPORT"
    chain.advance_time(ms=6)
    chain.call("bank-b", "netting", "settle", {"window": window})
    _, _, body = get(chain, f"/v1/netting/{window}")
    assert body["status"] == "settled" and body["net"] == 700
    assert body["obligations"][0]["amount"] == 700
    status, kind, _ = get(chain, f"/v1/netting/{window}/iso20022")
    assert (status, kind) == (200, "application/xml")

    pid = chain.call(
        "bank-a",
        "registry",
        "propose",
        {"action": "set_sanctioned", "params": {"org": "fuel-co", "sanctioned": True}},
        "admin",
    )["id"]
    _, _, body = get(chain, "/v1/governance/proposals?status=open")
    assert [p["id"] for p in body["proposals"]] == [pid]
    _, _, body = get(chain, f"/v1/governance/proposals/{pid}")
    assert body["approvals"] == ["bank-a"]


def test_every_route_is_described_in_openapi() -> None:
    for route in ROUTES:
        assert route.path in OPENAPI_PATHS
