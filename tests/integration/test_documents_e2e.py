"""Confidential invoice documents through the real `tally` CLI on a one-validator localnet:
the creditor issues with a document, a bank cannot read it until the creditor shares it, then
it decrypts exactly the document whose hash the ledger holds."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.hashing import sha256
from wallet.client import Client

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


def test_a_bank_reads_the_document_only_once_shared_and_it_is_the_ledgers(
    localnet: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    net = localnet(nodes=1)
    source = tmp_path / "INV-7001.pdf"
    source.write_bytes(PDF)
    issue = ("receivable", "issue", "--invoice", "INV-7001", "--debtor", "bigauto")
    terms = ("--amount", "120,000.00", "--currency", "CNY", "--days", "60")
    status, issued = tally(net, "acme-steel", *issue, *terms, "--document", str(source))
    assert status == 0, issued
    piece_id = issued["id"]
    client = Client(net["nodes"][0]["api"])
    assert client.receivable(piece_id)["doc_hash"] == sha256(PDF).hex() == issued["doc_hash"]

    bank_copy = tmp_path / "bank.pdf"
    status, refused = tally(net, "bank-a", "receivable", "document", piece_id, "-o", str(bank_copy))
    assert status == 1 and refused["error"]["code"] == "DOCUMENT_NOT_SHARED", refused
    assert not bank_copy.exists()

    status, shared = tally(net, "acme-steel", "receivable", "share", "INV-7001", "bank-a")
    assert status == 0 and shared["org"] == "bank-a", shared
    status, again = tally(net, "acme-steel", "receivable", "share", piece_id, "bank-a")
    assert status == 1 and again["error"]["code"] == "ALREADY_SHARED", again

    status, read = tally(net, "bank-a", "receivable", "document", piece_id, "-o", str(bank_copy))
    assert status == 0, read
    assert bank_copy.read_bytes() == PDF
    debtor_copy = tmp_path / "bigauto.pdf"
    status, read = tally(net, "bigauto", "receivable", "document", piece_id, "-o", str(debtor_copy))
    assert status == 0 and debtor_copy.read_bytes() == PDF, read
    access = client.get(f"/v1/documents/{sha256(PDF).hex()}/access")
    assert [grant["org"] for grant in access["shared"]] == ["bank-a"]
    assert access["stored_for"] == ["acme-steel", "bank-a", "bigauto"]
