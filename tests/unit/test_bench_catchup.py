"""The catch-up bench's two pure parts: the config line that picks the path, and reading back
which path the node took from its /metrics."""

from __future__ import annotations

import tomllib

import pytest
from prometheus_client import generate_latest

from node.config import render_config, with_snapshot_behind
from node.ops.bench_catchup import snapshots_installed
from node.runtime.metrics import Metrics

RENDERED = render_config(name="v", genesis="g.json", api_port=1, p2p_listen="127.0.0.1:2")


def _behind(text: str) -> int:
    return int(tomllib.loads(text)["state"]["snapshot_behind_heights"])


@pytest.mark.parametrize(
    "text",
    [
        RENDERED,  # no [state]: a section is added
        RENDERED + "\n[state]\nretain_heights = 10\n",  # [state] without the key
        RENDERED + "\n[state]\nsnapshot_behind_heights = 4\nretain_heights = 10\n",
    ],
)
def test_the_setting_is_written_once_whatever_the_file_held(text: str) -> None:
    for heights in (0, 1, 512):
        changed = with_snapshot_behind(text, heights)
        assert _behind(changed) == heights  # also: still valid TOML, one [state] table
        assert changed.count("snapshot_behind_heights") == 1
        assert tomllib.loads(changed)["node"] == tomllib.loads(text)["node"]
        if "retain_heights" in text:
            assert tomllib.loads(changed)["state"]["retain_heights"] == 10


def test_the_installed_counter_is_read_from_a_real_registry() -> None:
    metrics = Metrics()
    assert snapshots_installed(generate_latest(metrics.registry).decode()) == 0
    metrics.snapshot_installed.inc()
    assert snapshots_installed(generate_latest(metrics.registry).decode()) == 1
    assert snapshots_installed("") == 0
