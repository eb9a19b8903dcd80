"""The read policy of DESIGN.md §9: who reads what, one table for every route of the API.

`ROUTES` says, for each route, which kind of record it answers and in which form the policy
applies; `KINDS` says whom each kind concerns (contracts/concerns.py reads it from the
records). Handlers do not decide: `read_policy` (middleware) answers 404 NOT_FOUND for a record
the caller may not read, with the very words the route uses for a missing one, and a listing
asks `row_filter` which rows (or which parts of them) to show. docs/api.md renders this table.

A caller reads a record when the API is open (no `Caller`: everything, as in the first release);
when its organization is one the record concerns; when the record concerns every member; and,
for an auditor or regulator, always, unless governance scoped it (contracts/reader_scope.py):
then when the record concerns one of its scoped organizations or an organization of a scoped
jurisdiction. A bank that services an organization's account in a currency (the currency's
issuer, the pacs.008's DbtrAgt/CdtrAgt) reads what that money does: the balance, payments,
escrows and cash movements in that currency, and its statement; not the organization's
receivables, registry record or balances in other currencies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contracts.concerns import EVERYONE, Orgs
from node.api.forms import unknown_tx
from node.api.params import hex_id
from node.api.readers import Kind, NodeConcerns, Resolve
from node.api.responses import HttpError, not_found
from node.api.state import state_key_param

RECORD = "record"  # one record, named in the path: 404 NOT_FOUND unless the caller reads it
ROWS = "rows"  # a listing: each row shown only to those who read it; the listing answers
PARTS = "parts"  # answered to every member, with what the caller may not read left out
PUBLIC = "public"  # every member reads it

FORMS = {
    RECORD: "404 `NOT_FOUND` (as for a missing one) unless the caller reads it",
    ROWS: "rows the caller may not read are left out; the listing itself always answers",
    PARTS: "every member; what the caller may not read is left out",
    PUBLIC: "every member",
}


def _everyone(concerns: NodeConcerns, subject: Any) -> Orgs:
    return EVERYONE


def _by_id(resolve: Callable[[NodeConcerns, str], Orgs | None]) -> Resolve:
    return lambda concerns, row: resolve(concerns, str(row["id"]))


KINDS: dict[str, Kind] = {
    "public": Kind("every member", _everyone, _everyone),
    "org": Kind(
        "the organization itself (its KYC, sanctions, limits and balances)",
        NodeConcerns.org,
        _by_id(NodeConcerns.org),
    ),
    "receivable": Kind(
        "the invoice family's creditor and debtor, every holder of any piece (now or before), "
        "the banks that financed or offered to finance a piece, a seller it was turned back on, "
        "and those the document was shared with",
        NodeConcerns.receivable,
        _by_id(NodeConcerns.receivable),
        heavy=True,
    ),
    "offer": Kind(
        "the parties of the receivable offered on",
        NodeConcerns.offer,
        _by_id(NodeConcerns.offer),
        heavy=True,
    ),
    "payment": Kind(
        "payer, payee, the FX dealer, and the bank servicing each leg's payer and payee",
        NodeConcerns.payment,
        NodeConcerns.payment_record,
    ),
    "escrow": Kind(
        "payer, payee and the bank servicing each in the escrow's currency",
        NodeConcerns.escrow,
        NodeConcerns.escrow_record,
    ),
    "window": Kind("its opener and participants", NodeConcerns.window, _by_id(NodeConcerns.window)),
    "proposal": Kind(
        "every bank (the voters), the proposer and the organization it names",
        NodeConcerns.proposal,
        NodeConcerns.proposal_record,
    ),
    "statement": Kind(
        "an account's owner and the bank: the bank reads its statement, a customer its own "
        "account on it",
        _everyone,
        NodeConcerns.statement_account,
    ),
    "event": Kind(
        "the organizations the event names and those its record concerns (a receivable's "
        "family, a payment's parties, ...); quotes, keys, the clock and the validator set: "
        "every member",
        _everyone,
        lambda concerns, row: concerns.event(dict(row["event"])),
    ),
    "tx": Kind(
        "the signer's organization and those its events concern",
        NodeConcerns.tx,
        lambda concerns, row: concerns.tx_parties(row[0], row[1]),
        heavy=True,
    ),
    "state": Kind(
        "whom the record under the key concerns (balances: owner and servicing bank; an index "
        "by organization: that organization); the directory, currencies, quotes and the "
        "validator set: every member; any other key: auditors and regulators",
        NodeConcerns.state_key,
        NodeConcerns.state_key,
        heavy=True,
    ),
    "document": Kind(
        "the invoice's creditor and debtor and those it was shared with "
        "(receivables.share_document), auditors included only when shared with",
        NodeConcerns.document,
        NodeConcerns.document,
        readers=False,
        heavy=True,
    ),
}


# -- the table -------------------------------------------------------------------------------

Subject = Callable[[web.Request], str | None]


def path_hex(name: str) -> Subject:
    """A 64-hex id in the path; None (the handler refuses it, 400) when malformed."""

    def subject(request: web.Request) -> str | None:
        raw = request.match_info.get(name, "")
        try:
            return hex_id(raw, name)
        except HttpError:
            return None

    return subject


def tx_subject(request: web.Request) -> str | None:
    raw = request.match_info.get("id", "")
    try:
        return bytes.fromhex(raw).hex() if len(raw) == 64 else None
    except ValueError:
        return None


def path_text(name: str) -> Subject:
    return lambda request: request.match_info.get(name)


def state_key_subject(request: web.Request) -> str | None:
    try:
        return state_key_param(request)
    except HttpError:
        return None


def _unknown_tx(request: web.Request, entry: RouteAccess) -> web.StreamResponse:
    return unknown_tx(bytes.fromhex(request.match_info["id"]))


def _not_found(request: web.Request, entry: RouteAccess) -> web.StreamResponse:
    raise not_found(entry.missing.format(**request.match_info))


@dataclass(frozen=True, slots=True)
class RouteAccess:
    """One row of the table: a route, the kind of record it answers, and how the policy
    applies (`form`); for a RECORD route, where its subject is and what its 404 says."""

    method: str
    path: str
    kind: str
    form: str
    subject: Subject | None = None
    missing: str = ""  # the route's own words for a missing record ("receivable {id}")
    note: str = ""  # what the form leaves out, for the doc
    public_fields: tuple[str, ...] = ()  # PARTS: what every member sees of a row
    hidden: Callable[[web.Request, RouteAccess], web.StreamResponse] = _not_found


STATEMENTS = "/v1/banks/{org}/statements/{currency}/{date}"
DIRECTORY_FIELDS = ("id", "name", "kind", "jurisdiction", "keys", "suspended")
_RAW_NOTE = (
    "header, hash and certificate for every member; a tx's and its receipt's encodings only "
    "for those who read the tx (else null), with `tx_leaves` and `receipt_leaves` (RFC 6962 "
    "leaf hashes of every tx and receipt) so the roots still recompute"
)


def _record(method: str, path: str, kind: str, missing: str, subject: Subject) -> RouteAccess:
    return RouteAccess(method, path, kind, RECORD, subject, missing)


def _public(path: str, note: str = "", method: str = "GET") -> RouteAccess:
    return RouteAccess(method, path, "public", PUBLIC, note=note)


ROUTES: tuple[RouteAccess, ...] = (
    _public("/healthz", "answered unsigned too (DESIGN.md §9)"),
    _public("/metrics", "answered unsigned too, unless the node's config closes it"),
    _public("/openapi.json"),
    _public("/v1/status"),
    _public(
        "/v1/txs", "any member submits; the answer carries the receipts of what it sent", "POST"
    ),
    RouteAccess(
        "GET",
        "/v1/txs/{id}",
        "tx",
        RECORD,
        tx_subject,
        hidden=_unknown_tx,
        note="answered as an unknown tx",
    ),
    _record("GET", "/v1/txs/{id}/proof", "tx", "committed tx", tx_subject),
    _public("/v1/blocks", "headers, tx ids and certificates"),
    _public("/v1/blocks/{ref}", "header, tx ids and certificate"),
    RouteAccess("GET", "/v1/events", "event", ROWS, note="`next` still passes the left-out"),
    RouteAccess(
        "GET",
        "/v1/stream",
        "event",
        ROWS,
        note="every member gets each `block` summary; `event`s as /v1/events",
    ),
    RouteAccess(
        "GET",
        "/v1/orgs",
        "org",
        PARTS,
        public_fields=DIRECTORY_FIELDS,
        note="others' rows carry only " + ", ".join(DIRECTORY_FIELDS),
    ),
    _record("GET", "/v1/orgs/{id}", "org", "organization", path_text("id")),
    _public("/v1/validators"),
    _public("/v1/currencies"),
    RouteAccess("GET", "/v1/raw/blocks", "tx", PARTS, note=_RAW_NOTE),
    RouteAccess("GET", "/v1/raw/blocks/{height}", "tx", PARTS, note=_RAW_NOTE),
    _public("/v1/raw/genesis"),
    RouteAccess("GET", "/v1/receivables", "receivable", ROWS),
    _record("GET", "/v1/receivables/offers/{id}", "offer", "financing offer {id}", path_hex("id")),
    _record("GET", "/v1/receivables/{id}", "receivable", "receivable {id}", path_hex("id")),
    _record("GET", "/v1/receivables/{id}/trace", "receivable", "receivable {id}", path_hex("id")),
    RouteAccess(
        "PUT",
        "/v1/documents/{doc_hash}",
        "document",
        RECORD,
        path_hex("doc_hash"),
        "document",
        note="uploaded by the creditor alone (403 NOT_ENTITLED to others)",
    ),
    RouteAccess(
        "GET",
        "/v1/documents/{doc_hash}",
        "document",
        RECORD,
        path_hex("doc_hash"),
        "document",
        note="with only the caller's wrapped keys",
    ),
    RouteAccess(
        "POST",
        "/v1/documents/{doc_hash}/keys",
        "document",
        RECORD,
        path_hex("doc_hash"),
        "document",
        note="keys added by the creditor or an organization that shared it (else 403)",
    ),
    _record("GET", "/v1/documents/{doc_hash}/access", "document", "document", path_hex("doc_hash")),
    RouteAccess("GET", "/v1/payments", "payment", ROWS),
    _record("GET", "/v1/payments/{id}", "payment", "payment", path_hex("id")),
    _record("GET", "/v1/payments/{id}/iso20022", "payment", "payment", path_hex("id")),
    _record("GET", "/v1/payments/{id}/pacs009", "payment", "payment", path_hex("id")),
    _public("/v1/fx/quotes", "firm quotes are offers to every member"),
    _public("/v1/fx/quotes/{id}"),
    _record("GET", "/v1/netting/{id}", "window", "netting window", path_hex("id")),
    _record("GET", "/v1/netting/{id}/iso20022", "window", "netting window", path_hex("id")),
    RouteAccess("GET", "/v1/governance/proposals", "proposal", ROWS),
    _record("GET", "/v1/governance/proposals/{id}", "proposal", "proposal", path_hex("id")),
    RouteAccess(
        "GET",
        STATEMENTS,
        "statement",
        ROWS,
        note="accounts; with none left, 404 as for an unknown bank",
    ),
    RouteAccess("GET", STATEMENTS + "/notifications", "statement", ROWS, note="as the statement"),
    RouteAccess("GET", "/v1/escrows", "escrow", ROWS),
    _record("GET", "/v1/escrows/{id}", "escrow", "escrow", path_hex("id")),
    RouteAccess(
        "GET",
        "/v1/state/proof",
        "state",
        RECORD,
        state_key_subject,
        "state key",
        note="an absent key the caller may read is proved absent (200)",
    ),
)
TABLE: dict[tuple[str, str], RouteAccess] = {(row.method, row.path): row for row in ROUTES}


def route_access(request: web.Request) -> RouteAccess | None:
    """The table's row for the route `request` matched (None: no route matched). HEAD is
    GET's row: its status alone would tell whether a record exists."""
    info = request.match_info.route.resource
    method = "GET" if request.method == "HEAD" else request.method
    return None if info is None else TABLE.get((method, info.canonical))
