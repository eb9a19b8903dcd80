"""Four validators in four network namespaces of their own, talking over 10.77.0.0/24.

Nothing assumes loopback: each node binds its API and P2P to its namespace's address, peers
dial those addresses across a bridge, and a client inside one namespace submits a transaction
that every validator commits. The bridge lives in a fifth namespace the test creates, so no
address or interface is ever added outside namespaces this test owns; all of them are deleted
at the end, whatever the outcome.

Needs root (CAP_NET_ADMIN) and iproute2's `ip` (Debian: `apt-get install -y iproute2`); skipped
with the reason otherwise, except under CI=true where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_consortium_support import (
    BANKS,
    Bank,
    assemble,
    bank_signer,
    make_keys,
    running_nodes,
    tally,
    wait_until,
)

from wallet.request_signing import RequestSigner, signed_headers

pytestmark = pytest.mark.slow

SUBNET = "10.77.0"  # only ever configured inside this test's namespaces
API_PORT, P2P_PORT = 8700, 26600
GET_JSON = (  # argv: the URL, and its signature headers as JSON (signed outside, just before)
    "import json, sys, urllib.request; "
    "request = urllib.request.Request(sys.argv[1], headers=json.loads(sys.argv[2])); "
    "print(urllib.request.urlopen(request, timeout=2).read().decode())"
)


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


def _cannot_run() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed (apt-get install -y iproute2)"
    if os.geteuid() != 0:
        return "network namespaces need root (CAP_NET_ADMIN)"
    probe = f"tprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as error:
        return f"cannot create a network namespace: {error.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return None


@pytest.fixture
def namespaces() -> Iterator[list[str]]:
    """Four node namespaces on a bridge in a hub namespace; all deleted afterwards."""
    reason = _cannot_run()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the namespace test: {reason}")
        pytest.skip(reason)
    tag = f"t{os.getpid() % 100000}"
    hub, nodes = f"{tag}hub", [f"{tag}n{i}" for i in range(len(BANKS))]
    created: list[str] = []
    try:
        for name in [hub, *nodes]:
            _ip("netns", "add", name)
            created.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")
        for index, name in enumerate(nodes):
            _ip("-n", hub, "link", "add", f"vh{index}", "type", "veth",
                "peer", "name", "eth0", "netns", name)  # fmt: skip
            _ip("-n", hub, "link", "set", f"vh{index}", "master", "br0")
            _ip("-n", hub, "link", "set", f"vh{index}", "up")
            _ip("-n", name, "addr", "add", f"{SUBNET}.{10 + index}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
        yield nodes
    finally:
        for name in reversed(created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)


def _in(namespace: str) -> list[str]:
    return ["ip", "netns", "exec", namespace]


def _get(namespace: str, url: str, signer: RequestSigner) -> object:
    """GET a URL from inside a namespace (the root namespace has no route to it), signed."""
    headers = json.dumps(signed_headers(signer, "GET", url))
    result = subprocess.run(
        [*_in(namespace), sys.executable, "-c", GET_JSON, url, headers],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


def test_four_validators_in_their_own_namespaces_commit_over_the_bridge(
    tmp_path: Path, namespaces: list[str]
) -> None:
    banks = []
    for index, org in enumerate(BANKS):
        home = tmp_path / org
        home.mkdir()
        address = f"{SUBNET}.{10 + index}"
        p2p = f"{address}:{P2P_PORT}"
        banks.append(Bank(org, home, p2p, address, API_PORT, p2p))
        make_keys(banks[-1])
    assemble(banks, tmp_path / "coordinator", chain="tally-netns")
    where = dict(zip([b.org for b in banks], namespaces, strict=True))

    reader = bank_signer(banks[-1])  # the bank the issue pays: its balance is its own
    with running_nodes(banks, prefix=lambda bank: _in(where[bank.org])):

        def all_peered() -> bool:
            for bank in banks:
                status = _get(where[bank.org], bank.api + "/v1/status", reader)
                if not isinstance(status, dict) or status["peers"] != len(banks) - 1:
                    return False
            return True

        wait_until(all_peered, "every validator to connect to the other three over the bridge")
        first = banks[0]
        output = tally(
            "cash", "issue", "EUR", banks[-1].org, "10.00",
            "--keystore", "org/admin.keystore.json", "--node", first.api, "--json",
            cwd=first.home, prefix=_in(where[first.org]),
        )  # fmt: skip
        assert "error" not in json.loads(output)

        def committed_everywhere() -> bool:
            for bank in banks:
                org = _get(where[bank.org], f"{bank.api}/v1/orgs/{banks[-1].org}", reader)
                if not isinstance(org, dict) or org["balances"].get("EUR") != 1000:
                    return False
            return True

        wait_until(committed_everywhere, "every validator to commit the issue")
