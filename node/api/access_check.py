"""Where the read policy's table (node/api/access_policy.py) is applied to requests.

`read_policy` (middleware) answers a RECORD route's 404 for a record the caller may not read
before its handler runs; listings and PARTS routes ask `row_filter(request)` which rows to show,
on the read thread that builds their answer. While the API is open (no `Caller`) or the caller
sees every record of the kind (an unscoped auditor), nothing is looked up: the answer is the
first release's, byte for byte.

A RECORD route's subject is read from the request the way its handler reads it; one the handler
would refuse as malformed (400) is left to the handler, which refuses it before any read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from ledger.chain import ChainStore
from node.api.access_policy import KINDS, PARTS, RECORD, RouteAccess, route_access
from node.api.context import NODE, store
from node.api.readers import Kind, NodeConcerns, Viewer, viewer_of
from node.api.reads import offload
from node.api.responses import not_found

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


def concerns_of(request: web.Request) -> NodeConcerns:
    """A fresh lookup for one answer (its memos must not outlive it: families grow)."""
    handle = request.app.get(NODE)
    # (a unit test may mount routes with a partial node: then there is no mempool to ask)
    mempool = getattr(getattr(handle, "driver", None), "mempool", None)
    if mempool is None:
        return NodeConcerns(store(request))
    return NodeConcerns(store(request), mempool.get)


def _readable(viewer: Viewer, kind: Kind, concerns: NodeConcerns, subject: str) -> bool:
    return viewer.reads(kind, kind.record(concerns, subject), concerns)


@web.middleware
async def read_policy(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A RECORD route's record, only for those who read it; else the route's own 404."""
    entry = route_access(request)
    viewer = viewer_of(request)
    if entry is None and request.match_info.route.resource is not None and viewer.org:
        raise not_found("route")  # a route the table does not list reads as no route
    if entry is None or entry.form != RECORD or entry.subject is None:
        return await handler(request)
    kind = KINDS[entry.kind]
    if viewer.sees_all(kind):
        return await handler(request)
    subject = entry.subject(request)
    if subject is None:
        return await handler(request)
    concerns = concerns_of(request)
    if kind.heavy:
        readable = await offload(request, _readable, viewer, kind, concerns, subject)
    else:
        readable = _readable(viewer, kind, concerns, subject)
    if not readable:
        return entry.hidden(request, entry)
    return await handler(request)


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which rows of one answer the caller reads (ROWS), or what it sees of each (PARTS)."""

    viewer: Viewer
    kind: Kind
    entry: RouteAccess
    concerns: NodeConcerns

    @property
    def everything(self) -> bool:
        return self.viewer.sees_all(self.kind)

    def __call__(self, row: Any) -> bool:
        if self.everything:
            return True
        return self.viewer.reads(self.kind, self.kind.row(self.concerns, row), self.concerns)

    def rows(self, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows this caller reads; for a PARTS route every row, others' cut down to the
        fields every member sees."""
        if self.entry.form != PARTS:
            return [row for row in rows if self(row)]
        fields = self.entry.public_fields
        return [row if self(row) else {k: row[k] for k in fields if k in row} for row in rows]


def row_filter(request: web.Request) -> RowFilter:
    """The filter of the route `request` matched, for its caller; a route the table does not
    list shows nothing to a signed caller (a test keeps every route listed)."""
    entry = route_access(request)
    if entry is None:
        raise not_found("route")
    return RowFilter(viewer_of(request), KINDS[entry.kind], entry, concerns_of(request))


def shown(keep: RowFilter, key: str, work: Callable[..., dict[str, Any]], *args: Any) -> Any:
    """`work(*args)`, a listing answer, with its rows under `key` filtered by `keep` (run it on
    the read thread that builds the answer)."""
    answer = work(*args)
    if not keep.everything:
        answer = {**answer, key: keep.rows(answer[key])}
    return answer


async def read_listing(
    request: web.Request, key: str, work: Callable[..., dict[str, Any]], *args: Any
) -> Any:
    """A listing built on a read thread and filtered there for the caller."""
    return await offload(request, shown, row_filter(request), key, work, *args)


def chain_of(keep: RowFilter) -> ChainStore:
    return keep.concerns.chain
