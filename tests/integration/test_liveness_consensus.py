"""Four real validators replaying the consensus findings of issue 11.

Finding 1: a VIEW-CHANGE carried every prepared block above the stable checkpoint, so under load
it outgrew the frame limit, every node logged "message of N bytes exceeds the limit" each
second and the chain halted for good, restarts included. Here a genesis with a 1 MiB frame and
256 KiB blocks makes that happen with ~3,000 ordinary transfers (140-character memos) instead
of 60,000: six blocks in flight already weigh more than a frame. Now a view change names blocks
by hash; the chain goes on after the primary is killed, and after all four restart.

Finding 7: the primary stopped, the others changed view and committed, the primary restarted
and stayed a height behind for minutes, until a new transaction arrived. Now the status
heartbeat brings it to the others' height and view on an idle network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from node.ops import layout
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import (
    SENDERS,
    fund_senders,
    height,
    operator,
    signed_client,
    status,
    wait_until,
)
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

FAST = {"view_timeout_ms": 1000, "batch_ms": 20}
# Blocks of 256 KiB in 1 MiB frames: genesis validation accepts these (every message of the
# new release fits), and the previous release's VIEW-CHANGE outgrew the frame past 4 blocks.
SMALL_FRAMES = {**FAST, "max_frame_bytes": 1024 * 1024, "block_max_bytes": 256 * 1024}
MEMO = "settlement of invoice 2024-0815, goods received in full and checked against the " + (
    "delivery note; thank you for your business."
)


def _transfers(net: dict[str, Any], count: int) -> list[Any]:
    keys = [operator(net, org) for org in SENDERS]
    return [
        build_tx(
            keys[i % len(keys)],
            net["chain"],
            "cash",
            "transfer",
            {"currency": "CNY", "to": SENDERS[(i + 1) % len(keys)], "amount": 1, "memo": MEMO},
            900,
        )
        for i in range(count)
    ]


def _one_commits(net: dict[str, Any], api: str, timeout: float) -> dict[str, Any]:
    """Submit one transfer through `api`; its receipt, once committed."""
    (tx,) = _transfers(net, 1)
    signed_client(api, timeout=10).submit([tx])
    return signed_client(api, timeout=timeout + 10).wait_for_receipt(tx.id.hex(), timeout=timeout)


def _logs(directory: Path, names: list[str]) -> str:
    return "".join(
        (directory / name / layout.LOG_FILE).read_text(errors="replace") for name in names
    )


def test_a_view_change_under_load_fits_in_a_frame_and_survives_a_full_restart(
    localnet: Any,
) -> None:
    net = localnet(nodes=4, params=SMALL_FRAMES)
    directory = Path(net["dir"])
    apis = {entry["name"]: entry["api"] for entry in net["nodes"]}
    names = list(apis)
    primary = names[0]
    assert (status(apis[primary]) or {}).get("primary") == primary
    fund_senders(net, apis[primary])
    load = _transfers(net, 3000)
    for start in range(0, len(load), 250):
        results = signed_client(apis[primary], timeout=60).submit(load[start : start + 250])
        assert all(result["accepted"] for result in results), results[:3]
    last = load[-1].id.hex()
    signed_client(apis[primary], timeout=120).wait_for_receipt(last, timeout=110)
    wait_until(lambda: height(apis[names[1]]) >= height(apis[primary]), what="backups follow")
    top = height(apis[names[1]])
    assert 6 <= top < 32  # several full blocks, all above the stable checkpoint (height 0)

    localnet_module.kill_node(directory, primary)
    receipt = _one_commits(net, apis[names[1]], timeout=60)
    assert receipt["height"] > top
    changed = status(apis[names[1]])
    assert changed is not None and changed["view"] >= 1 and changed["primary"] != primary

    # All four restart from their records: the stored VIEW-CHANGE is re-sent, and fits.
    for name in names[1:]:
        localnet_module.stop_node(directory, name)
    for name in names:
        localnet_module.start_node(directory, name)
    receipt = _one_commits(net, apis[names[2]], timeout=60)
    wait_until(
        lambda: all(height(api) >= receipt["height"] for api in apis.values()),
        what="all four at the new height",
    )
    assert "exceeds the limit" not in _logs(directory, names)


def test_a_restarted_primary_catches_up_on_an_idle_network(localnet: Any) -> None:
    net = localnet(nodes=4, params=FAST)
    directory = Path(net["dir"])
    apis = {entry["name"]: entry["api"] for entry in net["nodes"]}
    names = list(apis)
    primary = names[0]
    fund_senders(net, apis[primary])
    localnet_module.stop_node(directory, primary)
    receipt = _one_commits(net, apis[names[1]], timeout=60)  # a view change, then a commit
    others = [apis[name] for name in names[1:]]
    wait_until(lambda: all(height(api) >= receipt["height"] for api in others), what="3 agree")
    view = (status(others[0]) or {})["view"]
    assert view >= 1

    localnet_module.start_node(directory, primary)  # nothing new arrives from here on
    restarted = apis[primary]
    caught_up = wait_until(
        lambda: (
            (s := status(restarted)) is not None
            and s["height"] >= receipt["height"]
            and s["view"] == view
            and s
        ),
        30,
        "the restarted primary at the others' height and view",
    )
    assert caught_up["primary"] == (status(others[0]) or {})["primary"]
    assert {height(api) for api in apis.values()} == {receipt["height"]}
