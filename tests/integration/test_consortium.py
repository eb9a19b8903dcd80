"""A consortium set up as real banks would: each makes its own keys in its own folder, only
public files travel, genesis is assembled from them, and `tally node start --config` processes
commit transactions signed with an organization's encrypted keystore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_consortium_support import (
    BANKS,
    Bank,
    assemble,
    bank_signer,
    file_texts,
    get_json,
    make_keys,
    running_nodes,
    secrets_in,
    tally,
    wait_until,
)

from ledger.genesis import load_genesis
from node.ops.localnet import free_ports

pytestmark = pytest.mark.slow


def _banks(root: Path, count: int) -> list[Bank]:
    ports = free_ports(2 * count)
    banks = []
    for index, org in enumerate(BANKS[:count]):
        home = root / org
        home.mkdir()
        p2p = f"127.0.0.1:{ports[count + index]}"
        banks.append(Bank(org, home, p2p, "127.0.0.1", ports[index], p2p))
    return banks


@pytest.mark.parametrize("count", [1, 4], ids=["1-bank", "4-banks"])
def test_banks_keep_their_own_keys_and_commit_together(tmp_path: Path, count: int) -> None:
    banks = _banks(tmp_path, count)
    for bank in banks:
        make_keys(bank)
    genesis_hash = assemble(banks, tmp_path / "coordinator")

    # No folder holds another bank's secret, and the coordinator holds none at all.
    own = {bank.org: secrets_in(bank.home) for bank in banks}
    for bank in banks:
        assert len(own[bank.org]) == 3  # Ed25519 seed, BLS secret, admin keystore
        texts = file_texts(bank.home)
        for other in banks:
            if other is not bank:
                assert not any(secret in texts for secret in own[other.org])
    assert secrets_in(tmp_path / "coordinator") == set()
    assert not any(
        secret in file_texts(tmp_path / "coordinator") for s in own.values() for secret in s
    )
    for bank in banks:
        assert load_genesis(bank.home / "genesis.json").hash().hex() == genesis_hash

    reader = bank_signer(banks[-1])  # reads as the bank the issue pays: its balance is its own
    with running_nodes(banks):
        for bank in banks:
            status = wait_until(
                lambda b=bank: get_json(b.api + "/v1/status", signer=reader), f"{bank.api}"
            )
            assert status["chain"] == "tally-consortium"
        if count > 1:
            wait_until(
                lambda: all(
                    get_json(b.api + "/v1/status", signer=reader)["peers"] == count - 1
                    for b in banks
                ),
                "every validator to see its peers",
            )
        first = banks[0]
        output = tally(
            "cash", "issue", "EUR", banks[-1].org, "1,234.56",
            "--keystore", "org/admin.keystore.json", "--node", first.api, "--json",
            cwd=first.home,
        )  # fmt: skip
        assert "error" not in json.loads(output)
        # Every validator, not only the one that took the tx, shows the committed balance.
        for bank in banks:
            wait_until(
                lambda b=bank: (
                    get_json(f"{b.api}/v1/orgs/{banks[-1].org}", signer=reader)["balances"].get(
                        "EUR"
                    )
                    == 123_456
                ),
                f"{bank.validator} to commit the issue",
            )
        heights = {get_json(b.api + "/v1/status", signer=reader)["height"] for b in banks}
        assert min(heights) >= 1
