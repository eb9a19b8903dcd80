"""Who is reading, as the read policy sees it: the caller's `Viewer`, and `NodeConcerns`, whom
records and transactions concern (contracts/concerns.py, plus what only the node holds: blocks,
receipts, the mempool, document grants). node/api/access_policy.py says which applies where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from contracts.concerns import EVERYONE, Concerns, Orgs
from contracts.reader_scope import READER_KINDS, reader_scope
from contracts.receivables_documents import document_access
from ledger.chain import ChainStore
from ledger.types import Receipt, SignedTx
from node.api.caller import Caller, caller_of
from node.api.context import store


class NodeConcerns(Concerns):
    """Whom records concern, and also transactions: committed ones through their block and
    receipt, pending ones through the mempool."""

    def __init__(
        self, chain: ChainStore, pending: Callable[[bytes], SignedTx | None] = lambda _: None
    ) -> None:
        super().__init__(chain)
        self.chain = chain
        self.pending = pending

    def tx(self, tx_hex: str) -> Orgs | None:
        """The signer's organization and the organizations its events concern."""
        tx_id = bytes.fromhex(tx_hex)
        location = self.chain.tx_location(tx_id)
        if location is None:
            waiting = self.pending(tx_id)
            return None if waiting is None else self.tx_parties(waiting, None)
        height, index = location
        block = self.chain.block(height)
        if block is None:
            return None
        return self.tx_parties(SignedTx.decode(block.txs[index]), self.chain.receipt(height, index))

    def tx_parties(self, tx: SignedTx, receipt: Receipt | None) -> Orgs:
        signer = self.signer(tx.body.sender)
        found = self.events(receipt.events) if receipt is not None else frozenset()
        return found | ({signer} if signer else frozenset())

    def document(self, doc_hex: str) -> Orgs | None:
        access = document_access(self.chain, bytes.fromhex(doc_hex))
        return None if access is None else access.readers()

    def statement_account(self, row: dict[str, Any]) -> Orgs:
        return frozenset({str(row["owner"]), str(row["bank"])})


Resolve = Callable[[NodeConcerns, Any], Orgs | None]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of record: whom it concerns, for a record named by id and for a listed row."""

    who: str  # for the table in docs/api.md
    record: Resolve  # the record named by a path parameter
    row: Resolve  # a row of a listing
    readers: bool = True  # auditors and regulators read it (within their scope)
    heavy: bool = False  # its lookup walks records (a family, a block): done on a read thread


@dataclass(frozen=True, slots=True)
class Viewer:
    """What one caller reads: `org` None while the API is open; `scope` (orgs, jurisdictions)
    of an auditor or regulator governance scoped."""

    org: str | None
    reader: bool = False  # an auditor or regulator
    scope: tuple[frozenset[str], frozenset[str]] | None = None

    def sees_all(self, kind: Kind) -> bool:
        """Whether every record of `kind` is for this caller, so nothing need be looked up."""
        return self.org is None or (self.reader and kind.readers and self.scope is None)

    def reads(self, kind: Kind, parties: Orgs | None, concerns: Concerns) -> bool:
        """Whether this caller reads a record of `kind` that concerns `parties` (None: no such
        record, which only a caller that sees all may ask after: it gets the route's 404)."""
        if self.sees_all(kind):
            return True
        if parties is None:
            return False
        if self.org in parties or parties >= EVERYONE:
            return True
        if not (self.reader and kind.readers) or self.scope is None:
            return False
        orgs, jurisdictions = self.scope
        if orgs & parties:
            return True
        return any(concerns.jurisdiction(org) in jurisdictions for org in parties)


VIEWER_KEY: web.RequestKey[Viewer] = web.RequestKey("tally.viewer", Viewer)


def viewer_for(chain: ChainStore, caller: Caller | None) -> Viewer:
    if caller is None:
        return Viewer(None)
    reader = caller.kind in READER_KINDS
    return Viewer(caller.org, reader, reader_scope(chain, caller.org) if reader else None)


def viewer_of(request: web.Request) -> Viewer:
    """The caller of `request` as the policy sees it (its scope read once per request)."""
    found = request.get(VIEWER_KEY)
    if not isinstance(found, Viewer):
        found = viewer_for(store(request), caller_of(request))
        request[VIEWER_KEY] = found
    return found
