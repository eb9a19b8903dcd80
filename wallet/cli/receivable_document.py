"""`tally receivable share|document`: an invoice's confidential document, from a shell.

`tally receivable issue --document FILE` seals and uploads it (wallet/cli/receivable.py);
`share REF ORG` grants an organization on chain and uploads the data key wrapped for it;
`document REF -o FILE` downloads, decrypts with the signer's key and checks the plaintext
against the ledger's doc_hash (`DOCUMENT_HASH_MISMATCH` otherwise, and nothing is written).
Calls go through the SDK (wallet/documents.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from wallet.cli.common import Session, client_options
from wallet.cli.receivable import _narrowing, receivable, resolve
from wallet.documents import DocumentVault


@receivable.command("share")
@click.argument("ref")
@click.argument("org")
@_narrowing
@client_options()
def share_command(
    session: Session, ref: str, org: str, creditor: str | None, debtor: str | None
) -> None:
    """Let ORG (a bank asked to finance it, an auditor) read the invoice's document."""
    piece_id = resolve(session, ref, creditor, debtor)
    answer = DocumentVault(session.client, session.signer()).share(piece_id, org)
    text = f"shared the document {answer['doc_hash'][:16]}… of {ref} with {org}"
    session.output(answer, f"{text} (tx {answer['tx'][:16]}…)")


@receivable.command("document")
@click.argument("ref")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Write here.")
@_narrowing
@client_options()
def document_command(
    session: Session, ref: str, out: str, creditor: str | None, debtor: str | None
) -> None:
    """Download the invoice's document, decrypt it with your key and check it is the one the
    ledger names."""
    piece_id = resolve(session, ref, creditor, debtor)
    vault = DocumentVault(session.client, session.signer())
    document = vault.download(piece_id)
    Path(out).write_bytes(document)
    answer = {"id": piece_id, "out": out, "bytes": len(document), "org": vault.org}
    session.output(answer, f"wrote {out} ({len(document)} bytes): the ledger's document")


COMMANDS: list[click.Command] = []  # mounted on `tally receivable` by importing this module
