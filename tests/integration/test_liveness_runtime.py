"""Issue 11's attacks on the node runtime, replayed against four real validators.

- Finding 2: sums pushed past the 64-bit range (the issuer minting 2^63-1 again and again, a bank
  owing 2^63-1 twice in a netting window) fail those txs alone; the chain keeps committing.
- Finding 3: 2,000 padded txs signed by keys of no organization are all refused with
  UNKNOWN_SIGNER, counted in /metrics, and nothing reaches the ledger; an organization flooding
  the mempool fills only its own share, and another's txs still get in and commit.
- Finding 6: a tx accepted by a validator while none of its peers was up reaches the others
  once they start, and commits.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ledger.crypto import Ed25519Key
from ledger.types import SignedTx
from node.ops import localnet as localnet_module
from tests.support.localnet_tools import operator, remember, sign_request, signed_client, wait_until
from wallet.client import ApiError
from wallet.txbuilder import build_tx

pytestmark = pytest.mark.slow

PARAMS = {"view_timeout_ms": 1000, "batch_ms": 20}
BIGGEST = 2**63 - 1
STRANGER_TXS = 2000
PAD_CHARS = 20_000
# What 2,000 padded txs would add if written; the data dirs must grow far less than that.
GROWTH_LIMIT = STRANGER_TXS * PAD_CHARS // 10


def post_txs(api: str, txs: list[SignedTx]) -> list[dict[str, Any]]:
    """POST /v1/txs and return the per-tx results, also when the node refuses them all (400)."""
    body = json.dumps({"txs": [tx.encode().hex() for tx in txs]}).encode()
    headers = {"Content-Type": "application/json", **sign_request(api + "/v1/txs", "POST", body)}
    request = urllib.request.Request(api + "/v1/txs", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        answer = json.loads(error.read())
    results: list[dict[str, Any]] = answer["results"]
    return results


def receipts(api: str, txs: list[SignedTx], seconds: float = 60.0) -> list[dict[str, Any]]:
    """The receipts of `txs`, once every one is committed (the deadline is a safety net)."""
    client = signed_client(api, timeout=seconds + 10)
    return [client.wait_for_receipt(tx.id.hex(), timeout=seconds) for tx in txs]


def issue(net: dict[str, Any], amount: int, to: str = "bigauto") -> SignedTx:
    args = {"currency": "CNY", "to": to, "amount": amount}
    return build_tx(operator(net, "bank-a"), net["chain"], "cash", "issue", args, 900)


def rejections(api: str, code: str) -> float:
    with urllib.request.urlopen(api + "/metrics", timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(f'tally_tx_rejections_total{{code="{code}"}}'):
            return float(line.split()[-1])
    return 0.0


def data_bytes(directory: Path) -> int:
    return sum(
        path.stat().st_size for node in directory.iterdir() if node.is_dir()
        for path in (node / "data").rglob("*") if path.is_file()
    )  # fmt: skip


def test_sums_past_the_64_bit_range_fail_alone_and_the_chain_keeps_committing(
    localnet: Any,
) -> None:
    net = localnet(nodes=4, params=PARAMS)
    apis = [entry["api"] for entry in net["nodes"]]
    minted = [issue(net, BIGGEST) for _ in range(3)]
    assert all(r["accepted"] for r in post_txs(apis[1], minted))
    outcome = receipts(apis[1], minted)
    assert outcome[0]["status"] == "ok" and outcome[-1]["status"] == "failed"

    bank = operator(net, "bank-a")
    close_ms = int(time.time() * 1000) + 3_600_000
    window_args = {"currency": "CNY", "participants": ["bank-a", "bank-b"], "close_ms": close_ms}
    opened = build_tx(bank, net["chain"], "netting", "open", window_args, 900)
    assert post_txs(apis[2], [opened])[0]["accepted"]
    (window,) = receipts(apis[2], [opened])
    owed = {"window": window["result"]["id"], "to": "bank-b", "amount": BIGGEST}
    obligations = [build_tx(bank, net["chain"], "netting", "submit", owed, 900) for _ in range(2)]
    assert all(r["accepted"] for r in post_txs(apis[3], obligations))
    outcome = receipts(apis[3], obligations)
    assert outcome[0]["status"] == "ok" and outcome[1]["status"] == "failed"

    moved = {"currency": "CNY", "to": "acme-steel", "amount": 5}
    after = build_tx(operator(net, "bigauto"), net["chain"], "cash", "transfer", moved, 900)
    assert post_txs(apis[0], [after])[0]["accepted"]
    (receipt,) = receipts(apis[0], [after])
    assert receipt["status"] == "ok"
    top = int(receipt["height"])
    for api in apis:
        wait_until(
            lambda api=api: signed_client(api).height() >= top, what=f"{api} at height {top}"
        )


def test_keys_of_no_organization_cannot_write_to_the_ledger(localnet: Any) -> None:
    net = localnet(nodes=4, params=PARAMS)
    directory = Path(net["dir"])
    apis = [entry["api"] for entry in net["nodes"]]
    heights = [signed_client(api).height() for api in apis]
    before = data_bytes(directory)
    strangers = [Ed25519Key.generate() for _ in range(20)]
    txs = []
    for i in range(STRANGER_TXS):
        padded = {"currency": "CNY", "to": "bigauto", "amount": 1}
        padded["memo"] = secrets.token_hex(PAD_CHARS // 2)
        key = strangers[i % len(strangers)]
        txs.append(build_tx(key, net["chain"], "cash", "transfer", padded, 900))
    codes: list[str | None] = []
    for start in range(0, STRANGER_TXS, 250):
        api = apis[(start // 250) % len(apis)]
        codes += [(r["error"] or {}).get("code") for r in post_txs(api, txs[start : start + 250])]
    assert codes == ["UNKNOWN_SIGNER"] * STRANGER_TXS
    assert sum(rejections(api, "UNKNOWN_SIGNER") for api in apis) == STRANGER_TXS

    # Something committed after the flood proves the nodes went on, and that none of it landed.
    marker = issue(net, 1)
    assert post_txs(apis[0], [marker])[0]["accepted"]
    (receipt,) = receipts(apis[0], [marker])
    top = int(receipt["height"])
    for api in apis:
        client = signed_client(api)
        wait_until(lambda c=client: c.height() >= top, what=f"{api} committing")
        blocks = client.blocks(heights[0] + 1, 100)
        assert sum(len(block["txs"]) for block in blocks) == 1
        assert client.status()["mempool"] == 0
    for tx in txs[:: STRANGER_TXS // 20]:
        with pytest.raises(ApiError) as unknown:
            signed_client(apis[1]).tx(tx.id.hex())
        assert unknown.value.status == 404
    growth = data_bytes(directory) - before
    assert growth < GROWTH_LIMIT, f"data grew {growth} bytes"


def test_an_organization_flooding_the_mempool_fills_only_its_share(localnet: Any) -> None:
    orgs = 10  # the dev consortium's organizations
    share = 20
    net = localnet(nodes=4, params={**PARAMS, "mempool_max_txs": orgs * share})
    apis = [entry["api"] for entry in net["nodes"]]
    flooder, other = operator(net, "bigauto"), operator(net, "acme-steel")
    args = {"currency": "CNY", "to": "ore-mining", "amount": 1}
    flood = [build_tx(flooder, net["chain"], "cash", "transfer", args, 900) for _ in range(300)]
    honest = [build_tx(other, net["chain"], "cash", "transfer", args, 900) for _ in range(5)]
    results = post_txs(apis[1], flood + honest)
    codes = [(r["error"] or {}).get("code") for r in results]
    assert codes[:share] == [None] * share
    assert set(codes[share : len(flood)]) == {"ORG_SHARE_FULL"}
    assert codes[len(flood) :] == [None] * len(honest)
    assert rejections(apis[1], "ORG_SHARE_FULL") == len(flood) - share
    committed = receipts(apis[1], honest)
    assert all(r["status"] in ("ok", "failed") for r in committed)  # ordered: acme has no CNY


def test_a_tx_accepted_while_no_peer_was_up_commits_once_they_start(tmp_path: Path) -> None:
    directory = tmp_path / "net"
    net = remember(localnet_module.init_network(directory, 4, params=PARAMS))
    names = [entry["name"] for entry in net["nodes"]]
    apis = {entry["name"]: entry["api"] for entry in net["nodes"]}
    alone = names[1]  # a backup: the primary of view 0 would propose the tx itself
    try:
        localnet_module.start_node(directory, alone)
        tx = issue(net, 7)
        assert post_txs(apis[alone], [tx])[0]["accepted"]
        assert signed_client(apis[alone]).tx(tx.id.hex())["status"] == "pending"
        for name in names:
            if name != alone:
                localnet_module.start_node(directory, name)
        (receipt,) = receipts(apis[alone], [tx])
        assert receipt["status"] == "ok"
        assert receipts(apis[names[0]], [tx]) == [receipt]
    finally:
        localnet_module.down(directory, grace=5.0)
