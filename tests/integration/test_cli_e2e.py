"""The `tally` client commands as a new user meets them (issue 17), through the real entry point
against one shared four-validator localnet: node selection that never guesses, failover when
the first validator is down, one output layer (what a write committed, people's units in text,
raw minor units in --json) and the exit statuses 0/1/2/3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import Ed25519Key
from tests.support.localnet_tools import reader_of, signed_client, wait_until
from wallet.client import ApiError
from wallet.keystore import INTERACTIVE, save_keystore
from wallet.localnet_keys import localnet_key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

TALLY = [sys.executable, "-m", "node"]
NOBODY = "http://127.0.0.1:9"  # the discard port: nothing answers there


def tally(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """One `tally` command, its stdin not a terminal (as in a script or CI)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    return subprocess.run(
        [*TALLY, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**environ, **env},
        timeout=120,
    )


@pytest.fixture(scope="module")
def net(module_localnet: Any) -> dict[str, Any]:
    """Four validators; bank-a has issued 100,000.00 CNY to acme-steel."""
    info = module_localnet(4)
    issued = tally("cash", "issue", "CNY", "acme-steel", "100,000.00", "--as", "bank-a",
                   "--localnet", info["dir"])  # fmt: skip
    assert issued.returncode == 0, issued.stderr
    return info


def _balance(net: dict[str, Any], org: str, code: str = "CNY") -> int:
    balances = signed_client(net["nodes"][1]["api"]).org(org)["balances"]
    return int(balances.get(code, 0))


def test_a_missing_localnet_folder_is_a_usage_error_never_a_fallback(
    net: dict[str, Any], tmp_path: Path
) -> None:
    # The working folder holds another localnet: the old CLI silently committed there.
    shutil.copytree(
        net["dir"], tmp_path / "demo-data", ignore=shutil.ignore_patterns("validator-*")
    )
    before = _balance(net, "ore-mining")
    missing = tally("cash", "issue", "CNY", "ore-mining", "1.00", "--as", "bank-a",
                    "--localnet", "no-such-dir", cwd=tmp_path)  # fmt: skip
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "error: NO_LOCALNET: no localnet folder no-such-dir" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = tally("wallet", "balance", "acme-steel", "--localnet", "empty", "--json", cwd=tmp_path)
    assert empty.returncode == 2
    assert json.loads(empty.stdout)["error"]["code"] == "NOT_A_LOCALNET"
    gone = tally("wallet", "balance", "acme-steel", cwd=tmp_path, TALLY_LOCALNET="nope")
    assert gone.returncode == 2 and "NO_LOCALNET" in gone.stderr
    assert _balance(net, "ore-mining") == before


def test_without_node_or_localnet_the_cli_says_what_it_picked(
    net: dict[str, Any], tmp_path: Path
) -> None:
    shutil.copytree(net["dir"], tmp_path / "localnet", ignore=shutil.ignore_patterns("validator-*"))
    found = tally("wallet", "balance", "acme-steel", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert "tally: using localnet localnet/ found in the working folder" in found.stderr
    assert "CNY  100,000.00" in found.stdout
    from_env = tally("wallet", "balance", "acme-steel", cwd=tmp_path, TALLY_NODE=NOBODY)
    assert "tally: using nodes from $TALLY_NODE" in from_env.stderr
    assert from_env.returncode == 3 and "NODE_UNREACHABLE" in from_env.stderr
    named = tally("wallet", "balance", "acme-steel", "--localnet", "localnet", cwd=tmp_path)
    assert named.returncode == 0 and "tally: using" not in named.stderr


def test_a_stopped_first_node_fails_over_for_reads_and_writes(net: dict[str, Any]) -> None:
    first, second = net["nodes"][0], net["nodes"][1]
    stopped = tally("localnet", "stop", "--dir", net["dir"], first["name"])
    assert stopped.returncode == 0, stopped.stderr
    try:
        read = tally("wallet", "balance", "acme-steel", "--localnet", net["dir"])
        assert read.returncode == 0, read.stderr
        assert f"tally: {first['api']} gives no answer; trying {second['api']}" in read.stderr
        wrote = tally("cash", "issue", "CNY", "fuel-co", "12.34", "--as", "bank-a",
                      "--localnet", net["dir"], "--json")  # fmt: skip
        assert wrote.returncode == 0, wrote.stderr
        assert "gives no answer" in wrote.stderr
        assert json.loads(wrote.stdout)["status"] == "ok"
        listed = tally(
            "wallet",
            "balance",
            "fuel-co",
            "--node",
            f"{NOBODY},{second['api']}",
            "--localnet",
            net["dir"],
        )  # fmt: skip  (the keys it reads with)
        assert listed.returncode == 0 and "CNY  12.34" in listed.stdout
        none = tally("wallet", "balance", "fuel-co", "--node", NOBODY, "--node", first["api"])
        assert none.returncode == 3 and "none of the 2 nodes answers" in none.stderr
    finally:
        _restart(net, first["name"])


def _restart(net: dict[str, Any], name: str) -> None:
    """`tally localnet start` records the new pid (under localnet.json's lock: concurrent starts
    are tests/unit/test_localnet_file.py's), and the node catches up for the tests after this."""
    started = tally("localnet", "start", "--dir", net["dir"], name)
    assert started.returncode == 0, started.stdout + started.stderr
    info = json.loads((Path(net["dir"]) / "localnet.json").read_text())
    (pid,) = [entry["pid"] for entry in info["nodes"] if entry["name"] == name]
    assert pid > 0 and Path(f"/proc/{pid}").exists()
    tip = signed_client(net["nodes"][1]["api"]).height()
    wait_until(lambda: _height(net["nodes"][0]["api"]) >= tip, what=f"{name} caught up")


def _height(api: str) -> int:
    try:
        return signed_client(api, timeout=5).height()
    except ApiError:  # not up yet
        return -1


def test_resending_a_committed_tx_to_the_next_node_is_success(net: dict[str, Any]) -> None:
    """A write whose first node went down after taking it is sent again, byte for byte, to the
    next: that node answers DUPLICATE_TX, and the client waits for the receipt."""
    from wallet.failover import FailoverClient  # new in issue 17

    second = signed_client(net["nodes"][1]["api"])
    key = localnet_key(net, "bank-a")
    args = {"currency": "CNY", "to": "bigauto", "amount": 500}
    tx = build_tx(key, net["chain"], "cash", "issue", args, second.height() + 100)
    first_receipt = second.commit(tx)
    switched: list[str] = []
    signer = reader_of(net["nodes"][1]["api"])
    again = FailoverClient(
        [NOBODY, net["nodes"][1]["api"]], on_switch=switched.append, request_signer=signer
    )
    assert again.commit(tx) == first_receipt
    assert switched == [f"{NOBODY} gives no answer; trying {net['nodes'][1]['api']}"]


def test_writes_say_what_they_committed_and_json_carries_the_tx(net: dict[str, Any]) -> None:
    issued = tally("cash", "issue", "CNY", "bigauto", "1,000.00", "--as", "bank-a",
                   "--localnet", net["dir"], "--json")  # fmt: skip
    record = json.loads(issued.stdout)
    assert record["amount"] == 100_000 and record["status"] == "ok"
    assert record["receipt"]["tx"] == record["tx"] and record["height"] >= 1
    paid = tally("pay", "rhein-parts", "25.00", "CNY", "--plain", "--as", "bigauto",
                 "--localnet", net["dir"], "--json")  # fmt: skip
    plain = json.loads(paid.stdout)
    assert {"tx", "height", "status"} <= set(plain) and plain["amount"] == 2_500
    text = tally("pay", "rhein-parts", "5.00", "CNY", "--plain", "--as", "bigauto",
                 "--localnet", net["dir"])  # fmt: skip
    lines = text.stdout.splitlines()
    assert lines[0] == "paid 5.00 CNY to rhein-parts"
    tx_id = lines[1].split()[2]
    assert lines[1].startswith(f"committed tx {tx_id} in block ")
    assert lines[1].endswith(f"see tally tx show {tx_id} --localnet {net['dir']}")
    shown = tally("tx", "show", tx_id, "--localnet", net["dir"])
    (args,) = [line for line in shown.stdout.splitlines() if line.startswith("  args")]
    assert "amount=5.00 CNY" in args and "amount=500" not in args


def test_netting_show_is_text_for_people(net: dict[str, Any]) -> None:
    local = ("--localnet", net["dir"])
    opened = tally("netting", "open", "CNY", "--participants", "bank-a,bank-b", "--as", "bank-a",
                   *local, "--json")  # fmt: skip
    window = json.loads(opened.stdout)["id"]
    owed = tally("netting", "submit", window, "bank-b", "1,500.00", "--as", "bank-a", *local)
    assert owed.returncode == 0, owed.stderr
    shown = tally("netting", "show", window, *local)
    assert shown.returncode == 0 and not shown.stdout.lstrip().startswith("{")
    assert "bank-a       owes bank-b       1,500.00 CNY" in shown.stdout
    assert "closes 20" in shown.stdout and " UTC" in shown.stdout
    scripted = json.loads(tally("netting", "show", window, *local, "--json").stdout)
    assert scripted["gross"] == 150_000


def test_audit_takes_a_localnet_and_prints_people_units(net: dict[str, Any]) -> None:
    traced = tally("audit", "trace", "acme-steel", "--localnet", net["dir"])
    assert traced.returncode == 0, traced.stderr
    assert "balances: 100,000.00 CNY" in traced.stdout and "{'" not in traced.stdout
    genesis = net["genesis"]
    walked = tally(
        "audit", "verify-chain", "--localnet", net["dir"], "--genesis", genesis, "--json"
    )
    report = json.loads(walked.stdout)
    assert report["ok"], walked.stdout
    for check in ("height", "height sequence", "BLS aggregate signature", "prev link"):
        assert report["checks_passed"][check] == report["blocks_checked"]
    people = tally("audit", "verify-chain", "--localnet", net["dir"], "--genesis", genesis)
    assert f"  ok    height{' ' * 18} {report['blocks_checked']} block(s)" in people.stdout


def test_governance_signs_with_the_role_asked_and_limits_in_people_units(
    net: dict[str, Any],
) -> None:
    limit = ("set_limit", "--param", "org=fuel-co", "--param", "currency=CNY")
    # An amount the old CLI read too (as minor units): there, the admin key signed anyway.
    operator = tally("governance", "propose", *limit, "--param", "amount=5000", "--as", "bank-a",
                     "--role", "operator", "--localnet", net["dir"])  # fmt: skip
    assert operator.returncode == 1 and "NOT_AUTHORIZED" in operator.stderr
    admin = tally("governance", "propose", *limit, "--param", "amount=5,000.00", "--as", "bank-a",
                  "--localnet", net["dir"], "--json")  # fmt: skip
    assert admin.returncode == 0, admin.stderr
    proposal_id = json.loads(admin.stdout)["id"]
    listed = json.loads(tally("governance", "list", "--localnet", net["dir"], "--json").stdout)
    (proposal,) = [p for p in listed["proposals"] if p["id"] == proposal_id]
    assert proposal["params"]["amount"] == 500_000 and proposal["proposer"] == "bank-a"


def test_signer_mistakes_are_usage_errors_before_any_prompt(
    net: dict[str, Any], tmp_path: Path
) -> None:
    both = tally("cash", "redeem", "CNY", "1.00", "--as", "bank-a", "--keystore", "k.json",
                 "--localnet", net["dir"])  # fmt: skip
    assert both.returncode == 2 and "SIGNER_CONFLICT" in both.stderr
    missing = str(tmp_path / "nowhere.keystore.json")
    absent = tally("cash", "redeem", "CNY", "1.00", "--keystore", missing, "--localnet", net["dir"])
    assert absent.returncode == 2
    assert absent.stderr == f"error: KEYSTORE_IO: no keystore at {missing}\n"
    bad = tally("cash", "issue", "CNY", "acme-steel", "1.2.3", "--as", "bank-a",
                "--localnet", net["dir"])  # fmt: skip
    assert bad.returncode == 2 and "BAD_AMOUNT" in bad.stderr


def test_proof_save_payment_list_and_refusal_statuses(net: dict[str, Any], tmp_path: Path) -> None:
    local = ("--localnet", net["dir"])
    paid = json.loads(tally("pay", "rhein-parts", "7.00", "CNY", "--as", "acme-steel", *local,
                            "--json").stdout)  # fmt: skip
    saved = tmp_path / "proof.json"
    proof = tally("tx", "proof", paid["tx"], "--save", str(saved), *local)
    assert proof.returncode == 0, proof.stderr
    assert f"wrote the proof of tx {paid['tx']} to {saved}" in proof.stderr
    offline = tally("proof", "verify", str(saved), "--genesis", net["genesis"])
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert f"VERIFIED: tx {paid['tx']} at height {paid['height']}" in offline.stdout
    other = tally("proof", "verify", str(saved), "--genesis", net["genesis"], "--tx", "00" * 32)
    assert other.returncode == 1 and "NOT VERIFIED" in other.stdout
    listed = tally("payment", "list", "acme-steel", *local)
    assert listed.returncode == 0, listed.stderr
    assert "acme-steel -> rhein-parts  7.00 CNY" in listed.stdout
    broke = tally("pay", "bigauto", "1,000,000,000.00", "CNY", "--plain", "--as", "fuel-co",
                  *local)  # fmt: skip
    assert broke.returncode == 1 and "INSUFFICIENT_FUNDS" in broke.stderr


def test_reads_sign_as_the_localnets_auditor_unless_told_otherwise(net: dict[str, Any]) -> None:
    """A reading command signs as audit-co and says so; `--as ORG` reads what ORG may."""
    audited = tally("wallet", "balance", "bigauto", "--localnet", net["dir"], "--json")
    assert audited.returncode == 0, audited.stderr
    assert "reading as audit-co, the localnet's auditor" in audited.stderr
    json.loads(audited.stdout)  # the note is on stderr: stdout stays one JSON document
    other = tally("wallet", "balance", "bigauto", "--localnet", net["dir"], "--as", "acme-steel")
    assert other.returncode != 0 and "NOT_FOUND" in other.stderr, other.stderr
    own = tally("wallet", "balance", "acme-steel", "--localnet", net["dir"], "--as", "acme-steel")
    assert own.returncode == 0 and "reading as" not in own.stderr, own.stderr


def test_the_consortium_removes_a_compromised_key_and_the_api_refuses_it(
    net: dict[str, Any], tmp_path: Path
) -> None:
    """governance propose remove_key: once the vote passes, the key's next request is 401."""
    leaked = Ed25519Key.from_seed(bytes(range(1, 33)))
    client = signed_client(net["nodes"][0]["api"])
    add = {"org": "fuel-co", "public": leaked.public, "role": "viewer"}
    client.call(localnet_key(net, "fuel-co", "admin"), "registry", "add_key", add)
    keystore = tmp_path / "leaked.keystore.json"
    save_keystore(keystore, leaked, "pw", org="fuel-co", cost=INTERACTIVE)
    status = ("node", "status", "--keystore", str(keystore), "--localnet", net["dir"])
    assert tally(*status, TALLY_PASSPHRASE="pw").returncode == 0
    proposed = tally("governance", "propose", "remove_key", "--param", "org=fuel-co",
                     "--param", f"public={leaked.public.hex()}", "--as", "bank-a",
                     "--localnet", net["dir"], "--json")  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    proposal_id = json.loads(proposed.stdout)["id"]
    for bank in ("bank-b", "bank-c"):
        approved = tally("governance", "approve", proposal_id, "--as", bank, "--localnet",
                         net["dir"])  # fmt: skip
        assert approved.returncode == 0, approved.stderr
    refused = tally(*status, TALLY_PASSPHRASE="pw")
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr, refused.stderr
