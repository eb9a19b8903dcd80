"""Fixtures for tests against real node processes on 127.0.0.1 with real LevelDB.

`localnet(nodes=1, **options)` starts a localnet in a fresh temporary folder and returns
localnet.json's content plus `"dir"` (a str path); every localnet a test started is stopped at
teardown, whatever the outcome. Options go to `node.ops.localnet.up` (e.g. `params={...}`).
`module_localnet` is the same for every test of one module: its tests share the localnets it
starts (a four-validator start is the slow part of a test), stopped after the module's last test.
Localnets run `members`: each is remembered (tests/support/localnet_tools.py), so
`client(api)` signs as its auditor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from node.ops import localnet as localnet_module
from tests.support.localnet_tools import remember

LocalnetFactory = Callable[..., dict[str, Any]]


def _localnets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalnetFactory]:
    started: list[Path] = []

    def start(nodes: int = 1, **options: Any) -> dict[str, Any]:
        directory = tmp_path_factory.mktemp("localnet")
        started.append(directory)
        info = remember(localnet_module.up(directory, nodes, **options))
        return {**info, "dir": str(directory)}

    yield start
    for directory in started:
        try:
            localnet_module.down(directory, grace=5.0)
        except localnet_module.LocalnetError:
            pass  # never got as far as writing localnet.json


@pytest.fixture
def localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalnetFactory]:
    yield from _localnets(tmp_path_factory)


@pytest.fixture(scope="module")
def module_localnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalnetFactory]:
    yield from _localnets(tmp_path_factory)
