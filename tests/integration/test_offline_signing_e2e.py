"""Offline signing end to end (issue 17): `tally tx build` next to a node, `tally tx sign
--offline` in a process with no network at all (its own network namespace, `unshare -n`, where
not even the node's loopback address exists), `tally tx submit` through the failover client.

Needs root for `unshare -n`, as CI has; skipped with the reason otherwise, except under CI=true
where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.localnet_tools import signed_client
from wallet.keystore import INTERACTIVE, save_keystore
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

PASSPHRASE = "correct horse battery staple"
CONNECT = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)"


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    return subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**environ, **env},
        timeout=120,
    )


def tally(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run(sys.executable, "-m", "node", *args, **env)


def _offline_prefix() -> list[str]:
    """`unshare -n`: the command runs in a new network namespace with no interface up."""
    probe = _run("unshare", "-n", "true") if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        reason = "unshare -n needs root (CAP_SYS_ADMIN) and util-linux"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the offline signing test: {reason}")
        pytest.skip(reason)
    return ["unshare", "-n"]


@pytest.fixture(scope="module")
def net(module_localnet: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One validator, and bank-a's operator key in a keystore."""
    info = module_localnet(1)
    keystore = tmp_path_factory.mktemp("keys") / "bank-a.json"
    save_keystore(keystore, localnet_key(info, "bank-a"), PASSPHRASE, cost=INTERACTIVE)
    return {**info, "keystore": str(keystore)}


def _balance(net: dict[str, Any]) -> int:
    return int(signed_client(net["nodes"][0]["api"]).org("acme-steel")["balances"].get("CNY", 0))


def test_build_sign_offline_in_a_namespace_submit(net: dict[str, Any], tmp_path: Path) -> None:
    offline = _offline_prefix()
    unsigned, signed = str(tmp_path / "unsigned.json"), str(tmp_path / "signed.json")
    before = _balance(net)
    built = tally("tx", "build", "cash", "issue", "--arg", "currency=CNY",
                  "--arg", "to=acme-steel", "--arg", "amount=12345",
                  "--keystore", net["keystore"], "-o", unsigned,
                  "--localnet", net["dir"])  # fmt: skip
    assert built.returncode == 0, built.stderr
    body = json.loads(Path(unsigned).read_text())
    assert body["args"] == {"currency": "CNY", "to": "acme-steel", "amount": 12345}
    assert body["chain"] and body["valid_until"] > 0 and "nonce" in body

    # The signing process's namespace cannot reach the node: shown, then the signing done there.
    reach = _run(*offline, sys.executable, "-c", CONNECT, net["nodes"][0]["api"] + "/v1/status")
    assert reach.returncode != 0 and "URLError" in reach.stderr, reach.stderr
    signing = _run(*offline, sys.executable, "-m", "node", "tx", "sign", unsigned, "--offline",
                   "--keystore", net["keystore"], "-o", signed,
                   TALLY_PASSPHRASE=PASSPHRASE)  # fmt: skip
    assert signing.returncode == 0, signing.stdout + signing.stderr
    assert json.loads(Path(signed).read_text())["tx"] == body["tx"]
    assert _balance(net) == before  # signing sent nothing anywhere

    sent = tally("tx", "submit", signed, "--localnet", net["dir"], "--json")
    assert sent.returncode == 0, sent.stderr
    record = json.loads(sent.stdout)
    assert (record["tx"], record["status"]) == (body["tx"], "ok") and record["height"] > 0
    assert _balance(net) == before + 12345
    _typed_results_agree(net, record)
    again = tally("tx", "submit", signed, "--localnet", net["dir"])  # idempotent by tx id
    assert again.returncode == 0, again.stderr
    assert f"committed tx {body['tx']} in block {record['height']}" in again.stdout
    assert _balance(net) == before + 12345


def _typed_results_agree(net: dict[str, Any], record: dict[str, Any]) -> None:
    """The SDK's typed results (wallet/results.py) of the tx just committed, with `.raw`."""
    client = signed_client(net["nodes"][0]["api"])
    status = client.tx_status(record["tx"])
    assert status.status == "committed" and status.receipt is not None and status.receipt.ok
    assert (status.receipt.tx, status.receipt.height) == (record["tx"], record["height"])
    assert status.raw["receipt"] == record["receipt"]
    assert record["tx"] in client.block_summary(record["height"]).txs
    org = client.org_info("acme-steel")
    assert org.balances["CNY"] == int(org.raw["balances"]["CNY"])


def test_offline_sign_takes_no_node_and_wants_offline(net: dict[str, Any], tmp_path: Path) -> None:
    unsigned = str(tmp_path / "unsigned.json")
    built = tally("tx", "build", "cash", "issue", "--arg", "currency=CNY", "--arg", "to=x",
                  "--arg", "amount=1", "--keystore", net["keystore"], "-o", unsigned,
                  "--node", net["nodes"][0]["api"], "--localnet", net["dir"])  # fmt: skip
    assert built.returncode == 0, built.stderr  # it read the chain as the localnet's auditor
    out = str(tmp_path / "signed.json")
    with_node = tally("tx", "sign", unsigned, "--offline", "--keystore", net["keystore"], "-o",
                      out, "--node", net["nodes"][0]["api"],
                      TALLY_PASSPHRASE=PASSPHRASE)  # fmt: skip
    assert with_node.returncode == 2 and "talks to no node" in with_node.stderr
    online = tally("tx", "sign", unsigned, "--keystore", net["keystore"], "-o", out,
                   TALLY_PASSPHRASE=PASSPHRASE)  # fmt: skip
    assert online.returncode == 2 and "say --offline" in online.stderr
    assert not Path(out).exists()
