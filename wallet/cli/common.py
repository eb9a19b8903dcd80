"""What every `tally` client command shares: which nodes, which key, output, and errors.

Nodes: `--node URL` (repeatable) or `--localnet DIR`, else the lookup order of
wallet/cli/nodes.py, said on stderr; a node that gives no answer hands over to the next one
(wallet/failover.py), also said on stderr. A signer is `--as ORG` (a key from a development
network's localnet.json) or `--keystore FILE` (an encrypted key; passphrase from
TALLY_PASSPHRASE or a prompt), never both; it signs the command's API requests too, and a
command that only reads signs them as `--as`/`--keystore` say, else as the localnet's auditor
(wallet/cli/reader.py). Output and exit statuses are wallet/cli/output.py's:
`session.output(record, text)` prints a record for people or, with `--json`, for scripts, and
after a write adds the tx it committed and where to see it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from ledger.genesis import Genesis
from wallet.amounts import format_amount, parse_amount
from wallet.cli import reader
from wallet.cli.nodes import DEFAULT_NODE, NodeChoice, UsageProblem, choose_nodes, find_localnet
from wallet.cli.output import (
    EXIT_INTERRUPTED,
    Committed,
    error_answer,
    report_error,
    say,
    with_commits,
)
from wallet.failover import FailoverClient
from wallet.localnet_keys import localnet_key
from wallet.request_signing import RequestSigner

__all__ = [
    "DEFAULT_NODE",
    "CommittingClient",
    "Session",
    "call",
    "client_options",
    "error_answer",
    "exits",
    "find_localnet",
    "json_option",
    "local_errors",
    "node_client",
    "node_options",
    "report_error",
    "write_out",
]

F = TypeVar("F", bound=Callable[..., Any])


class CommittingClient(FailoverClient):
    """The client of one command: remembers the receipt of every call it committed, so the
    command's output can say what it wrote and where to see it. Its requests' signer is
    chosen at the first request (`choose_signer`, wallet/cli/reader.py), so a command that
    fails on its arguments asks for no passphrase and says no "reading as" line."""

    def __init__(
        self,
        urls: tuple[str, ...],
        explorer: str | None,
        choose_signer: Callable[[], RequestSigner | None] | None = None,
    ) -> None:
        self._choose_signer = choose_signer
        self._chosen_signer: RequestSigner | None = None
        super().__init__(urls, on_switch=say)
        self.explorer = explorer
        self.commits: list[Committed] = []

    @property
    def request_signer(self) -> RequestSigner | None:
        if self._choose_signer is not None:
            self._chosen_signer, self._choose_signer = self._choose_signer(), None
        return self._chosen_signer

    @request_signer.setter
    def request_signer(self, signer: RequestSigner | None) -> None:
        self._chosen_signer = signer

    def commit(self, tx: Any) -> dict[str, Any]:
        receipt = super().commit(tx)
        self.commits.append(Committed.of_receipt(receipt, self.explorer))
        return receipt


def node_client(
    nodes: tuple[str, ...],
    localnet_dir: str | None,
    genesis: Genesis | None = None,
    request_signer: RequestSigner | None = None,
) -> FailoverClient:
    """A client of the nodes that --node/--localnet (or the lookup order) name, failing over
    among them, saying on stderr what was picked and each failover: for commands, such as
    `tally audit`, that sign no tx. Its requests are signed by `request_signer`, else as the
    command's --as/--keystore say (`reader.node_options`), else as the auditor of the localnet whose
    keys a --node command finds as `Session` does (wallet/cli/reader.py)."""
    choice = _chosen(nodes, localnet_dir)
    signer = request_signer or reader.of_node_options(choice.localnet)
    return FailoverClient(choice.urls, genesis=genesis, on_switch=say, request_signer=signer)


def _chosen(nodes: tuple[str, ...], localnet_dir: str | None) -> NodeChoice:
    """wallet/cli/nodes.py's choice, said on stderr when the user named no node."""
    choice = choose_nodes(nodes, localnet_dir)
    if choice.picked:
        say(f"using {choice.picked} (say --node or --localnet to choose)")
    return choice


class Session:
    """The resolved options of one command: node client, signer, output mode."""

    def __init__(
        self,
        nodes: tuple[str, ...],
        localnet: str | None,
        as_org: str | None,
        role: str,
        keystore: str | None,
        json_output: bool,
    ) -> None:
        self.json = json_output
        if as_org and keystore:
            raise UsageProblem("SIGNER_CONFLICT", "say who signs once: --as ORG or --keystore FILE")
        choice = _chosen(nodes, localnet)
        self.localnet_dir = localnet
        self._localnet = choice.localnet
        self._localnet_loaded = choice.localnet is not None
        self.node_urls = choice.urls
        self.client = CommittingClient(choice.urls, self._explorer(), self._request_signer)
        self.as_org = as_org
        self.role = role
        self.keystore = keystore
        self._keystore_key: Ed25519Key | None = None
        self._currencies: dict[str, int] | None = None

    @property
    def node_url(self) -> str:
        """The node in use (the first of the list until it gives no answer)."""
        return self.client.url

    @property
    def localnet(self) -> dict[str, Any] | None:
        if not self._localnet_loaded:  # only with --node: the keys' localnet is looked up
            self._localnet = find_localnet(self.localnet_dir)
            self._localnet_loaded = True
            if self._localnet is not None:
                say(f"using the keys of localnet {self._localnet['_dir']} (say --localnet)")
        return self._localnet

    def _explorer(self) -> str | None:
        """The explorer to point at: $TALLY_EXPLORER, else the one `tally demo` serves."""
        named = os.environ.get("TALLY_EXPLORER")
        if named:
            return named
        explorer = (self._localnet or {}).get("explorer")
        return str(explorer) if explorer else None

    def show_command(self, tx_id: str) -> str:
        """The tally command that shows tx `tx_id` of this session's chain."""
        where = (
            f"--localnet {self.localnet_dir}" if self.localnet_dir else f"--node {self.node_url}"
        )
        return f"tally tx show {tx_id} {where}"

    def _request_signer(self) -> RequestSigner | None:
        """Who the requests are signed as: the command's signer if it names one, else the
        localnet's auditor (wallet/cli/reader.py)."""
        named = self.signer if (self.keystore or self.as_org) else None
        return reader.request_signer(named, None if named else self.localnet)

    def signer(self) -> Ed25519Key:
        if self.keystore:
            if self._keystore_key is None:  # asked for once: it signs the requests and the tx
                self._keystore_key = reader.keystore_key(self.keystore)
            return self._keystore_key
        if self.as_org:
            net = self.localnet
            if net is None:
                raise UsageProblem("NO_LOCALNET", "--as needs a localnet.json (see --localnet)")
            return localnet_key(net, self.as_org, self.role)
        raise UsageProblem("NO_SIGNER", "say who signs: --as ORG or --keystore FILE")

    def currency_decimals(self) -> dict[str, int]:
        """Every currency of the chain with its decimals (asked of the node once)."""
        if self._currencies is None:
            listing = self.client.get("/v1/currencies")
            self._currencies = {c["code"]: int(c["decimals"]) for c in listing["currencies"]}
        return self._currencies

    def decimals(self, code: str) -> int:
        currencies = self.currency_decimals()
        if code not in currencies:
            raise UsageProblem("UNKNOWN_CURRENCY", f"currency {code} is not on this chain")
        return currencies[code]

    def parse_amount(self, text: str, code: str) -> int:
        try:
            return parse_amount(text, self.decimals(code))
        except ValueError as error:
            raise TallyError("BAD_AMOUNT", str(error)) from None

    def format_amount(self, minor: int, code: str) -> str:
        return format_amount(minor, self.decimals(code), code)

    def output(self, value: Any, human: Callable[[Any], str] | str | None = None) -> None:
        """Print `value` as JSON with --json, else the human rendering; after a write, with
        the tx it committed (wallet/cli/output.py)."""
        commits = self.client.commits
        if self.json or human is None:
            click.echo(
                json.dumps(with_commits(value, commits), indent=2, sort_keys=True, default=str)
            )
            return
        click.echo(human if isinstance(human, str) else human(value))
        for commit in commits:
            click.echo(commit.text(self.show_command(commit.tx)))


node_options = reader.node_options


def client_options(
    signing: bool = True, role: str = "operator", reader_keystore: bool = True
) -> Callable[[F], F]:
    """Add --node/--localnet/--json and --as/--keystore to a command: a signing command's
    signer (with --role, defaulting to `role`), or who a reading command reads as (the
    localnet's auditor when it names none; `reader_keystore=False` for a command whose own
    --keystore means something else). The command receives a `session: Session` argument."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            json_output = kwargs.pop("json_output")
            if signing:
                who = (kwargs.pop("as_org"), kwargs.pop("role"), kwargs.pop("keystore"))
            else:
                who = (kwargs.pop("reader_org"), role, kwargs.pop("reader_keystore", None))
            with exits(json_output):
                session = Session(kwargs.pop("node"), kwargs.pop("localnet"), *who, json_output)
                return command(*args, session=session, **kwargs)

        for option in reversed(_options(signing, role, reader_keystore)):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _options(signing: bool, role: str, reader_keystore: bool) -> list[Callable[[F], F]]:
    """The options of `client_options`."""
    options = [
        click.option(
            "--node",
            multiple=True,
            help="Node API URL; repeat it (or separate by commas) to fail over in order.",
        ),
        click.option(
            "--localnet", help="A localnet's folder (its localnet.json): its nodes and keys."
        ),
        click.option("--json", "json_output", is_flag=True, help="Machine-readable output."),
    ]
    keystore = click.Path(dir_okay=False)
    if not signing:
        options.append(
            click.option(
                "--as",
                "reader_org",
                help="Read as this localnet organization (default: the localnet's auditor).",
            )
        )
        if reader_keystore:
            options.append(
                click.option(
                    "--keystore",
                    "reader_keystore",
                    type=keystore,
                    help="Read as the organization of this keystore (a real consortium).",
                )
            )
        return options
    return [
        *options,
        click.option("--as", "as_org", help="Sign (the tx and the requests) as this localnet org."),
        click.option(
            "--role",
            default=role,
            show_default=True,
            help="Which of the organization's --as keys signs.",
            type=click.Choice(["admin", "operator", "viewer"]),
        ),
        click.option(
            "--keystore", type=keystore, help="Sign (tx and requests) with this keystore file."
        ),
    ]


@contextlib.contextmanager
def exits(json_output: bool) -> Iterator[None]:
    """End the command with wallet/cli/output.py's status: a TallyError is reported (1, 2 or
    3 by its kind), Ctrl-C is 130."""
    try:
        yield
    except TallyError as error:
        sys.exit(report_error(reader.explained(error), json_output))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


def local_errors(command: F) -> F:
    """For commands that need no node: errors and Ctrl-C as `exits` reports them."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with exits(bool(kwargs.get("json_output"))):
            return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def call(session: Session, contract: str, method: str, args: dict[str, Any]) -> Any:
    """Sign as the session's signer, submit, wait; what the contract returned."""
    receipt = session.client.call(session.signer(), contract, method, args)
    return receipt.get("result")


def write_out(data: bytes, out: str | None) -> None:
    """A document (XML) to stdout, or to the file `out` with a note on stderr."""
    if out is None or out == "-":
        click.echo(data.decode(), nl=False)
    else:
        Path(out).write_bytes(data)
        click.echo(f"wrote {out} ({len(data)} bytes)", err=True)


def json_option(command: F) -> F:
    return click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")(
        command
    )
