"""Proof, from a running chain, that the blocks since a height changed no state at all.

For tests that send refused transactions to a localnet: each refusal is ordered, committed with
a failed receipt and its writes dropped (node/runtime/executor.py). A block's state root is the
root of the sparse Merkle tree over every state key (DESIGN.md §6), so a block wrote nothing
exactly when its root is its parent's. That compares every state key, not only those an API
shows: balances, supply, pieces and their indexes, offers, holds, invoice fingerprints and
document hashes, daily-limit counters, proposals. The headers are
decoded from the bytes the node serves and linked by hash from the height the test marked, so the
roots compared are the ones the validators certified.
"""

from __future__ import annotations

from ledger.types import Header
from wallet.client import Client


def header_at(client: Client, height: int) -> Header:
    """The header of block `height` as the node encodes it, checked against the hash it lists."""
    block = client.block(height)
    header = Header.decode(bytes.fromhex(block["header"]))
    assert header.hash().hex() == block["hash"], f"block {height}: header and hash differ"
    return header


def assert_no_state_change_since(client: Client, height: int) -> int:
    """Every block after `height` up to the node's tip wrote no state key; how many there were.

    At least one block must follow `height`: a refusal is ordered in a block, and a test that
    saw none committed would prove nothing."""
    tip = client.height()
    assert tip > height, f"no block was committed after height {height}"
    previous = header_at(client, height)
    for current_height in range(height + 1, tip + 1):
        header = header_at(client, current_height)
        assert header.prev == previous.hash(), f"block {current_height} does not follow its parent"
        assert header.state_root == previous.state_root, f"block {current_height} changed the state"
        previous = header
    return tip - height
