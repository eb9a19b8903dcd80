"""A real node process serving its API over TLS (`[api] tls_cert`/`tls_key`)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from node.ops import localnet, processes
from node.ops.layout import CONFIG_FILE, LOG_FILE
from node.ops.self_signed import write_self_signed
from tests.support.rfc9421 import signed_request
from wallet.client import Client
from wallet.localnet_keys import localnet_key
from wallet.request_signing import RequestSigner

pytestmark = pytest.mark.slow


def _wait_https(url: str, cert: Path, pid: int, log: Path) -> requests.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(url, verify=str(cert), timeout=2)
        except requests.ConnectionError:
            assert processes.alive(pid), processes.log_tail(log)
            assert time.monotonic() < deadline, "the node did not answer https in 60 s"
            time.sleep(0.1)  # polling another process: no event to await here


def test_node_serves_https_with_its_configured_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = localnet.init_network(tmp_path, 1, access="members")
    entry = net["nodes"][0]
    node_dir = tmp_path / entry["name"]
    pair = write_self_signed(node_dir, "127.0.0.1")
    config = node_dir / CONFIG_FILE
    text = config.read_text()
    config.write_text(text.replace("[p2p]", 'tls_cert = "tls.crt"\ntls_key = "tls.key"\n\n[p2p]'))
    with localnet.updating_info(tmp_path) as info:
        info["nodes"][0]["pid"] = pid = processes.spawn(tmp_path, entry["name"])
    try:
        https = entry["api"].replace("http://", "https://")
        health = _wait_https(https + "/healthz", pair.cert, pid, node_dir / LOG_FILE)
        assert health.status_code == 200
        key = localnet_key(net, "audit-co")
        with requests.Session() as session:
            prepared = signed_request(key, "GET", https + "/v1/status")
            status = session.send(prepared, verify=str(pair.cert), timeout=10)
        assert status.status_code == 200 and status.json()["node"] == entry["name"]
        monkeypatch.setenv("SSL_CERT_FILE", str(pair.cert))  # how the SDK and CLI trust it
        sdk = Client(https, request_signer=RequestSigner.of_localnet(net, "audit-co"))
        assert sdk.status()["node"] == entry["name"]
        with pytest.raises(requests.exceptions.SSLError):  # not the certificate it trusts
            requests.get(https + "/healthz", timeout=5)
        with pytest.raises(requests.ConnectionError):  # no plain http on the port
            requests.get(entry["api"] + "/healthz", timeout=5)
    finally:
        localnet.down(tmp_path, grace=5.0)
