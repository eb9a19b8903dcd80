"""Confidential invoice documents through the real `tally` CLI on a one-validator localnet:
the creditor issues with a document, a bank cannot read it until the creditor shares it, then
it decrypts exactly the document whose hash the ledger holds."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from explorer.app import make_app
from ledger.crypto import Ed25519Key
from ledger.documents import DocumentError
from ledger.genesis import genesis_from_value
from ledger.hashing import sha256
from tests.support.localnet_tools import org_client, signed_client
from wallet.documents import DocumentVault
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.7\n% invoice INV-7001, acme-steel to bigauto\n" + bytes(range(256)) * 64


def tally(net: dict[str, Any], org: str, *args: str) -> tuple[int, Any]:
    """`tally ... --json --as ORG` against the localnet; exit status and the JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "node", *args, "--localnet", net["dir"], "--as", org, "--json"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else done.stderr


@pytest.fixture(scope="module")
def net(module_localnet: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """One one-validator localnet for the module's tests."""
    return module_localnet(nodes=1)


@pytest.fixture(scope="module")
def open_net(module_localnet: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """An `open` (development) localnet: there an explorer that signs nothing shows the page, and
    only one signed in with a reader's key downloads the document (members mode: test above)."""
    return module_localnet(nodes=1, access="open")


def test_a_bank_reads_the_document_only_once_shared_and_it_is_the_ledgers(
    net: dict[str, Any], tmp_path: Path
) -> None:
    source = tmp_path / "INV-7001.pdf"
    source.write_bytes(PDF)
    issue = ("receivable", "issue", "--invoice", "INV-7001", "--debtor", "bigauto")
    terms = ("--amount", "120,000.00", "--currency", "CNY", "--days", "60")
    status, issued = tally(net, "acme-steel", *issue, *terms, "--document", str(source))
    assert status == 0, issued
    piece_id = issued["id"]
    client = signed_client(net["nodes"][0]["api"])
    assert client.receivable(piece_id)["doc_hash"] == sha256(PDF).hex() == issued["doc_hash"]

    bank_copy = tmp_path / "bank.pdf"
    status, refused = tally(net, "bank-a", "receivable", "document", piece_id, "-o", str(bank_copy))
    # Not shared with bank-a: the read policy hides the very receivable from it (DESIGN.md §9).
    assert status == 1 and refused["error"]["code"] == "NOT_FOUND", refused
    assert not bank_copy.exists()

    status, shared = tally(net, "acme-steel", "receivable", "share", "INV-7001", "bank-a")
    assert status == 0 and shared["org"] == "bank-a", shared

    status, read = tally(net, "bank-a", "receivable", "document", piece_id, "-o", str(bank_copy))
    assert status == 0, read
    assert bank_copy.read_bytes() == PDF
    debtor = DocumentVault(org_client(net, "bigauto"), localnet_key(net, "bigauto"))
    assert debtor.download(piece_id) == PDF
    creditor = org_client(net, "acme-steel")  # an auditor reads a document only once shared
    access = creditor.get(f"/v1/documents/{sha256(PDF).hex()}/access")
    assert [grant["org"] for grant in access["shared"]] == ["bank-a"]
    assert access["stored_for"] == ["acme-steel", "bank-a", "bigauto"]


def explorer_get(net: dict[str, Any], key: Ed25519Key | None, paths: list[str]) -> list[Any]:
    """GET each path from an explorer for the localnet, signed in with `key` (or not)."""
    api = net["nodes"][0]["api"]
    genesis = genesis_from_value(signed_client(api).raw_genesis())

    async def run() -> list[Any]:
        app = make_app(api, genesis, genesis_verified=False, follow=False, document_key=key)
        async with TestClient(TestServer(app)) as client:
            answers = []
            for path in paths:
                response = await client.get(path)
                answers.append((response.status, await response.read()))
            return answers

    return asyncio.run(run())


def test_the_explorer_shows_the_readers_and_a_signed_in_reader_downloads_the_document(
    open_net: dict[str, Any],
) -> None:
    net = open_net
    xml = b"<Invoice><ID>INV-7002</ID></Invoice>"
    client = signed_client(net["nodes"][0]["api"])
    args = {
        "invoice_no": "INV-7002", "debtor": "bigauto", "amount": 100, "currency": "CNY",
        "issue_date": "2026-01-01", "due_date": "2026-03-01",
    }  # fmt: skip
    creditor = DocumentVault(client, localnet_key(net, "acme-steel"))
    piece_id = creditor.issue_with_document(xml, args)["id"]
    creditor.share(piece_id, "audit-co")
    outsider = DocumentVault(client, localnet_key(net, "bank-b"))
    with pytest.raises(DocumentError) as refused_share:  # it cannot read it, so it shares nothing
        outsider.share(piece_id, "bank-c")
    assert refused_share.value.code == "DOCUMENT_NOT_SHARED"
    access = client.get(f"/v1/documents/{sha256(xml).hex()}/access")
    assert [grant["org"] for grant in access["shared"]] == ["audit-co"]
    page, download = f"/receivable/{piece_id}", f"/receivable/{piece_id}/document"
    (shown, refused) = explorer_get(net, None, [page, download])
    assert shown[0] == 200 and sha256(xml).hex().encode() in shown[1]
    assert b"audit-co" in shown[1] and b"sign in to download" in shown[1]
    assert refused[0] == 403
    (shown, got) = explorer_get(net, localnet_key(net, "audit-co"), [page, download])
    assert b"decrypted as audit-co" in shown[1]
    assert got == (200, xml)
    (shown, refused) = explorer_get(net, localnet_key(net, "bank-b"), [page, download])
    assert b"signed in as bank-b, which may not read it" in shown[1]
    assert refused[0] == 403 and b"DOCUMENT_NOT_SHARED" in refused[1]
