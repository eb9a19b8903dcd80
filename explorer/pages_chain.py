"""Pages about the chain itself: blocks, one block, one transaction, search."""

from __future__ import annotations

import re

from aiohttp import web

from explorer.search import candidates, height_of_hash, resolve
from explorer.verify import check_proof, decode_header, verify_certificate
from explorer.web import PageError, follower, render, view
from wallet.forms import parse_certificate

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
PAGE_SIZE = 25


def _tx_id(request: web.Request) -> str:
    raw = request.match_info["id"]
    if not HEX64.match(raw):
        raise PageError(400, "Malformed transaction id", "A transaction id is 64 hex characters.")
    return raw.lower()


# -- blocks ----------------------------------------------------------------------------------------


async def blocks(request: web.Request) -> web.Response:
    raw = request.query.get("before", "")
    status = await view(request).reader.status()
    tip = int(status.get("height", 0))
    if raw:
        if not raw.isdigit() or len(raw) > 19:
            raise PageError(400, "Bad cursor", "?before= takes a block height.")
        before = min(int(raw), tip + 1)
    else:
        before = tip + 1
    limit_raw = request.query.get("limit", str(PAGE_SIZE))
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 100:
        raise PageError(400, "Bad page size", "?limit= takes 1 to 100 blocks.")
    limit = int(limit_raw)
    rows = await view(request).rows(before, limit)
    older = rows[-1].height if rows and rows[-1].height > 1 else None
    newer = before + limit if before <= tip else None
    return render(
        request,
        "blocks.html",
        blocks=rows,
        tip=tip,
        older=older,
        newer=newer,
        limit=limit,
        page="blocks",
    )


async def block(request: web.Request) -> web.Response:
    ref = request.match_info["ref"]
    if HEX64.match(ref):
        height = await height_of_hash(view(request).reader, ref.lower())
        raise web.HTTPFound(f"/block/{height}")
    if not ref.isdigit() or len(ref) > 19:
        raise PageError(
            400, "Malformed block reference", "A block is named by its height or its 64-hex hash."
        )
    height = int(ref)
    if height == 0:
        return render(request, "genesis.html", page="blocks")
    block_view = await view(request).block(height)
    tip = follower(request).state.status.get("height")
    return render(request, "block.html", b=block_view, tip=tip, page="blocks")


# -- transactions ----------------------------------------------------------------------------------


async def tx(request: web.Request) -> web.Response:
    tx_id = _tx_id(request)
    chain_view = view(request)
    answer = await chain_view.tx(tx_id)
    proof_verdict = cert = None
    header = None
    if answer.get("status") == "committed":
        proof = await chain_view.reader.get_proof(tx_id)
        proof_verdict = check_proof(chain_view.genesis, proof, tx_id)
        try:
            header = decode_header(proof.get("header"))
            cert = verify_certificate(
                chain_view.genesis, header, parse_certificate(proof.get("certificate"))
            )
        except ValueError:
            cert = None
    body = answer.get("tx") or {}
    return render(
        request,
        "tx.html",
        t=answer,
        body=body,
        sender=chain_view.org_of(str(body.get("from", ""))),
        receipt=answer.get("receipt"),
        proof=proof_verdict,
        cert=cert,
        header=header,
        page="tx",
    )


# -- search ----------------------------------------------------------------------------------------


async def search(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not query:
        raise web.HTTPFound("/")
    if not candidates(query):
        return render(request, "search.html", status=404, targets=[], searched=query)
    targets = await resolve(view(request).reader, query)
    if len(targets) == 1:
        raise web.HTTPFound(targets[0].url)
    status = 200 if targets else 404
    return render(request, "search.html", status=status, targets=targets, searched=query)


ROUTES: list[web.RouteDef] = [
    web.get("/blocks", blocks),
    web.get("/block/{ref}", block),
    web.get("/tx/{id}", tx),
    web.get("/search", search),
]
