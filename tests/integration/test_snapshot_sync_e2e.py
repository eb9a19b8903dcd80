"""Snapshot sync on real processes (DESIGN.md §7): a 4-validator localnet with receivables and
payments loaded; one validator is stopped, its data directory wiped, and it restarts with
`[state] snapshot_behind_heights` below the chain's height. It restores the state at a certified
height by snapshot (its log and metrics say so, and it holds no block below that height: it
did not replay them), ends at the same state_root and block hashes as the others, answers
proofs that verify offline, and takes part again: a payment made after it is committed by it.
The catch-up rate is printed beside the network's commit rate for the report."""

from __future__ import annotations

import shutil
import time
from typing import Any

import pytest

from ledger.genesis import load_genesis
from node.ops import localnet as localnet_module
from node.ops.layout import CONFIG_FILE, LOG_FILE
from tests.browser.story import load
from tests.support.localnet_tools import operator, remember, signed_client, wait_until
from wallet.client import ApiError, Client

pytestmark = pytest.mark.slow

EXTRA_HEIGHTS = 120  # payments after the story, one block each, so the chain is long enough
BEHIND = 16


def _metric(api: str, name: str) -> float:
    text = signed_client(api).get_bytes("/metrics").decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith(name + "_created"):
            head = line.split(" ")[0]
            if head == name or head.startswith(name + "{") or head == name + "_total":
                total += float(line.split(" ")[-1])
    return total


def _settled(apis: list[str]) -> tuple[int, str, str]:
    def same() -> tuple[int, str, str] | None:
        tips = {
            (s["height"], s["state_root"], s["last_hash"])
            for s in (signed_client(a).status() for a in apis)
        }
        return next(iter(tips)) if len(tips) == 1 else None

    settled: tuple[int, str, str] = wait_until(same, 120, "every node at the same tip")
    return settled


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("snapshot-e2e")
    net = remember(localnet_module.up(directory, 4))
    try:
        apis = [node["api"] for node in net["nodes"]]
        client = signed_client(apis[0])
        story = load(client, {**net, "dir": str(directory)})
        assert story.receivable_piece and story.payment_id, "the story needs both contracts"
        key = operator(net, "bank-a")
        start_height, started = client.height(), time.monotonic()
        for round_ in range(EXTRA_HEIGHTS):
            args = {"currency": "CNY", "to": "bigauto", "amount": 1 + round_}
            client.call(key, "cash", "transfer", args)
        commit_rate = (client.height() - start_height) / (time.monotonic() - started)
        yield directory, net, apis, story, load_genesis(net["genesis"]), commit_rate
    finally:
        localnet_module.down(directory, grace=5.0)


def test_a_wiped_validator_catches_up_by_snapshot(loaded: Any) -> None:
    directory, net, apis, story, genesis, commit_rate = loaded
    height, root, last_hash = _settled(apis)
    assert height > BEHIND + 20
    name = net["nodes"][3]["name"]
    localnet_module.stop_node(directory, name)
    shutil.rmtree(directory / name / "data")
    config = directory / name / CONFIG_FILE
    config.write_text(config.read_text() + f"\n[state]\nsnapshot_behind_heights = {BEHIND}\n")
    started = time.monotonic()
    localnet_module.start_node(directory, name)
    wiped = signed_client(apis[3], genesis=genesis)

    def caught_up() -> bool:
        try:
            return wiped.height() >= height
        except ApiError:
            return False

    wait_until(caught_up, 120, f"{name} back at height {height}")
    seconds = time.monotonic() - started
    assert _settled(apis) == (height, root, last_hash)
    log = (directory / name / LOG_FILE).read_text()
    assert "snapshot sync: installed height" in log
    assert _metric(apis[3], "tally_snapshot_installed") == 1
    keys = _metric(apis[3], "tally_snapshot_keys")
    assert keys > 50 and _metric(apis[3], "tally_snapshot_chunks") >= 1
    replayed = _metric(apis[3], "tally_statesync_blocks")
    assert replayed < height - BEHIND  # the heights below the snapshot were never replayed
    with pytest.raises(ApiError) as missing:
        wiped.block(1)  # it holds no block below the snapshot
    assert missing.value.status == 404
    installed = next(line for line in log.splitlines() if "snapshot sync: installed" in line)
    print(f"\n{installed.split(': ', 1)[1]}")
    print(
        f"snapshot catch-up: {height} heights, {int(keys)} keys in {seconds:.2f} s "
        f"(from process start): {height / seconds:.1f} heights/s, {keys / seconds:.0f} keys/s; "
        f"network commit rate {commit_rate:.1f} heights/s; "
        f"ratio {height / seconds / commit_rate:.1f}x"
    )
    others = signed_client(apis[0], genesis=genesis)
    for org in ("bigauto", "bank-a"):
        mine = wiped.verified_balance(org, "CNY", height)
        assert mine.value == others.verified_balance(org, "CNY", height).value
    assert wiped.verified_piece(story.receivable_piece).present


def test_a_tx_committed_below_the_snapshot_is_refused_as_a_replay(loaded: Any) -> None:
    """The restored node knows the ids of the txs of the heights below its snapshot that may
    still be valid: one committed there and submitted to it again is a duplicate."""
    _, _, apis, _, _, _ = loaded
    restored = signed_client(apis[3])
    snapshot_height = next(
        h for h in range(restored.height(), 0, -1) if _holds_block(restored, h - 1) is False
    )
    below = signed_client(apis[0]).raw_block(snapshot_height - 2)
    assert below["txs"], "a payment block below the snapshot"
    with pytest.raises(ApiError) as refused:
        restored.submit_hex(below["txs"][:1])
    assert refused.value.code == "DUPLICATE_TX"


def _holds_block(client: Client, height: int) -> bool:
    try:
        client.block(height)
    except ApiError as error:
        if error.status == 404:
            return False
        raise
    return True


def test_the_restored_validator_commits_what_follows(loaded: Any) -> None:
    _, net, apis, _, _, _ = loaded
    key = operator(net, "bank-a")
    args = {"currency": "CNY", "to": "bigauto", "amount": 3}
    receipt = signed_client(apis[3]).call(key, "cash", "transfer", args)
    height, _, _ = _settled(apis)
    assert height >= receipt["height"]
    at = receipt["height"]
    assert signed_client(apis[3]).block(at)["hash"] == signed_client(apis[0]).block(at)["hash"]
