"""Pages on the index (explorer/index/): the transactions list with filters, an organization's
statement, and their CSV / JSON lines downloads.

Every row comes from blocks the index verified before writing them (certificate, link, roots)
and every balance from movements reconciled against state proofs; the pages say how far the
index has got. Filters are read here, with a 400 page for a value that is no filter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from explorer.index import export, queries, uptime
from explorer.index.db import Database
from explorer.index.service import IndexService
from explorer.web import PageError, render
from ledger.membership import ValidatorHistory

INDEX: web.AppKey[IndexService] = web.AppKey("index", IndexService)
PAGE_ROWS = 50
STATEMENT_ROWS = 500
FILTER_TEXT = re.compile(r"^[A-Za-z0-9_.-]{0,64}$")
AFTER = re.compile(r"^([0-9]{1,19})\.([0-9]{1,9})$")
DAY = re.compile(r"^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
TEXT_FILTERS = ("org", "contract", "method", "currency")


def _reader(request: web.Request) -> tuple[IndexService, Database]:
    service = request.app[INDEX]
    if service.reader is None:
        raise PageError(502, "Index unavailable", service.error or "The index is not open.")
    return service, service.reader


def _height(raw: str, name: str) -> int | None:
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 19:
        raise PageError(400, "Bad filter", f"{name} must be a block height.")
    return int(raw)


def read_filter(query: Any) -> queries.TxFilter:
    """The TxFilter of a page's query string; PageError 400 for anything that is no filter."""
    values = {name: str(query.get(name, "")).strip() for name in TEXT_FILTERS}
    for name, value in values.items():
        if not FILTER_TEXT.match(value):
            raise PageError(400, "Bad filter", f"{name} takes letters, digits, '-', '_' or '.'.")
    status = str(query.get("status", ""))
    if status not in ("", "ok", "failed"):
        raise PageError(400, "Bad filter", "status is ok or failed.")
    days = {name: str(query.get(name, "")).strip() for name in ("since", "until")}
    for name, value in days.items():
        if not DAY.match(value):
            raise PageError(400, "Bad filter", f"{name} is a day, YYYY-MM-DD.")
        try:
            queries.day_ms(value) if value else None
        except queries.BadFilter as error:
            raise PageError(400, "Bad filter", error.message) from None
    after = None
    if query.get("after"):
        matched = AFTER.match(str(query["after"]))
        if matched is None:
            raise PageError(400, "Bad cursor", "after is HEIGHT.INDEX.")
        after = (int(matched[1]), int(matched[2]))
    return queries.TxFilter(
        **values,
        status=status,
        from_height=_height(str(query.get("from_height", "")), "from_height"),
        to_height=_height(str(query.get("to_height", "")), "to_height"),
        **days,
        after=after,
    )


def _rows(rows: Iterator[Any]) -> list[Any]:
    try:
        return list(rows)
    except queries.BadFilter as error:
        raise PageError(400, "Bad filter", error.message) from None


async def txs_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    wanted = read_filter(request.query)
    rows = _rows(queries.txs(db, wanted, PAGE_ROWS))
    query = {k: v for k, v in request.query.items() if k != "after" and v}
    following = f"{rows[-1][0]}.{rows[-1][1]}" if len(rows) == PAGE_ROWS else ""
    return render(
        request, "txs.html", page="txs", rows=rows, f=wanted, params=query,
        next_after=following, index=service.state(),
    )  # fmt: skip


async def statement_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    wanted = read_filter(request.query)
    summary = rows = None
    if wanted.org and wanted.currency:
        try:
            summary = queries.statement(db, wanted.org, wanted.currency, wanted.since,
                                        wanted.until)  # fmt: skip
        except queries.BadFilter as error:
            raise PageError(400, "Bad filter", error.message) from None
        f = queries.statement_filter(wanted.org, wanted.currency, wanted.since, wanted.until)
        rows = _rows(queries.movements(db, f, STATEMENT_ROWS))
    query = {k: v for k, v in request.query.items() if v}
    return render(
        request, "statement.html", page="statement", f=wanted, s=summary, rows=rows,
        params=query, cap=STATEMENT_ROWS, index=service.state(),
    )  # fmt: skip


async def _download(request: web.Request, name: str, lines: Iterator[str]) -> web.StreamResponse:
    """Send `lines` as they are produced, a few hundred at a time."""
    fmt = request.match_info["fmt"]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        }
    )
    await response.prepare(request)
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 200:
            await response.write("".join(chunk).encode())
            chunk.clear()
    await response.write("".join(chunk).encode())
    await response.write_eof()
    return response


async def txs_export(request: web.Request) -> web.StreamResponse:
    _, db = _reader(request)
    wanted = read_filter(request.query)
    decimals = queries.decimals(db)
    records = (export.tx_record(row, decimals) for row in queries.txs(db, wanted, None))
    lines = export.lines(records, export.TX_FIELDS, request.match_info["fmt"])
    return await _download(request, "transactions", lines)


async def statement_export(request: web.Request) -> web.StreamResponse:
    _, db = _reader(request)
    wanted = read_filter(request.query)
    if not wanted.org or not wanted.currency:
        raise PageError(400, "Bad filter", "A statement needs org and currency.")
    f = queries.statement_filter(wanted.org, wanted.currency, wanted.since, wanted.until)
    decimals = queries.decimals(db)
    records = (export.movement_record(row, decimals) for row in queries.movements(db, f, None))
    lines = export.lines(records, export.MOVEMENT_FIELDS, request.match_info["fmt"])
    return await _download(request, f"statement-{wanted.org}-{wanted.currency}", lines)


async def fx_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    return render(request, "fx.html", page="fx", quotes=queries.quotes(db),
                  index=service.state())  # fmt: skip


async def netting_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    return render(request, "netting.html", page="netting", windows=queries.windows(db),
                  index=service.state())  # fmt: skip


async def proposals_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    return render(request, "proposals.html", page="proposals",
                  proposals=queries.proposals(db), index=service.state())  # fmt: skip


async def currencies_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    issuers = {c.code: list(c.issuers) for c in service.genesis.currencies}
    return render(request, "currencies.html", page="currencies",
                  currencies=queries.currencies(db), issuers=issuers,
                  index=service.state())  # fmt: skip


async def validators_page(request: web.Request) -> web.Response:
    service, db = _reader(request)
    window = _height(str(request.query.get("window", "")), "window") or 1000
    history = uptime.history_of(db, ValidatorHistory.of_genesis(service.genesis))
    rows = uptime.uptime(db, history, min(window, 100_000))
    return render(request, "validators_index.html", page="validators", index=service.state(),
                  rows=rows, window=window, changes=history.changes)  # fmt: skip


ROUTES: list[web.RouteDef] = [
    web.get("/validators", validators_page),
    web.get("/fx", fx_page),
    web.get("/netting", netting_page),
    web.get("/proposals", proposals_page),
    web.get("/currencies", currencies_page),
    web.get("/txs", txs_page),
    web.get(r"/txs.{fmt:(csv|jsonl)}", txs_export),
    web.get("/statement", statement_page),
    web.get(r"/statement.{fmt:(csv|jsonl)}", statement_export),
]
