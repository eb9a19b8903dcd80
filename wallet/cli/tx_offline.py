"""`tally tx build|sign|submit`: offline signing for controlled environments (issue 17).

`build` asks a node for the chain and height and writes the unsigned call to a file; `sign
--offline` signs that file with a keystore on a machine that reaches no node (it takes no node
option, and its process cannot open a connection); `submit` sends the signed file through the
failover client and prints the write record. The file formats are wallet/offline_tx.py's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from wallet.cli.common import Session, client_options, json_option, local_errors
from wallet.cli.nodes import UsageProblem
from wallet.cli.reader import keystore_key
from wallet.keystore import describe_keystore, read_keystore
from wallet.offline_tx import (
    load_document,
    no_network,
    read_signed,
    read_unsigned,
    save_document,
    signed_document,
    unsigned_document,
)
from wallet.txbuilder import DEFAULT_VALIDITY, sign_body, unsigned_body


def parse_args(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`--arg name=value` pairs: a value that is JSON (numbers, true, lists, objects, quoted
    strings) is that value, anything else is the text as given."""
    args: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise UsageProblem("BAD_ARGUMENT", f"--arg wants name=value, not {pair!r}")
        try:
            args[name] = json.loads(text)
        except ValueError:
            args[name] = text
    return args


def _sender(from_hex: str | None, keystore: str | None) -> bytes:
    """The sender's public key: --from HEX, or the public key a keystore shows (no passphrase)."""
    if bool(from_hex) == bool(keystore):
        raise UsageProblem("NO_SIGNER", "say who will sign once: --from PUBKEY or --keystore FILE")
    if keystore:
        return describe_keystore(read_keystore(keystore), keystore).public
    try:
        sender = bytes.fromhex(str(from_hex))
    except ValueError:
        raise UsageProblem("BAD_HEX", "--from must be a public key in hex") from None
    if len(sender) != 32:
        raise UsageProblem("BAD_KEY", "--from must be a 32-byte public key")
    return sender


@click.command("build")
@click.argument("contract")
@click.argument("method")
@click.option("--arg", "pairs", multiple=True, help="A call argument, name=value (JSON or text).")
@click.option("--from", "from_hex", help="The signer's public key (hex).")
@click.option("--keystore", type=click.Path(dir_okay=False), help="Or the signer's keystore.")
@click.option("--validity", default=DEFAULT_VALIDITY, show_default=True, help="Blocks valid.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Unsigned file.")
@client_options(signing=False, reader_keystore=False)
def build(
    contract: str,
    method: str,
    pairs: tuple[str, ...],
    from_hex: str | None,
    keystore: str | None,
    validity: int,
    out: str,
    session: Session,
) -> None:
    """Write an unsigned call to a file, for `tally tx sign --offline` elsewhere."""
    sender = _sender(from_hex, keystore)
    client = session.client
    body = unsigned_body(
        sender, client.chain(), contract, method, parse_args(pairs), client.height() + validity
    )
    document = unsigned_document(body)
    save_document(out, document)
    click.echo(f"wrote unsigned tx {document['tx']} to {Path(out).resolve()}", err=True)
    session.output(document, f"unsigned tx {document['tx']}: {contract}.{method}")


def _refuse_node(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value:
        raise click.UsageError(f"tx sign --offline talks to no node: drop {param.opts[0]}")
    return value


@click.command("sign")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--offline", is_flag=True, help="Required: sign with no network at all.")
@click.option("--keystore", required=True, type=click.Path(dir_okay=False), help="Signing key.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False), help="Signed file.")
@click.option("--node", multiple=True, hidden=True, callback=_refuse_node, expose_value=False)
@click.option("--localnet", hidden=True, callback=_refuse_node, expose_value=False)
@json_option
@local_errors
def sign(file: str, offline: bool, keystore: str, out: str, json_output: bool) -> None:
    """Sign an unsigned tx file with a keystore, opening no network connection at all."""
    if not offline:
        raise UsageProblem("BAD_USAGE", "tx sign signs offline only: say --offline")
    with no_network():
        body = read_unsigned(load_document(file))
        signed = sign_body(body, keystore_key(keystore))
        document = signed_document(signed)
        save_document(out, document)
    click.echo(f"wrote signed tx {document['tx']} to {Path(out).resolve()}", err=True)
    if json_output:
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(f"signed tx {document['tx']}: {body.contract}.{body.method}")


@click.command("submit")
@click.argument("file", type=click.Path(dir_okay=False))
@client_options(signing=False)
def submit(file: str, session: Session) -> None:
    """Submit a signed tx file (to the next node if one gives no answer) and wait for it."""
    tx = read_signed(load_document(file))
    receipt = session.client.commit(tx)
    session.output({"result": receipt.get("result")}, f"submitted tx {tx.id.hex()}")
