"""`tally audit` against a real node: a clean chain verifies; a lying node fails by height."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.story import load
from tests.support.localnet_tools import signed_client

pytestmark = pytest.mark.slow

TALLY = str(Path(sys.executable).with_name("tally"))
ROOT = Path(__file__).resolve().parents[2]  # where `python -m tests.browser.tamper_proxy` runs


def tally(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TALLY, *args], capture_output=True, text=True, timeout=120)


def test_audit_commands_verify_a_chain_and_trace_its_history(
    localnet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = localnet(1)
    monkeypatch.setenv("TALLY_LOCALNET", net["dir"])  # --node commands read with its keys
    node = net["nodes"][0]["api"]
    story = load(signed_client(node), net)

    chain = tally("audit", "verify-chain", "--node", node, "--genesis", net["genesis"], "--json")
    assert chain.returncode == 0, chain.stdout + chain.stderr
    report = json.loads(chain.stdout)
    assert report["ok"] and report["blocks_checked"] == report["tip"] >= len(story.tx_ids)
    for check in ("BLS aggregate signature", "prev link", "txs_root", "receipts_root", "chain"):
        assert report["checks_passed"][check] == report["tip"]

    human = tally("audit", "verify-chain", "--node", node, "--genesis", net["genesis"])
    assert human.returncode == 0 and "verified" in human.stdout

    proof = tally("audit", "verify-tx", story.tx_ids[-1], "--node", node,
                  "--genesis", net["genesis"], "--json")  # fmt: skip
    assert proof.returncode == 0, proof.stdout
    assert json.loads(proof.stdout)["ok"]

    if story.invoice_no:
        trace = tally("audit", "trace", story.invoice_no, "--node", node, "--json")
        assert trace.returncode == 0, trace.stdout + trace.stderr
        pieces = json.loads(trace.stdout)["traces"][0]["pieces"]
        assert {p["holder"] for p in pieces} >= {"bank-a", "ore-mining", "fuel-co"}
        human_trace = tally("audit", "trace", story.invoice_no, "--node", node)
        assert "split" in human_trace.stdout and "finance" in human_trace.stdout
    org = tally("audit", "trace", "bigauto", "--node", node, "--json")
    assert org.returncode == 0 and json.loads(org.stdout)["kind"] == "org"
    missing = tally("audit", "trace", "INV-NOPE", "--node", node)
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr


def test_verify_chain_names_the_height_and_check_of_a_tampered_block(
    localnet: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = localnet(1)
    monkeypatch.setenv("TALLY_LOCALNET", net["dir"])
    node = net["nodes"][0]["api"]
    load(signed_client(node), net)
    proxy = subprocess.Popen(
        [sys.executable, "-m", "tests.browser.tamper_proxy", "--upstream", node,
         "--port", "0", "--height", "3", "--mode", "agg_sig"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(ROOT),
    )  # fmt: skip
    try:
        assert proxy.stdout is not None
        url = proxy.stdout.readline().split()[-1]
        result = tally("audit", "verify-chain", "--node", url, "--genesis", net["genesis"],
                       "--json")  # fmt: skip
        assert result.returncode == 1
        failures = json.loads(result.stdout)["failures"]
        assert failures == [
            {"height": 3, "check": "BLS aggregate signature", "detail": "does not verify"}
        ]
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
