"""`tally demo`: a 4-bank consortium on this machine, three stories loaded, the explorer serving.

It recreates ./demo-data on every run (saying so), starts the validators and the explorer,
runs the supply-chain finance, cross-border and recourse stories as real transactions (the
last moves the block clock 100 days on, as `tally localnet time` does), prints where to look,
and waits. Ctrl-C (or SIGTERM) stops every process it started.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import click

from ledger.errors import TallyError
from node.ops import localnet, localnet_time
from node.ops.localnet_access import localnet_client
from wallet.cli.output import exit_status
from wallet.localnet_keys import localnet_keys
from wallet.recourse_story import RECOURSE_INVOICE_NO, recourse_story
from wallet.stories import (
    INVOICE_NO,
    cross_border_story,
    supply_chain_story,
)

DEMO_DIR = "demo-data"
EXPLORER_READY_S = 30.0
# The demo runs as a consortium would: every request signed (the stories as their organizations,
# the explorer as the localnet's auditor).
DEMO_ACCESS = "members"


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def _prepare(path: Path) -> None:
    if (path / localnet.LOCALNET_FILE).exists():
        stopped = localnet.down(path)
        click.echo(
            f"Recreating {path}: the previous demo's chain is removed"
            + (f" (stopped {len(stopped)} node(s) still running from it)." if stopped else ".")
        )
        shutil.rmtree(path)
    elif path.exists() and any(path.iterdir()):
        raise TallyError("DIR_NOT_EMPTY", f"{path} is not empty and holds no demo; use --dir")
    else:
        click.echo(f"Creating the demo consortium in {path}.")


def _start_explorer(path: Path, info: dict[str, Any], port: int) -> subprocess.Popen[bytes]:
    log = (path / "explorer.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node",
            "explorer",
            "--localnet",
            str(path),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + EXPLORER_READY_S
    url = f"http://127.0.0.1:{port}/"
    while True:  # the explorer answers once its socket is bound: poll with a deadline
        if process.poll() is not None:
            raise TallyError("EXPLORER_FAILED", f"the explorer exited; see {path / 'explorer.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process
        except OSError:
            if time.monotonic() > deadline:
                process.terminate()
                raise TallyError("EXPLORER_FAILED", f"no answer from {url}") from None
            time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes] | None, path: Path) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if (path / localnet.LOCALNET_FILE).exists():
        localnet.down(path, say=click.echo)


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    default=DEMO_DIR,
    show_default=True,
    help="Where the demo keeps its chain (recreated on every run).",
)
@click.option("--nodes", default=4, show_default=True, type=int, help="Validators (1, 4 or 7).")
@click.option("--explorer-port", default=8080, show_default=True, type=int)
@click.option("--no-wait", is_flag=True, help="Stop everything once the stories are loaded.")
def demo(directory: str, nodes: int, explorer_port: int, no_wait: bool) -> None:
    """Start a consortium, run the three stories, serve the explorer; Ctrl-C stops it all."""
    # Ctrl-C and SIGTERM both stop everything started, whenever they come; SIGINT is set
    # explicitly because a shell starts background jobs with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    path = Path(directory).resolve()
    explorer: subprocess.Popen[bytes] | None = None
    status = 130  # interrupted before the stories were loaded
    try:
        _prepare(path)
        click.echo(f"Starting {nodes} validator(s)…")
        info = localnet.up(path, nodes, fresh=True, access=DEMO_ACCESS, say=click.echo)
        port = _free_port(explorer_port)
        if port != explorer_port:
            click.echo(f"Port {explorer_port} is taken; the explorer uses {port}.")
        explorer = _start_explorer(path, info, port)
        with localnet.updating_info(path) as written:  # tally's writes link to its tx pages
            written["explorer"] = f"http://127.0.0.1:{port}"
        client = localnet_client(info)  # reads as the auditor; each tx signed by its org
        keys = localnet_keys(info)
        click.echo("\nSupply-chain finance: an invoice becomes cash for three tiers of suppliers")
        chain_story = supply_chain_story(client, keys, click.echo)
        click.echo("\nCross-border: a CNY→EUR payment, settled PvP, then end-of-day netting")
        border_story = cross_border_story(client, keys, click.echo)
        click.echo(
            "\nWhen things go wrong: a buyer pays 40 % and defaults; the bank that bought a piece"
            " with recourse turns it on the supplier"
        )
        troubles = recourse_story(
            client, keys, click.echo, lambda days: localnet_time.advance(path, days)
        )
        _print_ready(info, nodes, port, path, {**chain_story.ids, **troubles.ids}, border_story.ids)
        status = 0
        while not no_wait:
            signal.pause()  # until Ctrl-C or SIGTERM raises KeyboardInterrupt
    except TallyError as error:
        click.echo(f"error: {error.code}: {error.message}", err=True)
        status = exit_status(error)
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("\nStopping…")
        _stop(explorer, path)
    sys.exit(status)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _print_ready(
    info: dict[str, Any],
    nodes: int,
    port: int,
    path: Path,
    chain_ids: dict[str, str],
    border_ids: dict[str, str],
) -> None:
    api = info["nodes"][0]["api"]
    explorer_url = f"http://127.0.0.1:{port}"
    payment = border_ids["payment"]
    click.echo(
        f"""
ready: {nodes} validator(s), three stories loaded.

  Explorer   {explorer_url}/
             {explorer_url}/receivable/{chain_ids["receivable"]}
             {explorer_url}/receivable/{chain_ids["recourse_receivable"]}
             {explorer_url}/payment/{payment}
  Node API   {api}   (OpenAPI {api}/openapi.json, metrics {api}/metrics)
  Data, logs {path}

Try (tally is {Path(sys.executable).parent / "tally"}; `source .venv/bin/activate` puts it on PATH):
  tally localnet status --dir {path}
  tally receivable trace {INVOICE_NO} --localnet {path}
  tally receivable trace {RECOURSE_INVOICE_NO} --localnet {path}
  tally localnet time --dir {path}
  tally wallet balance rhein-parts --localnet {path}
  tally payment export {payment} --localnet {path}
  tally payment export {payment} --cover --localnet {path}
  tally statement bank-c EUR {border_ids["statement_date"]} --localnet {path}
  tally audit verify-chain --node {api} --genesis {info["genesis"]}

Press Ctrl-C to stop every process the demo started."""
    )


COMMANDS = [demo]
