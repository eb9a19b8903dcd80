"""What every `tally` command prints, and the status it exits with (issue 17).

Exit status: 0 done; 1 refused by the ledger (a node's coded refusal, a failed receipt, a proof
or chain that does not verify); 2 usage (the command as given cannot run: a bad amount, a
missing folder or file, two signers); 3 no node answers; 130 interrupted (Ctrl-C, SIGTERM).

Text is for people: amounts in the currency's units, times as UTC dates. `--json` prints the
same record with raw minor units and block-time milliseconds. A write adds what it committed:
in text one line `committed tx ID in block H; see URL`, in JSON the fields `tx`, `height`,
`status`, `receipt` (and `explorer` when an explorer is known). Errors print as
`error: CODE: message` on stderr, or `{"error": {code, message}}` on stdout with --json.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import click

from ledger.errors import TallyError
from wallet.errors import NODE_UNREACHABLE, ApiError, TxFailed

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130

# Codes of errors found on this machine, before anything reached a node, that say the command
# as given cannot run. Any other local error (a verification that fails) is exit status 1.
USAGE_CODES = frozenset(
    {
        "AMBIGUOUS",
        "BAD_ADDRESS",
        "BAD_ADVANCE",
        "BAD_AMOUNT",
        "BAD_ARGUMENT",
        "BAD_CONFIG",
        "BAD_DURATION",
        "BAD_FILE",
        "BAD_GENESIS",
        "BAD_HEX",
        "BAD_KEY_FILE",
        "BAD_KEY",
        "BAD_KEYSTORE",
        "BAD_LOCALNET",
        "BAD_ORG",
        "BAD_PARAM",
        "BAD_RATE",
        "BAD_SEED",
        "BAD_TIME",
        "BAD_TX_FILE",
        "BAD_USAGE",
        "DIR_NOT_EMPTY",
        "EMPTY_PASSPHRASE",
        "FILE_EXISTS",
        "KEYSTORE_EXISTS",
        "KEYSTORE_IO",
        "NO_GENESIS",
        "NO_KEYSTORE",
        "NO_LOCALNET",
        "NO_PASSPHRASE",
        "NO_SIGNER",
        "NOT_A_LOCALNET",
        "SECRET_IN_PUBLIC_FILE",
        "SIGNER_CONFLICT",
        "UNKNOWN_CURRENCY",
        "UNKNOWN_KEY",
        "UNKNOWN_NODE",
        "UNKNOWN_ORG",
        "WRONG_CURRENCY",
        "WRONG_PASSPHRASE",
        "WRONG_SIGNER",
    }
)


# No node answered: the SDK's NODE_UNREACHABLE, or every node of a localnet down.
UNREACHABLE_CODES = frozenset({NODE_UNREACHABLE, "LOCALNET_DOWN"})


def exit_status(error: TallyError) -> int:
    """The exit status of a command that ended with `error` (see the module docstring)."""
    if error.code in UNREACHABLE_CODES:
        return EXIT_UNREACHABLE
    if isinstance(error, ApiError | TxFailed):
        return EXIT_REFUSED  # the node's answer, whatever its code
    return EXIT_USAGE if error.code in USAGE_CODES else EXIT_REFUSED


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


def report_error(error: TallyError, json_output: bool) -> int:
    """Print `error` as `error_answer` JSON on stdout with --json, else `error: CODE: message`
    on stderr; return the exit status the caller ends with."""
    if json_output:
        click.echo(json.dumps(error_answer(error), sort_keys=True))
    else:
        click.echo(f"error: {error.code}: {error.message}", err=True)
    return exit_status(error)


def say(line: str) -> None:
    """A note for the person at the terminal (which node, a failover): stderr, never stdout."""
    click.echo(f"tally: {line}", err=True)


def utc_time(ms: int) -> str:
    """Block-time milliseconds as people read a time: `2026-12-02 03:15:00 UTC`."""
    moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class Committed:
    """One transaction a write command committed, and where a person can see it."""

    tx: str
    height: int
    status: str
    receipt: dict[str, Any]
    explorer: str | None  # the explorer's page of the tx, when an explorer is known

    @classmethod
    def of_receipt(cls, receipt: dict[str, Any], explorer: str | None) -> Committed:
        tx_id = str(receipt["tx"])
        page = f"{explorer.rstrip('/')}/tx/{tx_id}" if explorer else None
        return cls(tx_id, int(receipt["height"]), str(receipt["status"]), receipt, page)

    def to_json(self) -> dict[str, Any]:
        answer = {"tx": self.tx, "height": self.height, "status": self.status}
        answer["receipt"] = self.receipt
        if self.explorer:
            answer["explorer"] = self.explorer
        return answer

    def text(self, show_command: str) -> str:
        """`committed tx ID in block H; see WHERE`: the explorer's page of the tx when an
        explorer is known, else `show_command` (the tally command that shows it)."""
        return f"committed tx {self.tx} in block {self.height}; see {self.explorer or show_command}"


def with_commits(value: Any, commits: list[Committed]) -> Any:
    """The `--json` record of a write: the command's own record plus the last tx it committed
    (`tx`, `height`, `status`, `receipt`), and `txs` (all of them) when it committed several."""
    if not commits:
        return value
    record = dict(value) if isinstance(value, dict) else {"result": value}
    record.update(commits[-1].to_json())
    if len(commits) > 1:
        record["txs"] = [commit.to_json() for commit in commits]
    return record
