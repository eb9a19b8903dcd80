"""A validator stopped with its data and restarted after the others committed past a stable
checkpoint catches up by replaying certified blocks (state transfer) to the same chain: the
same block hash and state_root at every height as a live node's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from ledger.state_keys import balance_key
from ledger.types import Header
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import signed_client
from wallet.client import ApiError, Client
from wallet.localnet_keys import localnet_key as _key
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

ORGS = ["acme-steel", "bigauto", "ore-mining", "fuel-co"]
ROUNDS = 24  # one commit each at least: three checkpoints of 8 past the stopped node
PARAMS = {"checkpoint_interval": 8}


def _height(client: Client) -> int:
    try:
        return client.height()
    except ApiError:
        return -1  # still starting


def _wait_until(condition: Any, seconds: float = 30.0) -> None:
    """Poll a node over HTTP (no event to await across processes); the deadline is a net."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _chain_of(client: Client, tip: int) -> list[tuple[int, str, str]]:
    found: list[tuple[int, str, str]] = []
    while len(found) < tip:
        for block in client.blocks(len(found) + 1, 100):
            if block["height"] <= tip:
                header = Header.decode(bytes.fromhex(block["header"]))
                found.append((block["height"], block["hash"], header.state_root.hex()))
    return found


def test_a_restarted_validator_replays_to_the_same_state_root_at_every_height(
    localnet: Any,
) -> None:
    net = localnet(nodes=4, params=PARAMS)
    directory = Path(net["dir"])
    live, lagging = net["nodes"][0], net["nodes"][-1]
    client = signed_client(live["api"], timeout=10)
    chain = client.chain()
    bank = _key(net, "bank-a")
    for org in ORGS:
        client.call(bank, "cash", "issue", {"currency": "CNY", "to": org, "amount": 10**9})
    behind = client.height()
    _wait_until(lambda: _height(signed_client(lagging["api"])) >= behind)
    localnet_module.stop_node(directory, lagging["name"])

    valid_until = behind + 500
    for round_ in range(ROUNDS):
        amount = {"currency": "CNY", "amount": 1 + round_}
        txs = [
            build_tx(
                _key(net, payer),
                chain,
                "cash",
                "transfer",
                {**amount, "to": ORGS[(i + 1) % 4]},
                valid_until,
            )
            for i, payer in enumerate(ORGS)
        ]
        assert all(r["receipt"]["status"] == "ok" for r in client.submit(txs, wait=True))
    tip = client.height()
    assert tip >= behind + ROUNDS

    localnet_module.start_node(directory, lagging["name"])
    restarted = signed_client(lagging["api"], timeout=10)
    _wait_until(lambda: _height(restarted) >= tip)

    assert _chain_of(restarted, tip) == _chain_of(client, tip)
    for org in ORGS:  # the state itself, read from the restarted node's own tree
        key = balance_key("CNY", org)
        assert restarted.get_state_proof(key, tip) == client.get_state_proof(key, tip)
    log = (directory / lagging["name"] / "node.log").read_text()
    assert "state transfer: heights" in log  # it caught up by replay, not only by consensus
