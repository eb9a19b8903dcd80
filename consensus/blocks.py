"""Blocks a replica keeps by hash, so that a NEW-VIEW naming them by hash can be followed.

Prepared proofs, VIEW-CHANGE and NEW-VIEW name blocks by hash (as in the PBFT paper), which
keeps those messages small at any load. A replica that must vote for a re-proposed block it
lacks asks the driver to fetch it from its peers (`FetchBlock`) and checks the answer with
`matches`: the header must hash to the name and the txs must match the header's `txs_root`, so
a lying peer costs a retry, never a wrong vote.

Why a re-proposed block can always be fetched: NEW-VIEW re-proposes only blocks with a prepared
proof, i.e. 2f+1 PREPAREs, so at least f+1 honest replicas voted for it, and an honest replica
writes the block of each of its votes to disk before the vote leaves (`pbft/block/<h>/<hash>`,
or the block is in its committed chain) and keeps it until a stable checkpoint covers the
height. What is kept is bounded: per height, the block of the replica's highest prepared proof
and those of its last `KEEP_VOTED` votes (a height sees a new vote only in a new view whose
NEW-VIEW left it open, so dropping the oldest needs that many failed views in a row at one
height), plus, in memory only, up to `KEEP_SEEN` blocks it executed without voting yet.
"""

from __future__ import annotations

from ledger.merkle import merkle_root
from ledger.types import Block, Height

BLOCK_PREFIX = "pbft/block/"
KEEP_VOTED = 3
KEEP_SEEN = 2


def block_key(height: int, block_hash: bytes) -> str:
    return f"{BLOCK_PREFIX}{height:020d}/{block_hash.hex()}"


def matches(block: Block, height: int, block_hash: bytes) -> bool:
    """True when `block` is the block named `block_hash` at `height`: its header hashes to the
    name, and its txs are the ones the header commits to."""
    header = block.header
    return (
        header.height == height
        and header.hash() == block_hash
        and merkle_root(block.txs) == header.txs_root
    )


class HeldBlocks:
    """The blocks this replica can re-propose or serve, by hash, for heights above its stable
    checkpoint. Methods that change what is on disk return the records to write (an empty
    value deletes one), which the replica emits as `Persist` actions."""

    def __init__(self) -> None:
        self._blocks: dict[bytes, Block] = {}
        self._voted: dict[int, list[bytes]] = {}  # height -> hashes on disk, oldest vote first
        self._proof: dict[int, bytes] = {}  # height -> hash of our highest prepared proof
        self._seen: dict[int, list[bytes]] = {}  # height -> hashes held in memory only

    def get(self, block_hash: bytes) -> Block | None:
        return self._blocks.get(block_hash)

    def on_disk(self, height: int, block_hash: bytes) -> bool:
        return block_hash in self._voted.get(height, ())

    def __len__(self) -> int:
        return len(self._blocks)

    def voted(self, height: Height, block_hash: bytes, block: Block) -> list[tuple[str, bytes]]:
        """We vote for `block` at `height`: put it on disk (before the vote leaves)."""
        hashes = self._voted.setdefault(height, [])
        if block_hash in hashes:
            hashes.remove(block_hash)
            hashes.append(block_hash)
            return []
        self._forget_seen(height, block_hash)
        self._blocks[block_hash] = block
        hashes.append(block_hash)
        records = [(block_key(height, block_hash), block.encode())]
        while len(hashes) > KEEP_VOTED:
            victim = next(h for h in hashes if h != self._proof.get(height))
            hashes.remove(victim)
            self._blocks.pop(victim, None)
            records.append((block_key(height, victim), b""))
        return records

    def proved(self, height: Height, block_hash: bytes) -> None:
        """Our highest prepared proof at `height` names `block_hash`: never evict that one."""
        self._proof[height] = block_hash

    def seen(self, height: Height, block_hash: bytes, block: Block) -> None:
        """Keep in memory a block we checked (executed, or fetched by hash) but did not vote for."""
        if block_hash in self._blocks:
            return
        hashes = self._seen.setdefault(height, [])
        hashes.append(block_hash)
        self._blocks[block_hash] = block
        while len(hashes) > KEEP_SEEN:
            self._blocks.pop(hashes.pop(0), None)

    def _forget_seen(self, height: int, block_hash: bytes) -> None:
        hashes = self._seen.get(height)
        if hashes is not None and block_hash in hashes:
            hashes.remove(block_hash)

    def restore(self, height: Height, block_hash: bytes, block: Block) -> None:
        """A block record read back after a restart (already checked against its name)."""
        self._blocks[block_hash] = block
        self._voted.setdefault(height, []).append(block_hash)

    def prune(self, stable: int) -> list[tuple[str, bytes]]:
        """Drop everything at or below the stable checkpoint; return the records to delete."""
        records: list[tuple[str, bytes]] = []
        for height in [h for h in self._voted if h <= stable]:
            for block_hash in self._voted.pop(height):
                self._blocks.pop(block_hash, None)
                records.append((block_key(height, block_hash), b""))
        for height in [h for h in self._seen if h <= stable]:
            for block_hash in self._seen.pop(height):
                if not any(block_hash in hashes for hashes in self._voted.values()):
                    self._blocks.pop(block_hash, None)
        self._proof = {h: v for h, v in self._proof.items() if h > stable}
        return records
