"""`tally demo`: a one-validator localnet in ./demo-data, some money moving, then it waits.

It issues deposit tokens and makes a few transfers through the SDK, so the API, the explorer
and the wallet commands have something to show; Ctrl-C stops every node it started.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from ledger.crypto import Ed25519Key
from ledger.errors import TallyError
from node import localnet
from wallet.amounts import format_amount
from wallet.client import Client

DEMO_DIR = "demo-data"

# (signer org, method, currency, payee, amount in minor units, memo)
STORY: list[tuple[str, str, str, str, int, str]] = [
    ("bank-a", "issue", "CNY", "bigauto", 50_000_000, ""),
    ("bank-a", "issue", "CNY", "acme-steel", 10_000_000, ""),
    ("bank-b", "issue", "EUR", "rhein-parts", 2_000_000, ""),
    ("bigauto", "transfer", "CNY", "acme-steel", 12_500_000, "PO 7781"),
    ("acme-steel", "transfer", "CNY", "ore-mining", 4_000_000, "ore, lot 12"),
    ("acme-steel", "transfer", "CNY", "fuel-co", 1_500_000, ""),
    ("rhein-parts", "transfer", "EUR", "bank-b", 250_000, "fees"),
]
DECIMALS = {"CNY": 2, "EUR": 2}


def _operator_keys(info: dict[str, Any]) -> dict[str, Ed25519Key]:
    keys = {}
    for org in info["orgs"]:
        for key in org["keys"]:
            if key["role"] == "operator":
                keys[org["id"]] = Ed25519Key.from_seed(bytes.fromhex(key["seed"]))
    return keys


def _start(directory: Path) -> dict[str, Any]:
    if (directory / localnet.LOCALNET_FILE).exists():
        try:
            return localnet.up(directory, 1, say=click.echo)
        except TallyError as error:
            click.echo(f"Cannot reuse {directory} ({error.message}); recreating it.")
    return localnet.up(directory, 1, fresh=True, say=click.echo)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(3600):
        pass


@click.command("demo")
@click.option("--dir", "directory", default=DEMO_DIR, show_default=True)
def demo(directory: str) -> None:
    """Start a demo network, move some money, and keep it running until Ctrl-C."""
    path = Path(directory).resolve()
    try:
        info = _start(path)
    except TallyError as error:
        click.echo(f"error: {error.code}: {error.message}", err=True)
        sys.exit(1)
    api = info["nodes"][0]["api"]
    try:
        client = Client(api)
        keys = _operator_keys(info)
        for step, (org, method, code, payee, amount, memo) in enumerate(STORY, 1):
            args: dict[str, Any] = {"currency": code, "to": payee, "amount": amount}
            if memo:
                args["memo"] = memo
            receipt = client.call(keys[org], "cash", method, args)
            words = "issues" if method == "issue" else "pays"
            money = format_amount(amount, DECIMALS[code], code)
            click.echo(
                f"  [{step}/{len(STORY)}] {org} {words} {payee} {money}: "
                f"block {receipt['height']}, tx {receipt['tx'][:16]}…"
            )
    except TallyError as error:
        click.echo(f"error: {error.code}: {error.message}", err=True)
        localnet.down(path)
        sys.exit(1)
    name = info["nodes"][0]["name"]
    click.echo(
        f"""
Node API:  {api}   (OpenAPI at {api}/openapi.json, metrics at {api}/metrics)
Logs:      {path / name / localnet.LOG_FILE}

Try:
  curl {api}/v1/status
  curl {api}/v1/orgs/acme-steel
  curl '{api}/v1/events?after=0&limit=5'
  tally localnet status --dir {path}

Press Ctrl-C to stop the network (its data stays in {path})."""
    )
    try:
        _wait_for_interrupt()
    finally:
        click.echo("\nStopping…")
        localnet.down(path, say=click.echo)


COMMANDS = [demo]
