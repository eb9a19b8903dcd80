"""Cost of snapshot sync per key, in one process on LevelDB: serve, check + rebuild, install.

    .venv/bin/python -m tests.support.bench_snapshot [--keys 100000]

A tree of --keys records (~80 bytes each, like receivable pieces) is built in 10 blocks; its
last version is served chunk by chunk (ledger.snapshot.serve_chunk) to a SnapshotBuilder on a
fresh genesis-only store, then installed. Prints keys/s of each step (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from contracts.catalog import genesis_state
from ledger.chain import ChainStore
from ledger.genesis import genesis_from_value
from ledger.merkle import merkle_root
from ledger.smt_store import StateTree, encode_writes
from ledger.snapshot import serve_chunk
from ledger.snapshot_build import SnapshotBuilder, SnapshotTarget, install, start_progress
from ledger.store import LevelDBStore
from ledger.types import Block, Certificate, Header
from node.ops.devnet import make_devnet
from node.runtime.snapshot_serve import CHUNK_KEYS, PROOF_RESERVE


def _source(path: Path, keys: int) -> StateTree:
    tree = StateTree(LevelDBStore(path))
    rng = random.Random(1)
    for version in range(10):
        writes = {
            f"rcv/piece/{version}-{i}": {
                "amount": rng.randrange(10**12),
                "holder": "acme-steel",
                "status": "open",
            }
            for i in range(keys // 10)
        }
        tree.commit(tree.prepare(version, encode_writes(writes)))
    return tree


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000)
    keys = parser.parse_args().keys
    folder = Path(tempfile.mkdtemp())
    tree, height = _source(folder / "source", keys), 9
    genesis = genesis_from_value(make_devnet(1, seed=b"bench").genesis)
    store = ChainStore(LevelDBStore(folder / "fresh"))
    store.initialize(genesis, genesis_state(genesis))
    empty = merkle_root(())
    header = Header(
        genesis.chain, height, bytes(32), genesis.time_ms + 1, bytes(32), 0,
        empty, empty, tree.root(height), genesis.validators_hash(),
    )  # fmt: skip
    certificate = Certificate(height, 0, header.hash(), b"\x01", bytes(96))
    target = SnapshotTarget(Block(header, ()).encode(), certificate.encode(), 0)
    builder = SnapshotBuilder.on(store, start_progress(store, height, target))
    serve = check = 0.0
    while not builder.complete:
        started = time.perf_counter()
        after = builder.progress.after
        chunk = serve_chunk(tree, height, after, (1 << 20) - PROOF_RESERVE, CHUNK_KEYS)
        serve += time.perf_counter() - started
        started = time.perf_counter()
        builder.apply(chunk)
        check += time.perf_counter() - started
    started = time.perf_counter()
    tip = install(store, builder.progress)
    installed = time.perf_counter() - started
    if tip.state_root != tree.root(height):
        raise SystemExit("the installed root is not the source's")
    done = builder.progress
    print(
        f"{keys} keys, {done.size} bytes, {done.chunks} chunks: serve {keys / serve:,.0f} keys/s;"
        f" check + rebuild {keys / check:,.0f} keys/s ({check / keys * 1e6:.0f} µs/key);"
        f" install {keys / installed:,.0f} keys/s"
    )


if __name__ == "__main__":
    main()
