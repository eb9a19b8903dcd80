"""What handlers reach through the application: the node's parts, the store, the OpenAPI spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ledger.chain import ChainStore
from ledger.genesis import Genesis
from node.runtime.driver import Driver
from node.runtime.metrics import Metrics


@dataclass(frozen=True, slots=True)
class NodeHandle:
    """What handlers reach through the application: the node's parts."""

    name: str
    genesis: Genesis
    driver: Driver
    metrics: Metrics
    peers: Callable[[], dict[str, bool]]  # validator name -> connected
    snapshot: Callable[[], dict[str, int] | None] = lambda: None  # set while restoring state


NODE: web.AppKey[NodeHandle] = web.AppKey("node", NodeHandle)


def node(request: web.Request) -> NodeHandle:
    return request.app[NODE]


STORE: web.AppKey[ChainStore] = web.AppKey("store", ChainStore)


def store(request: web.Request) -> ChainStore:
    return request.app[STORE]


SPEC: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)
