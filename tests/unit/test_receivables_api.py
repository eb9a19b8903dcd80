"""The receivables read routes against a real chain store: piece, trace, listings, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from contracts.receivables_queries import trace as trace_view
from node.api.context import STORE
from node.api.receivables import ROUTES
from node.api.responses import HttpError, json_response
from tests.support.compliance_flow import sanction
from tests.support.contract_chain import ContractChain
from tests.support.receivables_flow import issue_accepted


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ContractChain]:
    chain = ContractChain(tmp_path / "db")
    yield chain
    chain.close()


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpError as error:
        body = {"error": {"code": error.code, "message": error.message}}
        return json_response(body, error.status)


def _get_all(chain: ContractChain, paths: list[str]) -> list[tuple[int, Any]]:
    async def run() -> list[tuple[int, Any]]:
        app = web.Application(middlewares=[_errors])
        app[STORE] = chain.store
        app.router.add_routes(ROUTES)
        async with TestClient(TestServer(app)) as client:
            answers = []
            for path in paths:
                response = await client.get(path)
                answers.append((response.status, await response.json()))
            return answers

    return asyncio.run(run())


def _family(chain: ContractChain) -> tuple[str, str, str]:
    root = issue_accepted(chain)
    args = {"id": root, "to": "ore-mining", "amount": 30_000_000}
    ore = chain.call("acme-steel", "receivables", "transfer", args)["id"]
    args = {"id": ore, "to": "fuel-co", "amount": 10_000_000}
    fuel = chain.call("ore-mining", "receivables", "transfer", args)["id"]
    return root, ore, fuel


def test_trace_lists_every_piece_with_parent_holders_and_txs(chain: ContractChain) -> None:
    root, ore, fuel = _family(chain)
    trace = trace_view(chain.store, fuel)
    assert trace is not None
    assert trace["root"] == root
    assert [p["id"] for p in trace["pieces"]] == [root, ore, fuel]
    assert [p["parent"] for p in trace["pieces"]] == [None, root, ore]
    assert [p["depth"] for p in trace["pieces"]] == [0, 1, 2]
    assert trace["totals"] == {
        "face": 100_000_000, "pieces": 100_000_000, "settled": 0, "outstanding": 100_000_000,
        "repaid": 0, "reduced": 0, "held": 0,
    }  # fmt: skip
    assert [s["action"] for s in trace["steps"]] == [
        "issue", "accept", "split", "split_from", "split", "split_from"
    ]  # fmt: skip
    assert [h["holder"] for h in trace["pieces"][1]["holders"]] == ["ore-mining"]
    for step in trace["steps"]:
        location = chain.store.tx_location(bytes.fromhex(step["tx"]))
        assert location is not None and location[0] == step["height"]


def test_routes_answer_piece_trace_and_cursor_pages(chain: ContractChain) -> None:
    root, ore, fuel = _family(chain)
    first, second = sorted([root, ore])
    answers = _get_all(
        chain,
        [
            f"/v1/receivables/{ore}",
            f"/v1/receivables/{fuel}/trace",
            "/v1/receivables?debtor=bigauto",
            "/v1/receivables?invoice=INV-1001&creditor=acme-steel",
            "/v1/receivables?holder=fuel-co",
            "/v1/receivables?creditor=acme-steel&limit=1",
            "/v1/receivables?holder=acme-steel&limit=1",
            f"/v1/receivables?holder=acme-steel&limit=1&after={root}",
        ],
    )
    assert answers[0][0] == 200 and answers[0][1]["holder"] == "ore-mining"
    assert answers[0][1]["doc_hash"] == chain.state(f"rcv/piece/{root}")["doc_hash"].hex()
    assert answers[1][0] == 200 and len(answers[1][1]["pieces"]) == 3
    assert [i["id"] for i in answers[2][1]["items"]] == [root]
    assert [i["id"] for i in answers[3][1]["items"]] == [root]
    assert [i["id"] for i in answers[4][1]["items"]] == [fuel]
    assert answers[5][1]["next"] == root
    assert [i["id"] for i in answers[6][1]["items"]] == [root]
    assert answers[7][1] == {"items": [], "next": None}
    assert first != second


def test_a_held_repayment_says_when_it_was_held_and_released(chain: ContractChain) -> None:
    """A clerk reads times, not heights: the block times of both, None until released."""
    root, ore, _ = _family(chain)
    chain.fund("bigauto", "CNY", 100_000_000)
    sanction(chain, "ore-mining")
    held_at = chain.advance_time(ms=61_000)
    chain.call("bigauto", "receivables", "repay", {"id": root})
    piece, trace = (answer for _, answer in _get_all(
        chain, [f"/v1/receivables/{ore}", f"/v1/receivables/{root}/trace"]
    ))  # fmt: skip
    held = {p["id"]: p["hold"] for p in trace["pieces"] if p["hold"]}
    assert list(held) == [ore] and held[ore] == piece["hold"]
    assert (piece["hold"]["held_time_ms"], piece["hold"]["released_time_ms"]) == (held_at, None)
    released_at = chain.advance_time(days=3)
    sanction(chain, "ore-mining", False)
    piece = _get_all(chain, [f"/v1/receivables/{ore}"])[0][1]
    assert (piece["hold"]["held_time_ms"], piece["hold"]["released_time_ms"]) == (
        held_at,
        released_at,
    )


def test_malformed_ids_are_400_and_unknown_ids_404(chain: ContractChain) -> None:
    answers = _get_all(
        chain,
        [
            "/v1/receivables/not-an-id",
            "/v1/receivables/" + "ab" * 32,
            "/v1/receivables/" + "ab" * 32 + "/trace",
            "/v1/receivables",
            "/v1/receivables?holder=Bad Org",
            "/v1/receivables?holder=acme-steel&after=xyz",
            "/v1/receivables/offers/" + "cd" * 32,
        ],
    )
    statuses = [status for status, _ in answers]
    assert statuses == [400, 404, 404, 400, 400, 400, 404]
    assert answers[0][1]["error"]["code"] == "BAD_ID"
    assert answers[1][1]["error"]["code"] == "NOT_FOUND"
