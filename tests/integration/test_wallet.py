"""The wallet against a real one-validator localnet: SDKs, keystores, proofs and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import Ed25519Key
from ledger.genesis import load_genesis
from tests.support.localnet_tools import reader_of, remember, signed_client
from wallet.async_client import AsyncClient
from wallet.client import ApiError, Client, TxFailed
from wallet.keystore import load_keystore
from wallet.localnet_keys import localnet_key as _key
from wallet.proofs import verify_proof
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

TALLY = [sys.executable, "-m", "node"]


def tally(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [*TALLY, *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@pytest.fixture(scope="module")
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    directory = tmp_path_factory.mktemp("wallet-net") / "net"
    started = tally("localnet", "up", "--nodes", "1", "--dir", str(directory))
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        info: dict[str, Any] = remember(json.loads((directory / "localnet.json").read_text()))
        info["_dir"] = str(directory)
        yield info
    finally:
        tally("localnet", "down", "--dir", str(directory))


@pytest.fixture(scope="module")
def client(localnet) -> Client:
    return signed_client(localnet["nodes"][0]["api"])


@pytest.fixture(scope="module")
def issued(localnet, client) -> dict[str, Any]:
    """bank-a issues 1,000.00 CNY to acme-steel once for the module."""
    receipt = client.call(
        _key(localnet, "bank-a"),
        "cash",
        "issue",
        {"currency": "CNY", "to": "acme-steel", "amount": 100_000},
    )
    return receipt


def test_sync_client_call_commits_and_balance_shows(client, issued) -> None:
    assert issued["status"] == "ok"
    assert client.org("acme-steel")["balances"]["CNY"] >= 100_000


def test_sync_client_failed_call_raises_tx_failed_with_the_code(localnet, client) -> None:
    with pytest.raises(TxFailed) as error:
        client.call(
            _key(localnet, "fuel-co"),
            "cash",
            "transfer",
            {"currency": "CNY", "to": "bigauto", "amount": 10**12},
        )
    assert error.value.code == "INSUFFICIENT_FUNDS"
    assert client.tx(error.value.tx_id)["status"] == "committed"


def test_unknown_org_is_an_api_error(client) -> None:
    with pytest.raises(ApiError) as error:
        client.org("no-such-org")
    assert error.value.status == 404


def test_unreachable_node_is_a_clear_error() -> None:
    with pytest.raises(ApiError) as error:
        signed_client("http://127.0.0.1:9", timeout=5).status()
    assert error.value.code == "NODE_UNREACHABLE"


def test_proof_from_the_node_verifies_offline(localnet, client, issued) -> None:
    genesis = load_genesis(localnet["genesis"])
    tx_id = issued["tx"]
    result = verify_proof(client.get_proof(tx_id), genesis, expected_tx_id=tx_id)
    assert result.ok, result.failures
    assert result.height == issued["height"]


def test_async_client_submit_wait_and_proof(localnet, issued) -> None:
    genesis = load_genesis(localnet["genesis"])
    key = _key(localnet, "acme-steel")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
        async with AsyncClient(
            localnet["nodes"][0]["api"], request_signer=reader_of(localnet["nodes"][0]["api"])
        ) as api:
            chain = await api.chain()
            height = await api.height()
            txs = [
                build_tx(
                    key,
                    chain,
                    "cash",
                    "transfer",
                    {"currency": "CNY", "to": "bigauto", "amount": 1 + i},
                    height + 100,
                )
                for i in range(5)
            ]
            results = await api.submit(txs)
            receipts = await asyncio.gather(*(api.wait_for_receipt(r["id"]) for r in results))
            proofs = await asyncio.gather(*(api.get_proof(r["id"]) for r in results))
            return results, list(receipts), list(proofs)

    results, receipts, proofs = asyncio.run(scenario())
    assert all(r["accepted"] for r in results)
    assert [r["status"] for r in receipts] == ["ok"] * 5
    for result, proof in zip(results, proofs, strict=True):
        assert verify_proof(proof, genesis, expected_tx_id=result["id"]).ok


def test_async_call_matches_sync(localnet) -> None:
    async def scenario() -> dict[str, Any]:
        async with AsyncClient(
            localnet["nodes"][0]["api"], request_signer=reader_of(localnet["nodes"][0]["api"])
        ) as api:
            return await api.call(
                _key(localnet, "bank-a"),
                "cash",
                "issue",
                {"currency": "CNY", "to": "rhein-parts", "amount": 500},
            )

    assert asyncio.run(scenario())["status"] == "ok"


# -- the CLI ------------------------------------------------------------------------------------

PASS = {"TALLY_PASSPHRASE": "integration pass"}


def test_cli_new_export_list(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    out = keys / "mine.json"
    made = tally(
        "wallet",
        "new",
        "--out",
        str(out),
        "--org",
        "acme-steel",
        "--kdf",
        "interactive",
        "--json",
        env=PASS,
    )
    assert made.returncode == 0, made.stderr
    public = json.loads(made.stdout)["public"]
    assert load_keystore(out, PASS["TALLY_PASSPHRASE"]).public.hex() == public

    shown = tally("wallet", "export", str(out))
    assert public in shown.stdout and "seed" not in shown.stdout

    revealed = tally("wallet", "export", str(out), "--reveal-seed", "--yes", "--json", env=PASS)
    seed = json.loads(revealed.stdout)["seed"]
    assert Ed25519Key.from_seed(bytes.fromhex(seed)).public.hex() == public

    listed = tally("wallet", "list", "--json", env={"TALLY_KEYS": str(keys)})
    assert [k["public"] for k in json.loads(listed.stdout)["keys"]] == [public]


def test_cli_reveal_needs_confirmation(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    tally("wallet", "new", "--out", str(out), "--kdf", "interactive", env=PASS)
    refused = tally("wallet", "export", str(out), "--reveal-seed", env=PASS, stdin="n\n")
    assert refused.returncode == 1
    assert "CANCELLED" in refused.stderr


def test_cli_wrong_passphrase_is_a_coded_error(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    tally("wallet", "new", "--out", str(out), "--kdf", "interactive", env=PASS)
    wrong = tally(
        "wallet", "export", str(out), "--reveal-seed", "--yes", env={"TALLY_PASSPHRASE": "nope"}
    )
    assert wrong.returncode == 2  # usage: the passphrase given is not this file's
    assert "error: WRONG_PASSPHRASE" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_cli_corrupt_keystore_is_a_coded_error(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    out.write_text('{"version": 4}')
    broken = tally("wallet", "export", str(out))
    assert broken.returncode == 2
    assert "error: BAD_KEYSTORE" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_cli_new_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    assert (
        tally("wallet", "new", "--out", str(out), "--kdf", "interactive", env=PASS).returncode == 0
    )
    again = tally("wallet", "new", "--out", str(out), "--kdf", "interactive", env=PASS)
    assert again.returncode == 2
    assert "KEYSTORE_EXISTS" in again.stderr


def test_cli_new_asks_twice_for_the_passphrase(tmp_path: Path) -> None:
    out = tmp_path / "k.json"
    env = {k: v for k, v in os.environ.items() if k != "TALLY_PASSPHRASE"}
    made = subprocess.run(
        [*TALLY, "wallet", "new", "--out", str(out), "--kdf", "interactive"],
        input="typed secret\ntyped secret\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    load_keystore(out, "typed secret")


def test_cli_import_seed_and_from_localnet(localnet, tmp_path: Path) -> None:
    seed = "11" * 32
    by_seed = tally(
        "wallet",
        "import",
        "--seed-hex",
        "-",
        "--out",
        str(tmp_path / "a.json"),
        "--kdf",
        "interactive",
        "--json",
        env=PASS,
        stdin=seed + "\n",
    )
    assert by_seed.returncode == 0, by_seed.stderr
    assert (
        json.loads(by_seed.stdout)["public"]
        == Ed25519Key.from_seed(bytes.fromhex(seed)).public.hex()
    )

    from_net = tally(
        "wallet",
        "import",
        "--from-localnet",
        "bank-a",
        "--localnet",
        localnet["_dir"],
        "--out",
        str(tmp_path / "b.json"),
        "--kdf",
        "interactive",
        env=PASS,
    )
    assert from_net.returncode == 0, from_net.stderr
    key = load_keystore(tmp_path / "b.json", PASS["TALLY_PASSPHRASE"])
    assert key == _key(localnet, "bank-a")

    bad = tally(
        "wallet", "import", "--seed-hex", "abc", "--out", str(tmp_path / "c.json"), env=PASS
    )
    assert bad.returncode == 2 and "BAD_SEED" in bad.stderr


def test_a_keystore_key_signs_for_its_org(localnet, client, tmp_path: Path) -> None:
    tally(
        "wallet",
        "import",
        "--from-localnet",
        "bank-a",
        "--localnet",
        localnet["_dir"],
        "--out",
        str(tmp_path / "bank.json"),
        "--kdf",
        "interactive",
        env=PASS,
    )
    key = load_keystore(tmp_path / "bank.json", PASS["TALLY_PASSPHRASE"])
    receipt = client.call(
        key, "cash", "issue", {"currency": "CNY", "to": "ore-mining", "amount": 123_456}
    )
    assert receipt["status"] == "ok"


def test_cli_balance_formats_with_currency_decimals(localnet, issued) -> None:
    shown = tally("wallet", "balance", "acme-steel", "--localnet", localnet["_dir"])
    assert shown.returncode == 0, shown.stderr
    assert "CNY" in shown.stdout and "." in shown.stdout
    as_json = json.loads(
        tally("wallet", "balance", "acme-steel", "--localnet", localnet["_dir"], "--json").stdout
    )
    row = next(r for r in as_json["balances"] if r["currency"] == "CNY")
    assert row["amount"] == f"{row['minor'] // 100:,}.{row['minor'] % 100:02d}"

    missing = tally("wallet", "balance", "nobody-here", "--localnet", localnet["_dir"])
    assert (
        missing.returncode == 1 and "error:" in missing.stderr and "Traceback" not in missing.stderr
    )


def test_cli_tx_show_and_proof(localnet, issued) -> None:
    tx_id = issued["tx"]
    shown = tally("tx", "show", tx_id, "--localnet", localnet["_dir"])
    assert shown.returncode == 0, shown.stderr
    assert "cash.issue" in shown.stdout and "committed" in shown.stdout

    checked = tally(
        "tx", "proof", tx_id, "--genesis", localnet["genesis"], "--localnet", localnet["_dir"]
    )
    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "VERIFIED" in checked.stdout and "FAIL" not in checked.stdout
    assert "certificate_signatures" in checked.stdout

    as_json = json.loads(
        tally("tx", "proof", tx_id, "--localnet", localnet["_dir"], "--json").stdout
    )
    assert as_json["ok"] is True and as_json["tx_id"] == tx_id


def test_cli_proof_against_another_genesis_fails(localnet, issued, tmp_path: Path) -> None:
    from node.ops.devnet import make_devnet

    other = tmp_path / "other-genesis.json"
    other.write_text(json.dumps(make_devnet(1, seed=b"another consortium").genesis))
    checked = tally(
        "tx", "proof", issued["tx"], "--genesis", str(other), "--localnet", localnet["_dir"]
    )
    assert checked.returncode == 1
    assert "NOT VERIFIED" in checked.stdout
    assert "FAIL validators_hash" in checked.stdout
