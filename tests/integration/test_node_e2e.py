"""A transaction built by hand from DESIGN.md §3–5 (msgpack, nacl, hashlib only) goes through a
real node, and its inclusion proof checks by hand: RFC 6962 paths and the BLS certificate."""

from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msgpack
import nacl.signing
import pytest

from ledger.crypto import bls
from tests.support.localnet_tools import sign_request

pytestmark = pytest.mark.slow


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers=sign_request(url))
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _post(url: str, body: Any) -> tuple[int, Any]:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign_request(url, "POST", data)}
    request = urllib.request.Request(url, data, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _seed(net: dict[str, Any], org: str, role: str = "operator") -> bytes:
    entry = next(o for o in net["orgs"] if o["id"] == org)
    return bytes.fromhex(next(k["seed"] for k in entry["keys"] if k["role"] == role))


def hand_built_tx(chain: str, seed: bytes, args: dict[str, Any], valid_until: int) -> bytes:
    """cash.issue, encoded with maps written in ascending key order (DESIGN.md §3)."""
    key = nacl.signing.SigningKey(seed)
    body = msgpack.packb(
        {  # keys in ascending byte order: args, chain, contract, from, method, nonce, valid_until
            "args": {name: args[name] for name in sorted(args)},
            "chain": chain,
            "contract": "cash",
            "from": bytes(key.verify_key),
            "method": "issue",
            "nonce": secrets.randbits(64),
            "valid_until": valid_until,
        },
        use_bin_type=True,
    )
    signature = key.sign(_sha(b"tally/tx/v1" + _sha(body))).signature
    return msgpack.packb({"body": body, "sig": signature}, use_bin_type=True)


def rfc6962_verify(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, written out here rather than imported."""
    fn, sn = index, size - 1
    result = _sha(b"\x00" + leaf)
    for sibling in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = _sha(b"\x01" + sibling + result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = _sha(b"\x01" + result + sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and result == root


def test_hand_built_tx_is_committed_and_its_proof_verifies(localnet: Any) -> None:
    net = localnet(nodes=1)
    api = net["nodes"][0]["api"]
    genesis = json.loads(Path(net["genesis"]).read_text())
    height = _get(api + "/v1/status")["height"]
    raws = [
        hand_built_tx(
            net["chain"],
            _seed(net, "bank-a"),
            {"currency": "CNY", "to": org, "amount": 1000 + i},
            height + 50,
        )
        for i, org in enumerate(["acme-steel", "bigauto", "fuel-co"])
    ]
    status, answer = _post(api + "/v1/txs?wait=commit", {"txs": [raw.hex() for raw in raws]})
    assert status == 200, answer
    for raw, result in zip(raws, answer["results"], strict=True):
        tx_id = _sha(msgpack.unpackb(raw)["body"]).hex()
        assert result["accepted"] and result["id"] == tx_id
        assert result["receipt"]["status"] == "ok", result

    tx_id = answer["results"][1]["id"]
    proof = _get(f"{api}/v1/txs/{tx_id}/proof")
    tx, receipt, header_bytes = (bytes.fromhex(proof[k]) for k in ("tx", "receipt", "header"))
    assert tx in raws
    header = msgpack.unpackb(header_bytes)
    assert msgpack.unpackb(receipt)["tx"].hex() == tx_id
    assert msgpack.unpackb(receipt)["status"] == "ok"
    tx_path = [bytes.fromhex(h) for h in proof["tx_path"]]
    receipt_path = [bytes.fromhex(h) for h in proof["receipt_path"]]
    index, size = proof["index"], proof["tree_size"]
    assert rfc6962_verify(tx, index, size, tx_path, header["txs_root"])
    assert rfc6962_verify(receipt, index, size, receipt_path, header["receipts_root"])
    assert not rfc6962_verify(tx + b"x", index, size, tx_path, header["txs_root"])

    certificate = {k: bytes.fromhex(v) if isinstance(v, str) else v
                   for k, v in proof["certificate"].items()}  # fmt: skip
    block_hash = _sha(header_bytes)
    assert certificate["block_hash"] == block_hash
    assert certificate["height"] == header["height"]
    digest = _sha(
        b"tally/commit/v1"
        + msgpack.packb(
            {"block_hash": block_hash, "chain": header["chain"], "height": header["height"]},
            use_bin_type=True,
        )
    )
    signers = [
        bytes.fromhex(v["bls"])
        for i, v in enumerate(genesis["validators"])
        if certificate["signers"][i // 8] >> (i % 8) & 1
    ]
    assert len(signers) == 1
    assert bls.fast_aggregate_verify(signers, digest, certificate["agg_sig"])
    assert not bls.fast_aggregate_verify(signers, _sha(digest), certificate["agg_sig"])

    shown = _get(f"{api}/v1/txs/{tx_id}?wait=commit&timeout_ms=1000")
    assert shown["status"] == "committed"
    assert shown["tx"]["method"] == "issue" and shown["tx"]["args"]["to"] == "bigauto"
    by_hash = _get(f"{api}/v1/blocks/{block_hash.hex()}")
    assert by_hash["height"] == header["height"] and tx_id in by_hash["txs"]
    assert _get(f"{api}/v1/orgs/bigauto")["balances"] == {"CNY": 1001}


def test_stream_sends_committed_blocks_and_events(localnet: Any) -> None:
    net = localnet(nodes=1)
    api = net["nodes"][0]["api"]
    url = urlparse(api)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    connection.request("GET", "/v1/stream", headers=sign_request(api + "/v1/stream"))
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    raw = hand_built_tx(
        net["chain"], _seed(net, "bank-a"), {"currency": "CNY", "to": "bigauto", "amount": 7}, 40
    )
    status, _ = _post(api + "/v1/txs", {"txs": [raw.hex()]})
    assert status == 200
    kinds = []
    while "event" not in kinds:  # the socket timeout is the safety net
        line = response.readline().decode().strip()
        if line.startswith("event: "):
            kinds.append(line.removeprefix("event: "))
    assert kinds[:2] == ["block", "event"]
    data = json.loads(response.readline().decode().removeprefix("data: "))
    assert data["event"]["type"] == "issued" and data["event"]["amount"] == 7
    connection.close()


def test_openapi_lists_every_route_and_metrics_are_prometheus(localnet: Any) -> None:
    net = localnet(nodes=1)
    api = net["nodes"][0]["api"]
    spec = _get(api + "/openapi.json")
    assert spec["openapi"].startswith("3.0")
    for path in ("/v1/status", "/v1/txs", "/v1/txs/{id}/proof", "/v1/blocks/{ref}", "/metrics"):
        assert path in spec["paths"]
    with urllib.request.urlopen(api + "/metrics", timeout=30) as response:
        text = response.read().decode()
    for name in ("tally_chain_height", "tally_txs_committed_total", "tally_mempool_size",
                 "tally_commit_latency_seconds_bucket", "tally_consensus_view"):  # fmt: skip
        assert name in text
