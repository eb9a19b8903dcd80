"""Pages about the business: organizations, receivables (with their family tree), payments.

These read the contracts' JSON as the node serves it and show it; the chain facts under them
(each transaction, block and certificate) are verified on the pages they link to. An
organization's balances and a receivable piece's holder, amount and status are also proved here,
each by its state proof against the trusted genesis (`explorer.state_view`); a value no proof
vouches for is marked unverified.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from explorer import pages_documents, receivable_view
from explorer.graph import layout
from explorer.reader import NodeError, RouteMissing
from explorer.state_view import summary
from explorer.web import PageError, render, view

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ORG_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _id(request: web.Request, what: str) -> str:
    raw = request.match_info["id"]
    if not HEX64.match(raw.lower()):
        raise PageError(400, f"Malformed {what} id", f"A {what} id is 64 hex characters.")
    return raw.lower()


async def _optional(lookup: Any) -> tuple[Any, str]:
    """(answer, "") or (None, why): a section the node cannot serve is shown as such."""
    try:
        return await lookup, ""
    except RouteMissing:
        return None, "not served by this node"
    except NodeError as error:
        if error.code == "NODE_UNREACHABLE":
            raise
        return None, error.message


async def orgs(request: web.Request) -> web.Response:
    items = await view(request).reader.orgs()
    return render(request, "orgs.html", orgs=items, page="orgs")


async def org(request: web.Request) -> web.Response:
    org_id = request.match_info["id"]
    if not ORG_ID.match(org_id):
        raise PageError(
            400, "Malformed organization id", "Organization ids are lowercase letters, digits, -."
        )
    chain_view = view(request)
    record, _, height = await asyncio.gather(
        chain_view.reader.org(org_id), chain_view.currency_decimals(), chain_view.prover.tip()
    )
    listed = record.get("balances") if isinstance(record.get("balances"), dict) else {}
    chains_own = [currency.code for currency in chain_view.genesis.currencies]
    currencies = chains_own + sorted(
        (set(chain_view.decimals) | set(map(str, listed))) - {*chains_own}
    )
    proofs, (held, held_error), (owed, owed_error), (payments, pay_error) = await asyncio.gather(
        chain_view.prover.balances(org_id, currencies, height),
        _optional(chain_view.reader.receivables(holder=org_id)),
        _optional(chain_view.reader.receivables(debtor=org_id)),
        _optional(chain_view.reader.payments(org_id)),
    )
    validators = [v for v in chain_view.genesis.validators if v.org == org_id]
    return render(
        request,
        "org.html",
        o=record,
        listed=listed,
        proofs=proofs,
        state=summary(proofs.values()),
        held=held or [],
        held_error=held_error,
        owed=owed or [],
        owed_error=owed_error,
        payments=payments or [],
        pay_error=pay_error,
        validators=validators,
        page="orgs",
    )


async def _block_times(reader: Any, heights: list[int]) -> dict[int, int]:
    """The block time of each height the page dates (a block the node cannot serve is left
    out, and the page says "block N" alone)."""
    answers = await asyncio.gather(*(_optional(reader.block(h)) for h in heights))
    return {
        h: int(block["time_ms"])
        for h, (block, _) in zip(heights, answers, strict=True)
        if isinstance(block, dict) and "time_ms" in block
    }


async def receivable(request: web.Request) -> web.Response:
    piece_id = _id(request, "receivable")
    chain_view = view(request)
    record, trace, proof, _ = await asyncio.gather(
        chain_view.reader.receivable(piece_id),
        chain_view.reader.receivable_trace(piece_id),
        chain_view.prover.piece(piece_id),
        chain_view.currency_decimals(),
    )
    times, access = await asyncio.gather(
        _block_times(chain_view.reader, receivable_view.heights_to_date(trace)),
        pages_documents.access_of(chain_view.reader, str(record.get("doc_hash", ""))),
    )
    return render(
        request,
        "receivable.html",
        r=record,
        proved=proof.value if proof.ok and isinstance(proof.value, dict) else None,
        state=proof,
        trace=trace,
        graph=layout(trace),
        steps=receivable_view.steps_with_balances(trace),
        step_details=receivable_view.step_details,
        owed=receivable_view.owed_rows(trace),
        terms=receivable_view.terms(trace),
        recourses=receivable_view.recourses(trace),
        dispute=receivable_view.dispute(trace),
        block_times=times,
        document=pages_documents.section(request, record, access),
        page="receivable",
    )


async def payment(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    reader = view(request).reader
    record = await reader.payment(payment_id)
    await view(request).currency_decimals()
    parties = [str(record.get(name)) for name in ("payer", "payee") if record.get(name)]
    answers = await asyncio.gather(*(_optional(reader.org(org_id)) for org_id in parties))
    compliance = [answer for answer, _ in answers if isinstance(answer, dict)]
    return render(request, "payment.html", p=record, parties=compliance, page="payment")


def _download(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def payment_xml(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    body = await view(request).reader.payment_iso20022(payment_id)
    return _download(body, f"pacs008-{payment_id[:12]}.xml")


async def payment_cover_xml(request: web.Request) -> web.Response:
    payment_id = _id(request, "payment")
    body = await view(request).reader.payment_pacs009(payment_id)
    return _download(body, f"pacs009-cov-{payment_id[:12]}.xml")


_STATEMENT_PARTS = {
    "org": ORG_ID,
    "currency": re.compile(r"^[A-Z]{3}$"),
    "date": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
}


async def statement_xml(request: web.Request) -> web.Response:
    """A bank's camt.053 for a currency and day, as the node gives it."""
    parts = {name: request.match_info[name] for name in _STATEMENT_PARTS}
    for name, pattern in _STATEMENT_PARTS.items():
        if not pattern.match(parts[name]):
            raise PageError(400, "Malformed statement request", f"The {name} is malformed.")
    org, code, day = parts["org"], parts["currency"], parts["date"]
    body = await view(request).reader.statement_xml(org, code, day)
    return _download(body, f"camt053-{org}-{code}-{day}.xml")


ROUTES: list[web.RouteDef] = [
    web.get("/orgs", orgs),
    web.get("/org/{id}", org),
    web.get("/receivable/{id}", receivable),
    web.get("/payment/{id}", payment),
    web.get("/payment/{id}/pacs008.xml", payment_xml),
    web.get("/payment/{id}/pacs009.xml", payment_cover_xml),
    web.get("/bank/{org}/statement/{currency}/{date}.xml", statement_xml),
]
