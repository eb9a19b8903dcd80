"""`tally escrow create|release|cancel|show|list|secret`: conditional payments (DESIGN.md §10).

Amounts are written as people write them, as for `tally pay`. A hash lock (`--condition`) and a
preimage (`--preimage`) are hex; `tally escrow secret` draws a fresh secret and prints it with
its condition, and `create --new-secret` does the same and locks with it. Times are either
durations from now on the chain's block clock (`--cancel-after 36h`; `s`, `m`, `h`, `d`, or
plain seconds) or block-time milliseconds (`--cancel-ms`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import click

from ledger.errors import TallyError
from wallet.cli.common import Session, call, client_options, json_option, local_errors
from wallet.escrow import condition_of, hex_bytes, new_secret

_DURATION = re.compile(r"^([0-9]{1,9})([smhd]?)$")
_UNIT_MS = {"": 1000, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(text: str, option: str) -> int:
    """'90m' -> 5,400,000; a bare number is seconds."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise TallyError("BAD_DURATION", f"{option} takes a duration like 90s, 30m, 36h or 2d")
    return int(match.group(1)) * _UNIT_MS[match.group(2)]


def _moment(session: Session, after: str | None, at_ms: int | None, option: str) -> int | None:
    """A block time from `--X-after DURATION` or `--X-ms MS` (not both); None for neither."""
    if after is not None and at_ms is not None:
        raise TallyError("BAD_ARGUMENT", f"give --{option}-after or --{option}-ms, not both")
    if after is not None:
        return session.client.clock_ms() + duration_ms(after, f"--{option}-after")
    return at_ms


def utc(time_ms: int) -> str:
    """Block-time milliseconds as people read them: '2026-01-02 03:04:05 UTC'."""
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@click.group("escrow")
def escrow_group() -> None:
    """Conditional payments: hash locks, release times, cancel times (atomic swaps)."""


def _describe(session: Session, e: dict[str, Any]) -> str:
    amount = session.format_amount(e["amount"], e["currency"])
    lines = [f"escrow {e['id']}: {amount} from {e['payer']} to {e['payee']}, {e['status']}"]
    lines.append(f"  created at height {e['height']}, tx {e['tx']}")
    if e.get("condition"):
        lines.append(f"  condition (sha256) {e['condition']}")
    if e.get("release_ms") is not None:
        lines.append(f"  releasable from {utc(e['release_ms'])}")
    lines.append(f"  cancellable by the payer from {utc(e['cancel_ms'])}")
    if e.get("closed_tx"):
        lines.append(f"  {e['status']} at height {e['closed_height']}, tx {e['closed_tx']}")
    if e.get("preimage"):
        lines.append(f"  preimage {e['preimage']}")
    if e["status"] == "open":
        lines.append(f"  now: release {'possible' if e.get('can_release') else 'not possible'}, "
                     f"cancel {'possible' if e.get('can_cancel') else 'not possible'}")  # fmt: skip
    return "\n".join(lines)


@escrow_group.command("create")
@click.argument("to")
@click.argument("amount")
@click.argument("currency")
@click.option("--condition", help="Hash lock: sha256 of the preimage, 64 hex digits.")
@click.option(
    "--new-secret",
    "fresh_secret",
    is_flag=True,
    help="Draw a secret, lock with its sha256, print it.",
)
@click.option("--release-after", help="Releasable only after this duration (e.g. 2h).")
@click.option("--release-ms", type=int, help="Releasable only from this block time (ms).")
@click.option("--cancel-after", help="The payer may cancel after this duration (e.g. 36h).")
@click.option("--cancel-ms", type=int, help="The payer may cancel from this block time (ms).")
@client_options()
def escrow_create(
    to: str,
    amount: str,
    currency: str,
    condition: str | None,
    fresh_secret: bool,
    release_after: str | None,
    release_ms: int | None,
    cancel_after: str | None,
    cancel_ms: int | None,
    session: Session,
) -> None:
    """Lock AMOUNT of CURRENCY for TO, released by a preimage and/or after a time."""
    code = currency.upper()
    minor = session.parse_amount(amount, code)
    if condition is not None and fresh_secret:
        raise TallyError("BAD_ARGUMENT", "give --condition or --new-secret, not both")
    secret = new_secret() if fresh_secret else None
    lock = condition_of(secret) if secret else None
    if condition is not None:
        lock = hex_bytes(condition, "--condition", 32)
    cancel = _moment(session, cancel_after, cancel_ms, "cancel")
    if cancel is None:
        raise TallyError(
            "BAD_ARGUMENT", "say when the payer may cancel: --cancel-after/--cancel-ms"
        )
    args: dict[str, Any] = {"currency": code, "to": to, "amount": minor, "cancel_ms": cancel}
    release = _moment(session, release_after, release_ms, "release")
    if lock is not None:
        args["condition"] = lock
    if release is not None:
        args["release_ms"] = release
    result = call(session, "escrow", "create", args)
    shown = {**args, **result, "condition": lock.hex() if lock else None}
    if secret is not None:
        shown["preimage"] = secret.hex()
    human = f"escrow {result['id']}: locked {session.format_amount(minor, code)} for {to}"
    if secret is not None:
        human += f"\n  secret (preimage) {secret.hex()}: keep it until you release the other leg"
    session.output(shown, human)


@escrow_group.command("release")
@click.argument("escrow_id")
@click.option("--preimage", help="The secret whose sha256 is the escrow's condition (hex).")
@client_options()
def escrow_release(escrow_id: str, preimage: str | None, session: Session) -> None:
    """As the payee, take the escrowed funds."""
    secret = None if preimage is None else hex_bytes(preimage, "--preimage")
    args: dict[str, Any] = {"id": escrow_id}
    if secret is not None:
        args["preimage"] = secret
    result = call(session, "escrow", "release", args)
    shown = session.format_amount(result["amount"], session.client.escrow(escrow_id)["currency"])
    session.output(result, f"released escrow {escrow_id}: {shown} to {result['to']}")


@escrow_group.command("cancel")
@click.argument("escrow_id")
@client_options()
def escrow_cancel(escrow_id: str, session: Session) -> None:
    """As the payer, take the funds back once the cancel time has come."""
    result = call(session, "escrow", "cancel", {"id": escrow_id})
    shown = session.format_amount(result["amount"], session.client.escrow(escrow_id)["currency"])
    session.output(result, f"cancelled escrow {escrow_id}: {shown} back to {result['to']}")


@escrow_group.command("show")
@click.argument("escrow_id")
@client_options(signing=False)
def escrow_show(escrow_id: str, session: Session) -> None:
    """An escrow: parties, amount, lock, times, status, and the preimage once released."""
    record = session.client.escrow(hex_bytes(escrow_id, "ESCROW_ID", 32).hex())
    session.output(record, lambda e: _describe(session, e))


@escrow_group.command("list")
@click.option("--org", required=True)
@click.option("--status", type=click.Choice(["open", "released", "cancelled"]))
@client_options(signing=False)
def escrow_list(org: str, status: str | None, session: Session) -> None:
    """An organization's escrows, as payer or payee, newest first (first page)."""
    rows = session.client.escrows(org, status)

    def human(items: list[dict[str, Any]]) -> str:
        lines = [
            f"{e['id'][:16]}  {','.join(e['roles']):<6} {e['payer']} -> {e['payee']}  "
            f"{session.format_amount(e['amount'], e['currency'])}  {e['status']}"
            for e in items
        ]
        return "\n".join(lines) or "no escrows"

    session.output(rows, human)


@escrow_group.command("secret")
@json_option
@local_errors
def escrow_secret(json_output: bool) -> None:
    """Draw a fresh 32-byte secret and print it with its condition (sha256)."""
    secret = new_secret()
    answer = {"preimage": secret.hex(), "condition": condition_of(secret).hex()}
    if json_output:
        click.echo(json.dumps(answer, sort_keys=True))
    else:
        click.echo(f"preimage  {answer['preimage']}\ncondition {answer['condition']}")


COMMANDS = [escrow_group]
