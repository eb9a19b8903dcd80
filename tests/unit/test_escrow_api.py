"""GET /v1/escrows/{id} and GET /v1/escrows?org= over a real committed store (no node process):
the escrow with its bytes as hex and what may be done with it at the tip's block time, a list
per organization paged newest first, and a stable code for every bad request."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from node.api.context import STORE
from node.api.escrows import ROUTES
from tests.support.contract_chain import DAY_MS, ContractChain
from tests.unit.test_payments_api import errors

SECRET = b"open sesame"


def get(chain: ContractChain, path: str) -> tuple[int, Any]:
    async def run() -> tuple[int, Any]:
        app = web.Application(middlewares=[errors])
        app[STORE] = chain.store
        app.add_routes(ROUTES)
        async with TestClient(TestServer(app)) as client:
            response = await client.get(path)
            return response.status, await response.json()

    return asyncio.run(run())


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    chain.fund("acme-steel", "CNY", 1_000_000)
    yield chain
    chain.close()


def _create(chain: ContractChain, amount: int) -> str:
    args = {
        "currency": "CNY",
        "to": "bigauto",
        "amount": amount,
        "condition": hashlib.sha256(SECRET).digest(),
        "cancel_ms": chain.now_ms + DAY_MS,
    }
    escrow_id: str = chain.call("acme-steel", "escrow", "create", args)["id"]
    return escrow_id


def test_an_escrow_shows_its_lock_its_state_and_once_released_its_preimage(
    chain: ContractChain,
) -> None:
    escrow_id = _create(chain, 500)
    status, body = get(chain, f"/v1/escrows/{escrow_id}")
    assert status == 200
    assert body["condition"] == hashlib.sha256(SECRET).hexdigest() and body["preimage"] is None
    assert (body["status"], body["can_release"], body["can_cancel"]) == ("open", True, False)
    chain.call("bigauto", "escrow", "release", {"id": escrow_id, "preimage": SECRET})
    status, body = get(chain, f"/v1/escrows/{escrow_id}")
    assert body["status"] == "released" and body["preimage"] == SECRET.hex()
    assert (body["can_release"], body["can_cancel"]) == (False, False)


def test_a_list_per_org_pages_newest_first_and_filters_by_status(chain: ContractChain) -> None:
    ids = [_create(chain, amount) for amount in (100, 200, 300)]
    chain.call("bigauto", "escrow", "release", {"id": ids[0], "preimage": SECRET})
    status, page = get(chain, "/v1/escrows?org=bigauto&limit=2")
    assert status == 200 and [e["id"] for e in page["escrows"]] == [ids[2], ids[1]]
    assert page["escrows"][0]["roles"] == ["payee"]
    _, rest = get(chain, f"/v1/escrows?org=bigauto&cursor={page['next']}")
    assert [e["id"] for e in rest["escrows"]] == [ids[0]] and rest["next"] is None
    _, payer = get(chain, "/v1/escrows?org=acme-steel&status=released")
    assert [(e["id"], e["roles"]) for e in payer["escrows"]] == [(ids[0], ["payer"])]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/escrows/" + "ab" * 32, 404, "NOT_FOUND"),
        ("/v1/escrows/XYZ", 400, "BAD_ID"),
        ("/v1/escrows", 400, "BAD_QUERY"),
        ("/v1/escrows?org=Bad_Org", 400, "BAD_QUERY"),
        ("/v1/escrows?org=bigauto&status=lost", 400, "BAD_QUERY"),
        ("/v1/escrows?org=bigauto&cursor=1", 400, "BAD_QUERY"),
        ("/v1/escrows?org=bigauto&limit=0", 400, "BAD_QUERY"),
    ],
)
def test_bad_requests_have_stable_codes(
    chain: ContractChain, path: str, status: int, code: str
) -> None:
    answer_status, body = get(chain, path)
    assert (answer_status, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
