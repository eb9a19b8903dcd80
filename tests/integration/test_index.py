"""`tally index` against a real 4-validator localnet with both stories, into SQLite and into a
real PostgreSQL server: statements agree with the node's balances to the minor unit, an
indexer killed with SIGKILL mid-way resumes to identical tables, a tampered block is refused,
and a CSV export checks row by row against the chain."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from explorer.index.db import connect
from explorer.index.export import decimal_text
from explorer.index.queries import statement
from tests.support.localnet_tools import signed_client
from tests.support.postgres import PostgresServer, postgres_server
from wallet.client import TxFailed
from wallet.localnet_keys import localnet_keys
from wallet.stories import cross_border_story, supply_chain_story

pytestmark = pytest.mark.slow

TALLY = str(Path(sys.executable).with_name("tally"))
ROOT = Path(__file__).resolve().parents[2]
TABLES = ("blocks", "txs", "events", "movements", "balances", "org_keys", "pieces",
          "piece_history", "payments", "fx_quotes", "netting_windows", "netting_obligations",
          "proposals", "proposal_approvals", "validator_changes", "index_meta")  # fmt: skip
ENGINES = ("sqlite", "postgresql")


def tally(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def chain(module_localnet: Any) -> dict[str, Any]:
    """Four validators, the supply-chain and cross-border stories, and one failed transfer."""
    net = module_localnet(4)
    client = signed_client(net["nodes"][0]["api"])
    keys = localnet_keys(net)
    supply_chain_story(client, keys, lambda _: None)
    cross_border_story(client, keys, lambda _: None)
    with pytest.raises(TxFailed) as failed:
        client.call(keys["fuel-co"], "cash", "transfer",
                    {"currency": "EUR", "to": "bigauto", "amount": 10**9})  # fmt: skip
    return {**net, "api": net["nodes"][0]["api"], "failed_tx": failed.value.tx_id,
            "tip": int(client.status()["height"])}  # fmt: skip


_databases: dict[str, int] = {}


def fresh_db(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new, empty index database of `engine`."""
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'index.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    _databases[engine] = _databases.get(engine, 0) + 1
    return server.create_database(f"index_{_databases[engine]}")


@pytest.fixture(autouse=True)
def _tally_reads_as_the_auditor(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """`tally index` finds the localnet's keys by $TALLY_LOCALNET: it signs as its auditor."""
    if "chain" in request.fixturenames:
        directory = request.getfixturevalue("chain")["dir"]
        monkeypatch.setenv("TALLY_LOCALNET", directory)


def index_once(chain: dict[str, Any], db: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return tally("index", "--node", chain["api"], "--genesis", chain["genesis"], "--db", db,
                 "--once", "--json", *extra)  # fmt: skip


def dump(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted: two indexes are the same when their dumps are."""
    db = connect(db_url)
    try:
        return {table: sorted(db.all(f"SELECT * FROM {table}"), key=repr) for table in TABLES}
    finally:
        db.close()


@pytest.fixture(scope="module")
def reference(chain: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chain indexed once into SQLite, in one run: what every other index must equal."""
    db = f"sqlite:///{tmp_path_factory.mktemp('reference') / 'index.db'}"
    result = index_once(chain, db)
    assert result.returncode == 0, result.stdout + result.stderr
    return db


@pytest.mark.parametrize("engine", ENGINES)
def test_statements_agree_with_the_nodes_balances_to_the_minor_unit(
    engine: str, chain: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = fresh_db(engine, tmp_path, request)
    result = index_once(chain, db_url)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["height"] == summary["tip"] == chain["tip"]
    assert summary["reconciled"] > 0  # balances were checked against state proofs
    db = connect(db_url)
    try:
        orgs = signed_client(chain["api"]).orgs()
        checked = 0
        for org in orgs:
            for currency, balance in org["balances"].items():
                assert statement(db, org["id"], currency).closing == balance, (org["id"], currency)
                checked += 1
        assert checked >= 10
        failed = db.one("SELECT status, error_code FROM txs WHERE id = ?", (chain["failed_tx"],))
        assert failed == ("failed", "INSUFFICIENT_FUNDS")
        windows = db.all("SELECT status, gross, net FROM netting_windows")
        assert windows == [("settled", 650_000, 200_000)]
        assert db.one("SELECT COUNT(*) FROM txs") == (
            sum(int(row[0]) for row in db.all("SELECT txs FROM blocks")),
        )
    finally:
        db.close()
    assert dump(db_url) == dump(request.getfixturevalue("reference"))


def start_proxy(module: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    proxy = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
    )  # fmt: skip
    assert proxy.stdout is not None
    return proxy, proxy.stdout.readline().split()[-1]


def kill_after(node: str, chain: dict[str, Any], db_url: str, height: int) -> None:
    """Run the follower (one block per transaction) and SIGKILL it once it says it has
    committed `height` (or more)."""
    process = subprocess.Popen(
        [TALLY, "index", "--node", node, "--genesis", chain["genesis"], "--db", db_url,
         "--batch", "1"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        for line in process.stderr:  # "indexed block N of TIP ..." after each committed batch
            if line.startswith("indexed block") and int(line.split()[2]) >= height:
                break
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)


def at_boundary(db_url: str) -> int:
    """The cursor, checked to be the last block written (nothing of a later block is)."""
    tables = dump(db_url)
    height = int(dict(tables["index_meta"])["height"])
    assert max((row[0] for row in tables["blocks"]), default=0) == height
    assert max((row[1] for row in tables["txs"]), default=0) <= height
    assert max((row[0] for row in tables["movements"]), default=0) <= height
    return height


@pytest.mark.parametrize("engine", ENGINES)
def test_an_indexer_killed_mid_way_resumes_to_identical_tables(
    engine: str, chain: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = fresh_db(engine, tmp_path, request)
    middle = chain["tip"] // 2
    # first, killed at a known height: the node behind the proxy never serves block middle+1
    proxy, url = start_proxy("tests.support.stall_proxy", "--upstream", chain["api"],
                             "--height", str(middle))  # fmt: skip
    try:
        kill_after(url, chain, db_url, middle)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
    assert at_boundary(db_url) == middle
    # then killed wherever it happens to be (perhaps inside a transaction) right after it went on
    kill_after(chain["api"], chain, db_url, middle + 1)
    height = at_boundary(db_url)
    assert middle + 1 <= height <= chain["tip"]
    resumed = index_once(chain, db_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(resumed.stdout)["from"] == height
    assert dump(db_url) == dump(request.getfixturevalue("reference"))


@pytest.mark.parametrize("mode", ["agg_sig", "header"])
def test_a_block_with_a_tampered_certificate_is_refused_and_nothing_of_it_written(
    mode: str, chain: dict[str, Any], tmp_path: Path
) -> None:
    proxy, url = start_proxy("tests.browser.tamper_proxy", "--upstream", chain["api"],
                             "--port", "0", "--height", "5", "--mode", mode)  # fmt: skip
    try:
        db_url = f"sqlite:///{tmp_path / 'index.db'}"
        result = tally("index", "--node", url, "--genesis", chain["genesis"], "--db", db_url,
                       "--once", "--batch", "2", "--json")  # fmt: skip
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "BLOCK_REFUSED"
    assert "block 5 failed verification" in error["message"]
    expected = "BLS aggregate signature" if mode == "agg_sig" else "block hash"
    assert expected in error["message"], error["message"]
    tables = dump(db_url)
    assert dict(tables["index_meta"])["height"] == "4"  # blocks 1-4 in two batches, then refused
    assert [row[0] for row in tables["blocks"]] == [1, 2, 3, 4]
    assert all(row[1] <= 4 for row in tables["txs"])


def test_a_csv_statement_export_checks_row_by_row_against_the_chain(
    chain: dict[str, Any], reference: str, tmp_path: Path
) -> None:
    client = signed_client(chain["api"])
    decimals = {c["code"]: int(c["decimals"]) for c in client.currencies()}
    balances = {org["id"]: org["balances"] for org in client.orgs()}
    for org, currency in (("bigauto", "CNY"), ("bank-c", "EUR"), ("acme-steel", "CNY")):
        out = tmp_path / f"{org}-{currency}.csv"
        result = tally("index", "export", "statement", "--db", reference, "--org", org,
                       "--currency", currency, "--output", str(out))  # fmt: skip
        assert result.returncode == 0, result.stderr
        with out.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, f"no movements of {org} in {currency}"
        running = 0
        for row in rows:
            tx = client.tx(row["tx_id"])
            assert tx["status"] == "committed" and tx["receipt"]["height"] == int(row["height"])
            assert row["method"] == f"{tx['tx']['contract']}.{tx['tx']['method']}"
            assert row["status"] == tx["receipt"]["status"] == "ok"
            assert row["currency"] == currency and org in (row["from"], row["to"])
            minor = int(row["amount_minor"])
            assert row["amount"] == decimal_text(minor, decimals[currency])
            running += minor if row["to"] == org else -minor
            assert int(row["balance_minor"]) == running
            assert row["balance"] == decimal_text(running, decimals[currency])
            assert row["time"].startswith(row["time"][:10]) and row["time"].endswith("Z")
        assert running == balances[org][currency]
    jsonl = tally("index", "export", "txs", "--db", reference, "--status", "failed",
                  "--format", "jsonl")  # fmt: skip
    (line,) = jsonl.stdout.splitlines()
    assert json.loads(line)["tx_id"] == chain["failed_tx"]
    assert json.loads(line)["error_code"] == "INSUFFICIENT_FUNDS"
