"""Organizations, validators and currencies as the ledger records them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from contracts import queries
from ledger.chain import ChainStore
from ledger.membership import quorum_of
from node.api.access_check import read_listing
from node.api.context import node, store
from node.api.params import query_int
from node.api.responses import json_response, not_found, to_json


def _org_json(chain: ChainStore, codes: list[str], record: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = to_json(record)
    value["balances"] = queries.balances_of(chain, record["id"], codes)
    return value


def _codes(request: web.Request) -> list[str]:
    return [currency.code for currency in node(request).genesis.currencies]


def _orgs_page(chain: ChainStore, codes: list[str], after: str, limit: int) -> dict[str, Any]:
    orgs = [_org_json(chain, codes, record) for record in queries.orgs(chain, after, limit)]
    following = orgs[-1]["id"] if len(orgs) == limit else None
    return {"orgs": orgs, "next": following}


async def get_orgs(request: web.Request) -> web.Response:
    after = request.query.get("after", "")
    limit = query_int(request, "limit", 100, 1, 500)
    codes = _codes(request)
    page = await read_listing(request, "orgs", _orgs_page, store(request), codes, after, limit)
    return json_response(page)


async def get_org(request: web.Request) -> web.Response:
    chain = store(request)
    record = queries.org(chain, request.match_info["id"])
    if record is None:
        raise not_found("organization")
    return json_response(_org_json(chain, _codes(request), record))


async def get_validators(request: web.Request) -> web.Response:
    executor = node(request).driver.executor
    validators = executor.validators_at(executor.tip.height + 1)  # the set in force next
    return json_response(
        {
            "validators": [
                {
                    "index": index,
                    "name": v.name,
                    "org": v.org,
                    "ed25519": v.ed25519,
                    "bls": v.bls,
                    "bls_pop": v.bls_pop,
                    "p2p": v.p2p,
                }
                for index, v in enumerate(validators)
            ],
            "quorum": quorum_of(len(validators)),
        }
    )


async def get_currencies(request: web.Request) -> web.Response:
    return json_response({"currencies": queries.currencies(store(request))})


ROUTES: list[web.RouteDef] = [
    web.get("/v1/orgs", get_orgs),
    web.get("/v1/orgs/{id}", get_org),
    web.get("/v1/validators", get_validators),
    web.get("/v1/currencies", get_currencies),
]
