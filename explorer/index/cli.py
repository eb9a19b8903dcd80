"""`tally index`: follow a node into a verified SQL index; `tally index export|status`.

`tally index --node URL --genesis FILE --db URL` runs the follower (forever, or to the tip with
`--once`, or to `--until H`), signing its requests as `--keystore FILE` (an auditor's, for a
real consortium) or as `--localnet DIR`'s auditor (`--as ORG` for another; wallet/cli/reader.py).
`tally index export txs|movements|statement --db URL ...` streams CSV or JSON lines of a
filtered list or of a statement to stdout or `--output`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click

from explorer.index import export, queries
from explorer.index.db import Database, connect
from ledger.errors import TallyError
from ledger.genesis import load_genesis
from wallet.cli import reader
from wallet.cli.common import report_error
from wallet.cli.nodes import find_localnet, read_localnet

DEFAULT_DB = "sqlite:///tally-index.db"


def _fail(error: TallyError, as_json: bool) -> None:
    report_error(error, as_json)
    sys.exit(1)


def _progress_printer(as_json: bool) -> Callable[[Any], None]:
    def show(progress: Any) -> None:
        if as_json:
            return
        click.echo(
            f"indexed block {progress.height} of {progress.tip} "
            f"({progress.written} this run, {progress.reconciled} balances proved)",
            err=True,
        )

    return show


async def _run(options: dict[str, Any]) -> dict[str, Any]:
    from explorer.index.follower import Follower
    from explorer.index.writer import IndexWriter
    from wallet.async_client import AsyncClient

    genesis = load_genesis(options["genesis_path"])
    db = connect(options["db"])
    try:
        async with AsyncClient(
            options["node"], genesis=genesis, request_signer=options["request_signer"]
        ) as client:
            follower = Follower(
                client,
                genesis,
                IndexWriter(db, genesis),
                batch_blocks=options["batch"],
                reconcile=options["reconcile"],
                on_progress=_progress_printer(options["as_json"]),
            )
            start = follower.open().height
            if options["once"]:
                height = await follower.catch_up(options["until"])
            else:
                height = await follower.follow(options["until"])
            return {
                "ok": True,
                "from": start,
                "height": height,
                "tip": follower.tip,
                "written": follower.written,
                "reconciled": follower.reconciled,
            }
    finally:
        db.close()


@click.group("index", invoke_without_command=True)
@click.option("--node", help="Node API URL to follow, e.g. http://127.0.0.1:8700")
@click.option(
    "--genesis",
    "genesis_path",
    type=click.Path(dir_okay=False),
    help="The consortium's genesis.json: every block is verified against it.",
)
@click.option(
    "--db",
    default=DEFAULT_DB,
    show_default=True,
    help="sqlite:///path or postgresql://user@host/dbname",
)
@click.option("--once", is_flag=True, help="Index up to the node's tip, then stop.")
@click.option("--until", type=int, help="Stop once this height is indexed.")
@click.option(
    "--batch",
    default=200,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Blocks written per database transaction.",
)
@click.option(
    "--reconcile/--no-reconcile",
    default=True,
    show_default=True,
    help="Check each batch's balances against state proofs before writing it.",
)
@click.option(
    "--localnet",
    "localnet_dir",
    help="A localnet's folder: read as its auditor (and follow its first node, without --node).",
)
@click.option("--as", "as_org", help="Read as this localnet organization instead.")
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False),
    help="Read as the organization of this keystore (an auditor's sees everything).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def index_group(ctx: click.Context, /, **options: Any) -> None:
    """Follow NODE's chain into a verified, filterable index (SQLite or PostgreSQL)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        _sign_in(options)
    except TallyError as error:
        _fail(error, options["as_json"])
    if not options["node"] or not options["genesis_path"]:
        _fail(
            TallyError("BAD_ARGUMENT", "tally index needs --node and --genesis"), options["as_json"]
        )
    try:
        summary = asyncio.run(_run(options))
    except TallyError as error:
        _fail(error, options["as_json"])
        return
    except KeyboardInterrupt:
        sys.exit(130)
    if options["as_json"]:
        click.echo(json.dumps(summary, sort_keys=True))
    else:
        click.echo(f"index at block {summary['height']} (node tip {summary['tip']})")


def _sign_in(options: dict[str, Any]) -> None:
    """Who the follower's requests are signed as (wallet/cli/reader.py; with no --localnet the
    lookup of wallet/cli/nodes.py finds the keys), and its node: --node, else the localnet's
    first."""
    localnet_dir, keystore = options.pop("localnet_dir"), options.pop("keystore")
    if localnet_dir is None and keystore is None:  # $TALLY_LOCALNET, ./localnet, ./demo-data
        found = find_localnet()
        localnet_dir = None if found is None else str(found["_dir"])
    options["request_signer"] = reader.chosen_signer(localnet_dir, options.pop("as_org"), keystore)
    if localnet_dir and not options["node"]:  # the localnet named or found
        options["node"] = read_localnet(localnet_dir)["nodes"][0]["api"]


@contextmanager
def _database(url: str, as_json: bool) -> Iterator[Database]:
    try:
        db = connect(url)
    except TallyError as error:
        _fail(error, as_json)
        raise
    try:
        yield db
    finally:
        db.close()


def _filters(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--db", default=DEFAULT_DB, show_default=True, help="The index database."),
        click.option("--org", default="", help="Organization (sender or recipient)."),
        click.option("--contract", default=""),
        click.option("--method", default=""),
        click.option("--status", type=click.Choice(["", "ok", "failed"]), default=""),
        click.option("--currency", default=""),
        click.option("--from-height", type=click.IntRange(0), default=None),
        click.option("--to-height", type=click.IntRange(0), default=None),
        click.option("--since", default="", help="First day, YYYY-MM-DD (UTC)."),
        click.option("--until", default="", help="Last day, YYYY-MM-DD (UTC), inclusive."),
        click.option("--format", "fmt", type=click.Choice(export.FORMATS), default="csv"),
        click.option("--output", type=click.Path(dir_okay=False), help="File (default: stdout)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _write(text: Iterator[str], output: str | None) -> None:
    stream: TextIO
    with open(output, "w", encoding="utf-8", newline="") if output else _stdout() as stream:
        for line in text:
            stream.write(line)


@contextmanager
def _stdout() -> Iterator[TextIO]:
    yield sys.stdout
    sys.stdout.flush()


def _filter_of(options: dict[str, Any]) -> queries.TxFilter:
    """The filter of the command's options, which carry its field names (all but `after`)."""
    names = (f.name for f in dataclasses.fields(queries.TxFilter) if f.name != "after")
    return queries.TxFilter(**{name: options[name] for name in names})


@index_group.group("export")
def export_group() -> None:
    """Stream a filtered list or a statement as CSV or JSON lines."""


@export_group.command("txs")
@_filters
def export_txs(**options: Any) -> None:
    """Transactions matching the filters, in chain order."""
    with _database(options["db"], False) as db:
        try:
            decimals = queries.decimals(db)
            rows = queries.txs(db, _filter_of(options), limit=None)
            records = (export.tx_record(row, decimals) for row in rows)
            _write(export.lines(records, export.TX_FIELDS, options["fmt"]), options["output"])
        except TallyError as error:
            _fail(error, False)


@export_group.command("movements")
@_filters
def export_movements(**options: Any) -> None:
    """Balance movements (one row per side) matching the filters, with running balances."""
    with _database(options["db"], False) as db:
        try:
            decimals = queries.decimals(db)
            rows = queries.movements(db, _filter_of(options), limit=None)
            records = (export.movement_record(row, decimals) for row in rows)
            _write(export.lines(records, export.MOVEMENT_FIELDS, options["fmt"]), options["output"])
        except TallyError as error:
            _fail(error, False)


@export_group.command("statement")
@_filters
def export_statement(**options: Any) -> None:
    """ORG's statement in CURRENCY over --since..--until: opening balance on stderr (and in
    the JSON header line), every movement, closing balance."""
    with _database(options["db"], False) as db:
        try:
            summary = queries.statement(
                db, options["org"], options["currency"], options["since"], options["until"]
            )
            decimals = queries.decimals(db)
            f = queries.statement_filter(
                summary.org, summary.currency, summary.since, summary.until
            )
            records = (
                export.movement_record(row, decimals) for row in queries.movements(db, f, None)
            )
            _write(export.lines(records, export.MOVEMENT_FIELDS, options["fmt"]), options["output"])
        except TallyError as error:
            _fail(error, False)
    click.echo(
        f"statement {summary.org} {summary.currency}: opening {summary.opening}, "
        f"{summary.count} movement(s), closing {summary.closing} (minor units)",
        err=True,
    )


@index_group.command("status")
@click.option("--db", default=DEFAULT_DB, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def status_command(db: str, as_json: bool) -> None:
    """Where the index stands: chain, height, rows per table."""
    with _database(db, as_json) as database:
        try:
            answer = queries.status(database)
        except TallyError as error:
            _fail(error, as_json)
            return
    click.echo(
        json.dumps(answer, sort_keys=True)
        if as_json
        else " ".join(f"{k}={v}" for k, v in answer.items())
    )


@index_group.command("statement")
@click.option("--db", default=DEFAULT_DB, show_default=True)
@click.option("--org", required=True)
@click.option("--currency", required=True)
@click.option("--since", default="")
@click.option("--until", default="")
@click.option("--json", "as_json", is_flag=True)
def statement_command(**options: Any) -> None:
    """ORG's opening balance, movements count and closing balance in CURRENCY."""
    with _database(options["db"], options["as_json"]) as db:
        try:
            summary = queries.statement(
                db, options["org"], options["currency"], options["since"], options["until"]
            )
        except TallyError as error:
            _fail(error, options["as_json"])
            return
    fields = {name: getattr(summary, name) for name in summary.__slots__}
    click.echo(
        json.dumps(fields, sort_keys=True)
        if options["as_json"]
        else " ".join(f"{k}={v}" for k, v in fields.items())
    )


COMMANDS: list[click.Command] = [index_group]
