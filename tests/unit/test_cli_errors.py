"""How `tally` reports an error: `--json` carries a failed receipt's raw `details` and tx id for
scripts (issue 12, finding 5); people read `error: CODE: message` with the amounts worded."""

from __future__ import annotations

import json
import sys

import click
from click.testing import CliRunner

from ledger.errors import TallyError
from wallet.cli.common import error_answer, report_error
from wallet.errors import ApiError, TxFailed

RECEIPT = {
    "status": "failed",
    "error": {
        "code": "INSUFFICIENT_FUNDS",
        "message": "bigauto holds 200,001.00 CNY, needs 99,999,999.00 CNY",
        "details": {"currency": "CNY", "held": 20_000_100, "needed": 9_999_999_900},
    },
}
TX = "ab" * 32


def _run(error: TallyError, *flags: str) -> tuple[int, str, str]:
    @click.command()
    @click.option("--json", "json_output", is_flag=True)
    def failing(json_output: bool) -> None:
        report_error(error, json_output)
        sys.exit(1)

    result = CliRunner().invoke(failing, list(flags))
    return result.exit_code, result.stdout, result.stderr


def test_a_failed_receipt_in_json_carries_its_details_and_tx() -> None:
    code, out, err = _run(TxFailed(TX, RECEIPT), "--json")
    assert code == 1 and err == ""
    assert json.loads(out) == {"error": {**RECEIPT["error"], "tx": TX}}


def test_people_read_the_message_in_their_units() -> None:
    code, out, err = _run(TxFailed(TX, RECEIPT))
    assert code == 1 and out == ""
    assert (
        err == "error: INSUFFICIENT_FUNDS: bigauto holds 200,001.00 CNY, needs 99,999,999.00 CNY\n"
    )


def test_errors_without_a_receipt_keep_code_and_message_only() -> None:
    assert error_answer(ApiError("NODE_UNREACHABLE", "no answer")) == {
        "error": {"code": "NODE_UNREACHABLE", "message": "no answer"}
    }
    no_details = {"status": "failed", "error": {"code": "NOT_AUTHORIZED", "message": "no"}}
    assert error_answer(TxFailed(TX, no_details)) == {
        "error": {"code": "NOT_AUTHORIZED", "message": "no", "tx": TX}
    }
