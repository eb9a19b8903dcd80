"""`tally localnet time --advance DAYS` on real node processes: every node's block clock moves
together, what expires sees the new time, a restarted node keeps the offset, and a chain whose
genesis does not mark it as a development chain refuses and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from contracts.devclock import DAY_MS
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import block_hashes, remember, signed_client, wait_until
from wallet.client import Client, TxFailed
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow


def _tally(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", *args], capture_output=True, text=True, timeout=180
    )


def _advance(directory: str, days: str) -> subprocess.CompletedProcess[str]:
    return _tally("localnet", "time", "--dir", directory, "--advance", days, "--json")


def _admin(net: dict[str, Any], org: str) -> Any:
    return localnet_key(net, org, "admin")


def _propose_kyc_change(client: Client, net: dict[str, Any]) -> str:
    """A registry proposal that expires one day (block time) after it is made."""
    receipt = client.call(
        _admin(net, "bank-a"),
        "registry",
        "propose",
        {
            "action": "set_kyc",
            "params": {"org": "acme-steel", "kyc_expires": "2099-06-30"},
            "ttl_ms": DAY_MS,
        },
    )
    proposal_id: str = receipt["result"]["id"]
    return proposal_id


def _tick(client: Client, net: dict[str, Any]) -> dict[str, Any]:
    receipt: dict[str, Any] = client.call(_admin(net, "bank-b"), "clock", "tick", {})
    return receipt


def test_advance_moves_every_nodes_clock_together_and_survives_a_restart(localnet: Any) -> None:
    net = localnet(nodes=4)
    directory = net["dir"]
    apis = [entry["api"] for entry in net["nodes"]]
    client = signed_client(apis[0], timeout=30)
    early = _propose_kyc_change(client, net)
    late = _propose_kyc_change(client, net)
    client.call(_admin(net, "bank-b"), "registry", "approve", {"id": early})  # before: in time
    before = client.block(client.height())

    answer = _advance(directory, "100")
    assert answer.returncode == 0, answer.stderr
    moved = json.loads(answer.stdout)
    assert moved["advanced_days"] == 100 and moved["offset_ms"] == 100 * DAY_MS
    assert moved["time_ms"] >= before["time_ms"] + 100 * DAY_MS
    assert [row["name"] for row in moved["nodes"]] == [e["name"] for e in net["nodes"]]
    height = moved["height"]
    for api in apis:  # every node holds the same block at the new time, and the same chain
        block = signed_client(api).block(height)
        assert block["hash"] == moved["nodes"][0]["hash"]
        assert block["time_ms"] >= before["time_ms"] + 100 * DAY_MS
        assert signed_client(api).status()["clock_offset_ms"] == 100 * DAY_MS
    assert len({tuple(block_hashes(api, height)) for api in apis}) == 1

    with pytest.raises(TxFailed) as expired:  # after: the proposal's day has passed
        client.call(_admin(net, "bank-b"), "registry", "approve", {"id": late})
    assert expired.value.code == "PROPOSAL_EXPIRED"
    # A client's "in an hour" is an hour on the moved block clock, not on this machine's.
    quoted = _tally(
        "fx", "quote", "CNY", "EUR", "0.128", "--max", "1,000.00", "--ttl", "3600",
        "--as", "bank-c", "--localnet", directory, "--json",
    )  # fmt: skip
    assert quoted.returncode == 0, quoted.stdout + quoted.stderr
    assert json.loads(quoted.stdout)["expires_ms"] > moved["time_ms"]

    restarted = net["nodes"][0]["name"]  # the primary of view 0: it proposes with the offset
    localnet_module.stop_node(Path(directory), restarted)
    localnet_module.start_node(Path(directory), restarted)
    assert signed_client(apis[0]).status()["clock_offset_ms"] == 100 * DAY_MS
    tick = _tick(signed_client(apis[1], timeout=30), net)
    assert tick["result"]["time_ms"] >= moved["time_ms"]
    top = tick["height"]
    wait_until(lambda: signed_client(apis[0]).height() >= top, what=f"{restarted} catches up")
    assert len({tuple(block_hashes(api, top)) for api in apis}) == 1

    shown = json.loads(_tally("localnet", "time", "--dir", directory, "--json").stdout)
    assert shown["offset_days"] == 100 and shown["height"] >= top


def test_a_chain_genesis_does_not_mark_as_development_refuses_to_move_its_clock(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "plain"
    localnet_module.init_network(directory, 1)
    genesis_path = directory / "genesis.json"
    genesis = json.loads(genesis_path.read_text())
    del genesis["development"]
    genesis_path.write_text(json.dumps(genesis))
    try:
        net = remember(localnet_module.up(directory, 1))
        client = signed_client(net["nodes"][0]["api"], timeout=30)
        height = client.height()

        answer = _advance(str(directory), "100")
        assert answer.returncode == 1
        refusal = json.loads(answer.stdout)["error"]
        assert refusal["code"] == "NOT_DEVELOPMENT_CHAIN"
        assert "development" in refusal["message"]
        assert "Traceback" not in answer.stderr

        human = _tally("localnet", "time", "--dir", str(directory), "--advance", "5")
        assert human.returncode == 1
        assert "error: NOT_DEVELOPMENT_CHAIN:" in human.stderr
        assert "Traceback" not in human.stderr

        status = client.status()
        assert status["clock_offset_ms"] == 0
        assert status["height"] == height + 2  # the two refused advances, ordered and failed
        assert status["time_ms"] < time.time() * 1000 + DAY_MS  # the clock did not move
    finally:
        localnet_module.down(directory, grace=5.0)


def test_bad_advance_values_get_a_clear_error_and_sign_nothing(localnet: Any) -> None:
    net = localnet(nodes=1)
    client = signed_client(net["nodes"][0]["api"], timeout=30)
    height = client.height()
    for days in ("0", "-3", "1.5", "soon", "3651"):
        answer = _advance(net["dir"], days)
        assert answer.returncode == 2, days  # usage: refused before anything is signed
        assert json.loads(answer.stdout)["error"]["code"] == "BAD_ADVANCE"
        assert "Traceback" not in answer.stderr
    assert client.height() == height
