"""Who a `tally` command signs its API requests as (DESIGN.md §9: a `members` node answers
signed requests only), chosen once, in this order:

1. the command's signer, when it has one (`--keystore FILE`, or `--as ORG` of a localnet): the
   key that signs its transaction signs its requests too, so it reads what that organization may;
2. for a command that only reads, against a localnet: the localnet's auditor (audit-co), which
   may read everything; a line on stderr says so, and `--as ORG` reads as another;
3. no localnet and no signer: unsigned, for a node whose API is `open`; a `members` node then
   answers 401 UNAUTHENTICATED: pass `--keystore FILE`.

Tools outside `client_options` (`tally index`) take the same three options through
`chosen_signer`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from wallet.cli.nodes import UsageProblem, find_localnet, read_localnet
from wallet.cli.output import say
from wallet.errors import ApiError
from wallet.localnet_keys import localnet_auditor, localnet_key
from wallet.request_signing import RequestSigner

F = TypeVar("F", bound=Callable[..., Any])


def request_signer(
    signer: Callable[[], Ed25519Key] | None, net: dict[str, Any] | None
) -> RequestSigner | None:
    """The requests' signer: the command's own (`signer`), else the localnet's auditor."""
    if signer is not None:
        return RequestSigner.of(signer())
    if net is None:
        return None
    auditor = localnet_auditor(net)
    say(f"reading as {auditor}, the localnet's auditor (say --as ORG to read as another)")
    return RequestSigner.of_localnet(net, auditor)


def chosen_signer(
    localnet_dir: str | None, as_org: str | None, keystore: str | None
) -> RequestSigner | None:
    """`request_signer` for --localnet/--as/--keystore as a reading tool takes them."""
    if as_org and keystore:
        raise UsageProblem("SIGNER_CONFLICT", "say who reads once: --as ORG or --keystore FILE")
    net = read_localnet(localnet_dir) if localnet_dir else None
    if keystore:
        return request_signer(lambda: keystore_key(keystore), None)
    if as_org:
        if net is None:
            raise UsageProblem("NO_LOCALNET", "--as needs a localnet.json (see --localnet)")
        return request_signer(lambda: localnet_key(net, as_org), None)
    return request_signer(None, net)


UNSIGNED_HINT = "say who reads: --keystore FILE, or --as ORG with --localnet DIR"


def explained(error: TallyError) -> TallyError:
    """A node's 401 UNAUTHENTICATED, with what the person can do about it (an ApiError still)."""
    if not isinstance(error, ApiError) or error.code != "UNAUTHENTICATED":
        return error
    return ApiError(error.code, f"{error.message}; {UNSIGNED_HINT}", error.status)


def keystore_key(path: str) -> Ed25519Key:
    """The key of keystore `path`: the file is read before any passphrase is asked for, and
    with no terminal to ask at, TALLY_PASSPHRASE must say it."""
    from wallet.keystore import decrypt_key, read_keystore  # the keystore module owns the KDF

    document = read_keystore(path)
    passphrase = os.environ.get("TALLY_PASSPHRASE")
    if passphrase is None:
        if not sys.stdin.isatty():
            raise UsageProblem(
                "NO_PASSPHRASE", f"{path} needs its passphrase: set TALLY_PASSPHRASE"
            )
        passphrase = click.prompt("Passphrase", hide_input=True)
    return decrypt_key(document, passphrase)


READER_OPTIONS = "tally.reader"  # click's ctx.meta key: the --as/--keystore of `node_options`


def of_node_options(net: dict[str, Any] | None) -> RequestSigner | None:
    """Who a `node_options` command reads as: its --as/--keystore, else the auditor of `net`
    (the localnet it talks to) or of the localnet whose keys the lookup finds."""
    context = click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    as_org, keystore = meta.get(READER_OPTIONS, (None, None))
    if net is None and not keystore:
        net = find_localnet()
        if net is not None:
            say(f"using the keys of localnet {net['_dir']} (say --localnet)")
    if keystore or as_org:
        return chosen_signer(net["_dir"] if net else None, as_org, keystore)
    return request_signer(None, net)


def node_options(command: F) -> F:
    """--node (repeatable) and --localnet, as `node_client` takes them (`nodes`, `localnet_dir`),
    and --as/--keystore, who `node_client` reads as (kept in click's context, so the commands
    that take these options need no new arguments)."""

    def keep(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        as_org, keystore = ctx.meta.get(READER_OPTIONS, (None, None))
        chosen = (value, keystore) if param.name == "reader_org" else (as_org, value)
        ctx.meta[READER_OPTIONS] = chosen
        return value

    for option in (
        click.option(
            "--keystore",
            "reader_keystore",
            type=click.Path(dir_okay=False),
            callback=keep,
            expose_value=False,
            help="Read as the organization of this keystore (a real consortium).",
        ),
        click.option(
            "--as",
            "reader_org",
            callback=keep,
            expose_value=False,
            help="Read as this localnet organization (default: the localnet's auditor).",
        ),
        click.option("--localnet", "localnet_dir", help="A localnet's folder: talk to its nodes."),
        click.option(
            "--node",
            "nodes",
            multiple=True,
            help="Node API URL; repeat it (or separate by commas) to fail over in order.",
        ),
    ):
        command = option(command)
    return command
