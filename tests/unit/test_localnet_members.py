"""`tally localnet add-node` (node/ops/localnet_members.py) on a laid-out localnet, no process:
the new node's files and entry, its add_validator params, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ledger.crypto import bls
from node.cli import tally
from node.config import load_config
from node.keys import load_keys
from node.ops.layout import init_network, read_info


def test_add_node_lays_out_a_follower_and_prints_what_governance_needs(tmp_path: Path) -> None:
    init_network(tmp_path, 4, membership=True)
    runner = CliRunner()
    answer = runner.invoke(
        tally, ["localnet", "add-node", "--dir", str(tmp_path), "--org", "bank-d", "--json"]
    )
    assert answer.exit_code == 0, answer.output
    added = json.loads(answer.output)
    params = added["add_validator"]
    assert params["name"] == "validator-5" and params["org"] == "bank-d"
    assert bls.pop_verify(bytes.fromhex(params["bls"]), bytes.fromhex(params["bls_pop"]))
    keys = load_keys(tmp_path / "validator-5" / "validator.key")
    assert keys.ed25519.public.hex() == params["ed25519"]
    config = load_config(tmp_path / "validator-5" / "node.toml")
    assert config.p2p_listen == params["p2p"] and config.snapshot_behind_heights == 4
    (entry,) = [e for e in read_info(tmp_path)["nodes"] if e["name"] == "validator-5"]
    assert entry["added"] and entry["pid"] == 0
    again = runner.invoke(
        tally, ["localnet", "add-node", "--dir", str(tmp_path), "--name", "validator-5"]
    )
    assert again.exit_code == 1 and "NODE_EXISTS" in again.output


def test_add_node_is_refused_on_a_genesis_without_membership(tmp_path: Path) -> None:
    init_network(tmp_path, 4)
    answer = CliRunner().invoke(tally, ["localnet", "add-node", "--dir", str(tmp_path)])
    assert answer.exit_code == 1 and "MEMBERSHIP_DISABLED" in answer.output
    assert len(read_info(tmp_path)["nodes"]) == 4
