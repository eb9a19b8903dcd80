"""A localnet in `members` mode, started and awaited with signed requests.

`node.ops.localnet.up` waits for each node with an unsigned GET /v1/status, which a members
node refuses (401); until localnets sign their own probes, the access tests lay the folder out
with `init_network(access="members")`, spawn the same processes and wait with a signed status.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from node.ops import localnet, processes
from node.ops.layout import LOG_FILE
from wallet.client import ApiError, Client
from wallet.request_signing import RequestSigner
from wallet.retry import NO_RETRY

READY_S = 60.0


def signed_client(net: dict[str, Any], org: str, node: int = 0, role: str = "operator") -> Client:
    """An SDK client of node `node` that signs its requests as `org`."""
    signer = RequestSigner.of_localnet(net, org, role)
    return Client(net["nodes"][node]["api"], timeout=60, request_signer=signer)


def _connected(client: Client, peers: int) -> bool:
    try:
        return int(client.status()["peers"]) >= peers
    except ApiError as refusal:
        if refusal.code == "UNAUTHENTICATED":
            raise  # the node is up and refuses our key: waiting would not help
        return False


def _wait(directory: Path, net: dict[str, Any], observer: str) -> None:
    deadline = time.monotonic() + READY_S
    for index, entry in enumerate(net["nodes"]):
        client = signed_client(net, observer, index)
        client.retry_policy = NO_RETRY
        while not _connected(client, len(net["nodes"]) - 1):
            if not processes.alive(entry["pid"]):
                tail = processes.log_tail(directory / entry["name"] / LOG_FILE)
                raise AssertionError(f"{entry['name']} exited during start:\n{tail}")
            assert time.monotonic() < deadline, f"{entry['name']} not connected in {READY_S} s"
            time.sleep(0.1)  # polling other processes: no event to await here


@contextmanager
def members_localnet(directory: Path, nodes: int, observer: str = "audit-co") -> Iterator[Any]:
    """A running `nodes`-validator localnet in members mode; stopped on the way out."""
    net = localnet.init_network(directory, nodes, access="members")
    try:
        with localnet.updating_info(directory) as info:
            for entry in info["nodes"]:
                entry["pid"] = processes.spawn(directory, entry["name"])
        net = {**localnet.read_info(directory), "dir": str(directory)}
        _wait(directory, net, observer)
        yield net
    finally:
        localnet.down(directory, grace=5.0)
