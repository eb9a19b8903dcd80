"""Who may read an invoice's document: its creditor and debtor, and whom they shared it with.

The document itself never touches the ledger: the invoice records its sha256 (`doc_hash`), and
nodes keep the encrypted envelope beside the chain (ledger/documents.py). What the ledger does
record is the entitlement: `share_document` grants an organization (a bank asked to finance
it, an auditor) the right to a wrapped data key, and a node keeps a wrapped key for an
organization only when this record says it may read. Wrapping the data key is the sharer's
work, client side: only a reader holds it.

State: rcv/docshare/<root id>/<org> -> {by, tx, height} (a grant, kept for good), and
rcv/docshares/<root id> -> how many grants the invoice has (at most MAX_SHARES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.args import hex_id, org_id
from contracts.errors import ensure
from contracts.queries import StateReader
from contracts.receivables_records import Piece
from contracts.receivables_state import document_key, get_piece
from contracts.registry import org_key, require_active
from contracts.runtime import Context, method
from ledger.state_keys import piece_key

MAX_SHARES = 32  # grants per invoice: each is a wrapped key every envelope read carries


def share_prefix(root_id: str) -> str:
    """Where an invoice's grants are listed: `<prefix><org> -> {by, tx, height}`."""
    return f"rcv/docshare/{root_id}/"


def share_count_key(root_id: str) -> str:
    return f"rcv/docshares/{root_id}"


def _is_party(root: Piece, org: str) -> bool:
    return org in (root.creditor, root.debtor)


@method("receivables", "share_document", {"id": hex_id, "org": org_id})
def share_document(ctx: Context, id: str, org: str) -> dict[str, str]:
    """The invoice's creditor, or the holder of piece `id`, lets `org` read the invoice's
    document (a bank it asks to finance the piece, an auditor); the sharer then uploads the
    data key wrapped for `org` (POST /v1/documents/{doc_hash}/keys)."""
    piece = get_piece(ctx, id)
    root = piece if piece.root == piece.id else get_piece(ctx, piece.root)
    sharer = ctx.sender_org
    ensure(
        sharer == root.creditor or sharer == piece.holder,
        "NOT_PARTY",
        f"{sharer} neither issued the invoice nor holds piece {id}",
    )
    ensure(org != sharer, "SELF_SHARE", "an organization cannot share a document with itself")
    require_active(ctx, org)
    ensure(
        not _is_party(root, org),
        "ALREADY_SHARED",
        f"{org} is the invoice's {'creditor' if org == root.creditor else 'debtor'}: it reads "
        "the document already",
    )
    grant_key = share_prefix(root.id) + org
    earlier = ctx.get(grant_key)
    ensure(
        earlier is None,
        "ALREADY_SHARED",
        f"{earlier['by'] if earlier else ''} already shared the document with {org}",
    )
    count = int(ctx.get(share_count_key(root.id), 0))
    ensure(
        count < MAX_SHARES,
        "SHARE_LIMIT",
        f"the document is shared with {count} organizations, the most one invoice may have",
    )
    ctx.put(grant_key, {"by": sharer, "tx": ctx.tx_id.hex(), "height": ctx.height})
    ctx.put(share_count_key(root.id), count + 1)
    doc_hash = root.doc_hash.hex()
    ctx.emit("document_shared", id=root.id, piece=id, by=sharer, to=org, doc_hash=doc_hash)
    return {"doc_hash": doc_hash}


# -- read model (over committed state, for the node's document routes and the explorer) -------


@dataclass(frozen=True, slots=True)
class DocumentAccess:
    """Who may read the document `doc_hash` of invoice `root`, as the ledger records it."""

    doc_hash: bytes
    root: str
    creditor: str
    debtor: str
    shared: tuple[dict[str, Any], ...]  # {org, by, tx, height}, by org

    def readers(self) -> frozenset[str]:
        return frozenset((self.creditor, self.debtor, *(grant["org"] for grant in self.shared)))

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_hash": self.doc_hash.hex(),
            "receivable": self.root,
            "creditor": self.creditor,
            "debtor": self.debtor,
            "shared": list(self.shared),
        }


def document_access(state: StateReader, doc_hash: bytes) -> DocumentAccess | None:
    """The invoice a document backs and its readers; None when no invoice has that hash."""
    root_id = state.state(document_key(doc_hash))
    if not isinstance(root_id, str):
        return None
    record = state.state(piece_key(root_id))
    if record is None:
        return None
    prefix = share_prefix(root_id)
    shared = tuple(
        {"org": key[len(prefix) :], **dict(grant)}
        for key, grant in state.state_items(prefix, limit=MAX_SHARES)
    )
    return DocumentAccess(doc_hash, root_id, record["creditor"], record["debtor"], shared)


def org_keys(state: StateReader, org: str) -> tuple[bytes, ...]:
    """The Ed25519 keys registered to `org` (any role): those a data key is wrapped for."""
    record = state.state(org_key(org))
    if record is None:
        return ()
    return tuple(bytes(key["public"]) for key in record.get("keys", ()))
