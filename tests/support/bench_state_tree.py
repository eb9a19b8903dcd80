"""Cost of the state tree per written key: blocks of --block writes over a tree of --keys keys.

    .venv/bin/python -m tests.support.bench_state_tree [--keys 100000] [--block 1000] [--blocks 30]

A real LevelDB in a temporary folder. The tree is loaded with --keys balances, then each block
writes --block keys (80 % updates of existing keys, 10 % new keys, 10 % deletions) and is
committed with pruning on (the last 100 versions kept). `prepare` is what a replica pays before
it can prepare a proposal (the root); `commit` writes the nodes, the stale record and the root
pointer, and prunes. CPU time of this process, so other load on the machine inflates it less
than wall time; the calibration line (a sha256 and a dict lookup, timed in the same run) says
how fast the machine was meanwhile. A measurement, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import tempfile
import time
from typing import Any

from ledger import codec
from ledger.smt_store import P_SMT_NODE, StateTree
from ledger.store import LevelDBStore


def _calibration() -> dict[str, float]:
    rounds = 200_000
    started = time.process_time()
    for _ in range(rounds):
        hashlib.sha256(b"\x01" * 65).digest()
    sha = (time.process_time() - started) / rounds * 1e6
    table = {i: i for i in range(1000)}
    started = time.process_time()
    for i in range(rounds):
        table.get(i % 1000)
    lookup = (time.process_time() - started) / rounds * 1e6
    return {"sha256_us": round(sha, 3), "dict_get_us": round(lookup, 3)}


def _block(rng: random.Random, live: list[str], size: int, fresh: list[int]) -> dict[str, Any]:
    writes: dict[str, bytes | None] = {}
    while len(writes) < size:
        draw = rng.random()
        if draw < 0.8:
            writes[rng.choice(live)] = codec.encode(rng.randrange(10**9))
        elif draw < 0.9:
            key = f"cash/bal/EUR/org-{fresh[0]}"
            fresh[0] += 1
            live.append(key)
            writes[key] = codec.encode(rng.randrange(10**9))
        else:
            index = rng.randrange(len(live))
            live[index], live[-1] = live[-1], live[index]
            writes[live.pop()] = None
    return writes


def run(keys: int, block: int, blocks: int, cache_nodes: int | None) -> dict[str, Any]:
    rng = random.Random(7)
    before = _calibration()
    with tempfile.TemporaryDirectory() as folder:
        kv = LevelDBStore(folder)
        options = {} if cache_nodes is None else {"cache_nodes": cache_nodes}
        tree = StateTree(kv, keep_versions=100, **options)
        live = [f"cash/bal/EUR/org-{i}" for i in range(keys)]
        version, started = 0, time.process_time()
        for first in range(0, keys, 10_000):
            chunk = live[first : first + 10_000]
            tree.commit(
                tree.prepare(version, {k: codec.encode(rng.randrange(10**9)) for k in chunk})
            )
            version += 1
        load_us = (time.process_time() - started) / keys * 1e6
        prepare, commit, written = [], [], []
        fresh = [keys]
        for _ in range(blocks):
            writes = _block(rng, live, block, fresh)
            started = time.process_time()
            update = tree.prepare(version, writes)
            prepared = time.process_time()
            tree.commit(update)
            prepare.append((prepared - started) / block * 1e6)
            commit.append((time.process_time() - prepared) / block * 1e6)
            written.append(len(update.nodes))
            version += 1
        records = sum(1 for _ in kv.iterate(P_SMT_NODE))
        kv.close()
    total = [p + c for p, c in zip(prepare, commit, strict=True)]
    return {
        "keys": keys,
        "block": block,
        "blocks": blocks,
        "initial_load_us_per_key": round(load_us, 1),
        "prepare_us_per_key": {
            "median": round(statistics.median(prepare), 1),
            "min": round(min(prepare), 1),
        },
        "commit_us_per_key": {
            "median": round(statistics.median(commit), 1),
            "min": round(min(commit), 1),
        },
        "total_us_per_key": {
            "median": round(statistics.median(total), 1),
            "min": round(min(total), 1),
        },
        "nodes_written_per_block": round(statistics.median(written)),
        "node_records_kept": records,
        "calibration_before": before,
        "calibration_after": _calibration(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--block", type=int, default=1_000)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--cache-nodes", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.keys, args.block, args.blocks, args.cache_nodes), indent=2))


if __name__ == "__main__":
    main()
