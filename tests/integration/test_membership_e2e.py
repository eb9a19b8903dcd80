"""Validator membership on real processes (DESIGN.md §7, issue 13): one 4-validator localnet
whose genesis allows changes (`"membership": true`, checkpoint_interval 8), with receivables and
payments loaded.

An empty fifth node is laid out (`localnet add-node`) and started: in no set, it follows. Three
of the four banks approve `add_validator`; the others admit it as soon as that is committed, it
restores the state by snapshot (not replaying), and from the first height after the next
checkpoint it votes: a committed block's certificate names it in its signer bitmap. Then a
genesis validator is removed the same way; from its effective height certificates are made by
the remaining four (quorum 3) and the chain goes on; one of them, restarted, restores the new
set's replica and signs again. `tally audit verify-chain` from genesis, run through the real
entry point, passes across both changes and prints them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.certificates import verify_certificate
from ledger.genesis import load_genesis
from ledger.membership import quorum_of, validator_from_record
from ledger.types import Certificate, bitmap_indexes
from node.ops import localnet as localnet_module
from node.ops import localnet_members
from node.ops.layout import LOG_FILE
from tests.browser.story import load
from tests.support.localnet_tools import operator, remember, signed_client, status, wait_until
from wallet.client import ApiError, Client
from wallet.localnet_keys import localnet_key

pytestmark = pytest.mark.slow

INTERVAL = 8
REMOVED = "validator-bank-d"


def _metric(api: str, name: str) -> float:
    text = signed_client(api).get_bytes("/metrics").decode()
    return sum(
        float(line.split(" ")[-1])
        for line in text.splitlines()
        if line.split(" ")[0] in (name, name + "_total")
    )


def _govern(client: Client, net: dict[str, Any], action: str, params: dict[str, Any]) -> Any:
    """bank-a proposes, bank-b and bank-c approve (3 of 4 banks = ⌈2b/3⌉): the deciding
    receipt's `validator_set_changed` event."""
    proposed = client.call(
        localnet_key(net, "bank-a", "admin"),
        "registry",
        "propose",
        {"action": action, "params": params},
    )
    proposal = proposed["result"]["id"]
    client.call(localnet_key(net, "bank-b", "admin"), "registry", "approve", {"id": proposal})
    decided = client.call(
        localnet_key(net, "bank-c", "admin"), "registry", "approve", {"id": proposal}
    )
    assert decided["result"]["passed"], decided
    (event,) = [e for e in decided["events"] if e["type"] == "validator_set_changed"]
    return decided["height"], event


def _push(client: Client, net: dict[str, Any], blocks: int) -> None:
    key = operator(net, "bigauto")
    for round_ in range(blocks):
        client.call(
            key, "cash", "transfer", {"currency": "CNY", "to": "fuel-co", "amount": 1 + round_}
        )


def _signed_by(client: Client, info: dict[str, Any], index: int, n: int, who: str) -> int:
    """Commit blocks until one's certificate (as some genesis node stored it: each aggregates
    its own) names validator `index` of a set of `n`; that height."""

    def signed() -> int | None:
        _push(client, info, 1)
        height = client.height()
        for node in info["nodes"][:3]:
            try:
                certificate = _certificate(node["api"], height)
            except ApiError:  # that node has not committed it yet
                continue
            if index in bitmap_indexes(certificate.signers, n):
                return height
        return None

    found: int = wait_until(signed, 120, f"a certificate signed by {who}")
    return found


def _certificate(api: str, height: int) -> Certificate:
    """The certificate node `api` stored for `height` (each node aggregates its own)."""
    raw = signed_client(api).get(f"/v1/raw/blocks/{height}")["certificate"]
    values = {k: bytes.fromhex(v) if isinstance(v, str) else v for k, v in raw.items()}
    return Certificate(**values)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("membership-e2e")
    started = localnet_module.up(
        directory, 4, params={"checkpoint_interval": INTERVAL}, membership=True
    )
    info = remember(started)
    try:
        load(signed_client(info["nodes"][0]["api"]), {**info, "dir": str(directory)})
        yield directory, info
    finally:
        localnet_module.down(directory, grace=5.0)


def test_a_bank_joins_by_snapshot_votes_and_a_validator_leaves(net: Any) -> None:
    directory, info = net
    started = time.monotonic()
    genesis = load_genesis(info["genesis"])
    api = info["nodes"][0]["api"]
    client = signed_client(api)
    added = localnet_members.add_node(directory, org="bank-d", name="validator-e")
    joiner_api = added["node"]["api"]
    remember({**info, "nodes": [added["node"]]})  # the joiner answers signed reads too
    localnet_module.start_node(directory, "validator-e")
    assert status(joiner_api)["voting"] is False
    params = dict(added["add_validator"])
    for name in ("ed25519", "bls", "bls_pop"):
        params[name] = bytes.fromhex(params[name])

    added_at, event = _govern(client, info, "add_validator", params)
    effective = event["effective_height"]
    assert effective == (added_at // INTERVAL + 1) * INTERVAL + 1 or effective == added_at + 1
    wait_until(lambda: _metric(joiner_api, "tally_snapshot_installed") == 1, 120, "snapshot")
    log = (directory / "validator-e" / LOG_FILE).read_text()
    assert "snapshot sync: installed height" in log
    assert _metric(joiner_api, "tally_statesync_blocks") < added_at  # it did not replay them

    _push(client, info, effective - client.height() + 2)
    five = tuple(validator_from_record(v) for v in event["validators"])
    wait_until(lambda: (status(joiner_api) or {}).get("voting"), 120, "the joiner voting")

    signed_at = _signed_by(client, info, 4, len(five), "the joiner")
    header_hash = bytes.fromhex(client.block(signed_at)["hash"])
    assert verify_certificate(
        five, genesis.chain, header_hash, _certificate(api, signed_at), height=signed_at
    )

    removed_at, removal = _govern(client, info, "remove_validator", {"name": REMOVED})
    left = removal["effective_height"]
    _push(client, info, left - client.height() + 6)
    four = tuple(validator_from_record(v) for v in removal["validators"])
    assert [v.name for v in four] == [
        "validator-bank-a", "validator-bank-b", "validator-bank-c", "validator-e"
    ]  # fmt: skip
    for height in range(left, client.height() + 1):
        certificate = _certificate(api, height)
        signers = bitmap_indexes(certificate.signers, len(four))
        assert len(signers) >= quorum_of(4)
        block_hash = bytes.fromhex(client.block(height)["hash"])
        assert verify_certificate(four, genesis.chain, block_hash, certificate, height=height)
    shown = signed_client(api).get("/v1/validators")
    assert [v["name"] for v in shown["validators"]] == [v.name for v in four]
    assert shown["quorum"] == 3
    assert [v["name"] for v in status(api)["validators"]] == [v.name for v in four]
    removed_api = info["nodes"][3]["api"]
    wait_until(lambda: (status(removed_api) or {}).get("voting") is False, 60, "removed")

    # A validator restarted in the third set restores that set's replica (anchored at the
    # block before `left`, its own records) and commits on with the others.
    localnet_module.stop_node(directory, "validator-bank-b")
    _push(client, info, 2)  # the other three (quorum 3 of 4) go on without it
    localnet_module.start_node(directory, "validator-bank-b")
    restarted = info["nodes"][1]["api"]
    _push(client, info, 2)
    tip = client.height()
    wait_until(lambda: (status(restarted) or {}).get("height", 0) >= tip, 60, "restarted")
    assert status(restarted)["voting"] is True
    _signed_by(client, info, 1, len(four), "the restarted validator")

    tally = Path(sys.executable).parent / "tally"
    audit = subprocess.run(
        [
            str(tally),
            "audit",
            "verify-chain",
            "--node",
            api,
            "--localnet",
            str(directory),
            "--genesis",
            info["genesis"],
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert f"set   from block {effective}" in audit.stdout
    assert f"set   from block {left}" in audit.stdout
    print(
        f"\nmembership: add approved at {added_at}, in force from {effective}; joiner signed "
        f"at {signed_at}; removal approved at {removed_at}, in force from {left}; tip "
        f"{client.height()}; {time.monotonic() - started:.1f} s after the load"
    )
