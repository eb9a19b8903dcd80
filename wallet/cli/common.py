"""What every `tally` client command shares: which node, which key, output, and errors.

A signer is `--as ORG` (a key from a development network's localnet.json) or `--keystore FILE`
(an encrypted key; passphrase from TALLY_PASSPHRASE or a prompt). Output is for people unless
`--json`. Any TallyError becomes `error: CODE: message` and exit status 1, never a traceback;
with `--json`, `{"error": {code, message}}`, plus a failed receipt's `details` (the raw values the
message words for people) and its `tx` id (`report_error`, shared by every `tally` group).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from wallet.amounts import format_amount, parse_amount
from wallet.client import Client
from wallet.errors import TxFailed
from wallet.localnet_keys import localnet_key

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_NODE = "http://127.0.0.1:8700"
LOCALNET_CANDIDATES = ("localnet", "demo-data")


def find_localnet(directory: str | None = None) -> dict[str, Any] | None:
    """localnet.json from --localnet, $TALLY_LOCALNET, ./localnet or ./demo-data."""
    candidates = [directory] if directory else []
    if os.environ.get("TALLY_LOCALNET"):
        candidates.append(os.environ["TALLY_LOCALNET"])
    candidates.extend(LOCALNET_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate) / "localnet.json"
        if path.is_file():
            try:
                data: dict[str, Any] = json.loads(path.read_text())
            except (OSError, ValueError):
                raise TallyError("BAD_LOCALNET", f"{path} is not valid JSON") from None
            data["_dir"] = str(path.parent)
            return data
    return None


def error_answer(error: TallyError) -> dict[str, Any]:
    """The `--json` form of an error. For a call that was committed and failed, also the tx id
    and the receipt's `details`: raw minor units and block-time ms, for scripts, where the
    message shows amounts and times in people's units (contracts/wording.py)."""
    answer: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, TxFailed):
        answer["tx"] = error.tx_id
        details = (error.receipt.get("error") or {}).get("details")
        if details:
            answer["details"] = details
    return {"error": answer}


def report_error(error: TallyError, json_output: bool) -> None:
    """Print `error` as `error_answer` JSON on stdout with --json, else `error: CODE: message`
    on stderr; the caller exits with status 1."""
    if json_output:
        click.echo(json.dumps(error_answer(error), sort_keys=True))
    else:
        click.echo(f"error: {error.code}: {error.message}", err=True)


class Session:
    """The resolved options of one command: node client, signer, output mode."""

    def __init__(
        self,
        node: str | None,
        localnet: str | None,
        as_org: str | None,
        role: str,
        keystore: str | None,
        json_output: bool,
    ) -> None:
        self.localnet_dir = localnet
        self._localnet: dict[str, Any] | None = None
        self._localnet_loaded = False
        self.node_url = node or os.environ.get("TALLY_NODE") or self._default_node()
        self.client = Client(self.node_url)
        self.as_org = as_org
        self.role = role
        self.keystore = keystore
        self.json = json_output
        self._currencies: dict[str, int] | None = None

    @property
    def localnet(self) -> dict[str, Any] | None:
        if not self._localnet_loaded:
            self._localnet = find_localnet(self.localnet_dir)
            self._localnet_loaded = True
        return self._localnet

    def _default_node(self) -> str:
        net = self.localnet
        if net and net.get("nodes"):
            return str(net["nodes"][0]["api"])
        return DEFAULT_NODE

    def signer(self) -> Ed25519Key:
        if self.keystore:
            from wallet.keystore import load_keystore  # the keystore module owns passphrases

            passphrase = os.environ.get("TALLY_PASSPHRASE")
            if passphrase is None:
                passphrase = click.prompt("Passphrase", hide_input=True)
            return load_keystore(self.keystore, passphrase)
        if self.as_org:
            net = self.localnet
            if net is None:
                raise TallyError("NO_LOCALNET", "--as needs a localnet.json (see --localnet)")
            return localnet_key(net, self.as_org, self.role)
        raise TallyError("NO_SIGNER", "say who signs: --as ORG or --keystore FILE")

    def decimals(self, code: str) -> int:
        if self._currencies is None:
            listing = self.client.get("/v1/currencies")
            self._currencies = {c["code"]: int(c["decimals"]) for c in listing["currencies"]}
        if code not in self._currencies:
            raise TallyError("UNKNOWN_CURRENCY", f"currency {code} is not on this chain")
        return self._currencies[code]

    def parse_amount(self, text: str, code: str) -> int:
        try:
            return parse_amount(text, self.decimals(code))
        except ValueError as error:
            raise TallyError("BAD_AMOUNT", str(error)) from None

    def format_amount(self, minor: int, code: str) -> str:
        return format_amount(minor, self.decimals(code), code)

    def output(self, value: Any, human: Callable[[Any], str] | str | None = None) -> None:
        """Print `value` as JSON with --json, else the human rendering."""
        if self.json or human is None:
            click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))
        else:
            click.echo(human if isinstance(human, str) else human(value))


def client_options(signing: bool = True) -> Callable[[F], F]:
    """Add --node/--localnet/--json (and --as/--role/--keystore when signing) to a command;
    the command receives a `session: Session` keyword argument."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only a signing command owns --as/--role/--keystore; others may use those names.
            session = Session(
                kwargs.pop("node"),
                kwargs.pop("localnet"),
                kwargs.pop("as_org", None) if signing else None,
                kwargs.pop("role", "operator") if signing else "operator",
                kwargs.pop("keystore", None) if signing else None,
                kwargs.pop("json_output"),
            )
            try:
                return command(*args, session=session, **kwargs)
            except TallyError as error:
                report_error(error, session.json)
                sys.exit(1)

        options = [
            click.option("--node", help="Node API URL (default: $TALLY_NODE or the localnet's)."),
            click.option("--localnet", help="Directory holding localnet.json."),
            click.option("--json", "json_output", is_flag=True, help="Machine-readable output."),
        ]
        if signing:
            options += [
                click.option("--as", "as_org", help="Sign as this localnet organization."),
                click.option(
                    "--role",
                    default="operator",
                    show_default=True,
                    type=click.Choice(["admin", "operator", "viewer"]),
                ),
                click.option(
                    "--keystore",
                    type=click.Path(dir_okay=False),
                    help="Sign with this encrypted keystore file.",
                ),
            ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def local_errors(command: F) -> F:
    """For commands that need no node: TallyError -> `error: CODE: message` (or JSON with
    --json) and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TallyError as error:
            report_error(error, bool(kwargs.get("json_output")))
            sys.exit(1)

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
