"""An invoice's confidential document on the explorer: who may read it, and its download.

The receivable page shows the document's hash on the ledger, whom the ledger lets read it
(creditor, debtor, grants by `receivables.share_document`) and for whom the node keeps a
wrapped key. When the explorer runs signed in (`tally explorer --keystore FILE`), a reader's
page offers the download: the explorer unwraps the data key with that key, decrypts, and
checks the plaintext's sha256 against the ledger's doc_hash before sending a byte
(wallet/documents.py). The explorer's reads are signed as the organization it is signed in
as (the SDK client's `request_signer`), the download's too; the document key is `DOCUMENT_KEY`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from explorer.reader import NodeError, NodeReader
from explorer.web import PageError, view
from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from wallet.client import Client
from wallet.documents import DocumentVault

DOCUMENT_KEY: web.AppKey[Ed25519Key] = web.AppKey("document_key", Ed25519Key)


async def access_of(reader: NodeReader, doc_hash: str) -> dict[str, Any] | None:
    """Who may read the document (GET /v1/documents/{doc_hash}/access); None when the node
    knows no such document or has no document routes."""
    if len(doc_hash) != 64 or any(c not in "0123456789abcdef" for c in doc_hash):
        return None
    try:
        return await reader.get_record(f"/v1/documents/{doc_hash}/access")
    except NodeError as error:
        if error.status == 404:
            return None
        raise


def section(request: web.Request, record: dict[str, Any], access: dict[str, Any] | None) -> Any:
    """What the receivable page's document card needs: the access record, and whether (and as
    whom) the explorer is signed in and may offer the download."""
    key = request.app.get(DOCUMENT_KEY)
    signed_in = view(request).org_of(key.public.hex()) if key is not None else None
    readers = set()
    if access is not None:
        readers = {access["creditor"], access["debtor"], *(g["org"] for g in access["shared"])}
    return {
        "access": access,
        "signed_in": signed_in,
        "may_download": signed_in in readers and bool(access and access.get("stored_for")),
        "href": f"/receivable/{record['id']}/document",
    }


async def download(request: web.Request) -> web.Response:
    piece_id = request.match_info["id"].lower()
    if len(piece_id) != 64 or any(c not in "0123456789abcdef" for c in piece_id):
        raise PageError(400, "Malformed receivable id", "A receivable id is 64 hex characters.")
    key = request.app.get(DOCUMENT_KEY)
    if key is None:
        message = "The explorer is not signed in: run it with tally explorer --keystore FILE."
        raise PageError(403, "Not signed in", message)
    reader = view(request).reader
    vault = DocumentVault(Client(reader.base_url, request_signer=reader.request_signer), key)
    try:
        document = await asyncio.get_running_loop().run_in_executor(None, vault.download, piece_id)
    except TallyError as error:
        raise PageError(403, "Document refused", f"{error.code}: {error.message}") from None
    return web.Response(
        body=document,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="invoice-{piece_id[:12]}.bin"'},
    )


ROUTES: list[web.RouteDef] = [web.get("/receivable/{id}/document", download)]
