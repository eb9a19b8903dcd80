"""Organizations, validators and currencies as the ledger records them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from node.api.context import node, store
from node.api.params import query_int
from node.api.responses import json_response, not_found, to_json


def _org_json(request: web.Request, record: dict[str, Any]) -> dict[str, Any]:
    chain = store(request)
    balances = {}
    for currency in node(request).genesis.currencies:
        held = chain.state(f"cash/bal/{currency.code}/{record['id']}")
        if held:
            balances[currency.code] = held
    value: dict[str, Any] = to_json(record)
    value["balances"] = balances
    return value


async def get_orgs(request: web.Request) -> web.Response:
    after = request.query.get("after", "")
    limit = query_int(request, "limit", 100, 1, 500)
    orgs = []
    for key, record in store(request).state_items("reg/org/"):
        if key[len("reg/org/") :] <= after:
            continue
        orgs.append(_org_json(request, record))
        if len(orgs) >= limit:
            break
    following = orgs[-1]["id"] if len(orgs) == limit else None
    return json_response({"orgs": orgs, "next": following})


async def get_org(request: web.Request) -> web.Response:
    record = store(request).state("reg/org/" + request.match_info["id"])
    if record is None:
        raise not_found("organization")
    return json_response(_org_json(request, record))


async def get_validators(request: web.Request) -> web.Response:
    validators = node(request).genesis.validators
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
            "quorum": node(request).genesis.quorum,
        }
    )


async def get_currencies(request: web.Request) -> web.Response:
    records = [record for _, record in store(request).state_items("reg/cur/")]
    return json_response({"currencies": records})


ROUTES: list[web.RouteDef] = [
    web.get("/v1/orgs", get_orgs),
    web.get("/v1/orgs/{id}", get_org),
    web.get("/v1/validators", get_validators),
    web.get("/v1/currencies", get_currencies),
]
