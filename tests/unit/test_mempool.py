"""Mempool entry checks, FIFO order, bounds, organizations' shares and the recent-commit window.

Signers are looked up by the registry's rule over the dev consortium's genesis state.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contracts import registry
from contracts.catalog import genesis_state
from ledger.crypto import Ed25519Key
from ledger.genesis import Genesis, genesis_from_value
from ledger.types import SignedTx
from node.ops.devnet import make_devnet
from node.runtime.admission import Signers
from node.runtime.mempool import Mempool
from node.runtime.recent_commits import RecentCommits
from wallet.txbuilder import build_tx

DEVNET = make_devnet(1, seed=b"mempool-tests")
ORGS = len(DEVNET.genesis["orgs"])


def _signers(state: dict[str, Any]) -> Signers:
    def active_orgs() -> int:
        records = (v for k, v in state.items() if k.startswith(registry.ORG_PREFIX))
        return sum(1 for record in records if not record.get("suspended"))

    return Signers(state.get, active_orgs)


def _pool(
    tip: int = 0,
    committed: set[bytes] | None = None,
    state: dict[str, Any] | None = None,
    max_bytes: int | None = None,
    **params: int,
) -> Mempool:
    raw: dict[str, Any] = {**DEVNET.genesis, "params": params}
    genesis = genesis_from_value(raw)
    stored = committed or set()
    signers = _signers(genesis_state(genesis) if state is None else state)
    sizes = {} if max_bytes is None else {"max_bytes": max_bytes}
    return Mempool(genesis, lambda tx_id: tx_id in stored, lambda: tip, signers=signers, **sizes)


def _tx(
    valid_until: int = 50, amount: int = 1, chain: str = "tally-dev", org: str = "bank-a"
) -> SignedTx:
    args = {"currency": "CNY", "to": "bigauto", "amount": amount}
    return build_tx(DEVNET.key(org), chain, "cash", "issue", args, valid_until)


def _codes(pool: Mempool, raws: list[bytes]) -> list[str | None]:
    return [None if a.error is None else a.error.code for a in asyncio.run(pool.submit(raws))]


def test_valid_txs_are_admitted_in_fifo_order() -> None:
    pool = _pool()
    txs = [_tx(amount=i + 1) for i in range(5)]
    assert _codes(pool, [tx.encode() for tx in txs]) == [None] * 5
    assert [tx.id for tx in pool.candidates()] == [tx.id for tx in txs]
    assert all(pool.contains(tx.id) for tx in txs)


def test_each_entry_check_has_its_code() -> None:
    pool = _pool(tip=10, max_tx_validity=100, max_tx_bytes=2000)
    good = _tx(valid_until=20)
    forged = SignedTx(good.body_bytes, bytes(64), good.body, good.id)
    raws = [
        b"\xc1",
        good.encode() + b"\x00",
        forged.encode(),
        _tx(chain="elsewhere").encode(),
        _tx(valid_until=10).encode(),
        _tx(valid_until=111).encode(),
        build_tx(DEVNET.key("bank-a"), "tally-dev", "cash", "x", {"m": "y" * 3000}, 20).encode(),
    ]
    assert _codes(pool, raws) == [
        "BAD_ENCODING",
        "BAD_ENCODING",
        "BAD_SIGNATURE",
        "WRONG_CHAIN",
        "EXPIRED",
        "VALIDITY_TOO_LONG",
        "TX_TOO_LARGE",
    ]
    assert _codes(pool, [_tx(valid_until=110).encode()]) == [None]
    assert len(pool) == 1
    assert pool.rejections["BAD_SIGNATURE"] == 1


def test_duplicates_in_one_batch_pending_or_committed_are_refused() -> None:
    committed = _tx(amount=99)
    pool = _pool(tip=1, committed={committed.id})
    tx = _tx()
    assert _codes(pool, [tx.encode(), tx.encode()]) == [None, "DUPLICATE_TX"]
    assert _codes(pool, [tx.encode(), committed.encode()]) == ["DUPLICATE_TX", "DUPLICATE_TX"]


def test_full_pool_refuses_with_mempool_full() -> None:
    pool = _pool(mempool_max_txs=2 * ORGS)
    orgs = [org["id"] for org in DEVNET.genesis["orgs"]]
    raws = [_tx(amount=i + 1, org=org).encode() for org in orgs for i in range(2)]
    assert _codes(pool, raws) == [None] * 2 * ORGS
    assert _codes(pool, [_tx(amount=9).encode()]) == ["MEMPOOL_FULL"]
    pool.committed(1, [next(pool.candidates()).id])
    assert _codes(pool, [_tx(amount=7).encode()]) == [None]


def test_full_pool_by_bytes_refuses_with_mempool_full() -> None:
    first = _tx(amount=1)
    pool = _pool(max_bytes=len(first.encode()) + 10)
    assert _codes(pool, [first.encode(), _tx(amount=2, org="bigauto").encode()]) == [
        None,
        "MEMPOOL_FULL",
    ]


def test_keys_of_no_organization_are_refused_with_unknown_signer() -> None:
    pool = _pool()
    stranger = Ed25519Key.generate()
    args = {"currency": "CNY", "to": "bigauto", "amount": 1}
    raws = [build_tx(stranger, "tally-dev", "cash", "issue", args, 50).encode() for _ in range(3)]
    assert _codes(pool, raws) == ["UNKNOWN_SIGNER"] * 3
    assert len(pool) == 0 and pool.size_bytes == 0
    assert pool.rejections == {"UNKNOWN_SIGNER": 3}


def test_keys_of_a_suspended_organization_are_refused_with_unknown_signer() -> None:
    genesis: Genesis = genesis_from_value(DEVNET.genesis)
    state = genesis_state(genesis)
    state["reg/org/bank-a"] = {**state["reg/org/bank-a"], "suspended": True}
    pool = _pool(state=state)
    admissions = asyncio.run(pool.submit([_tx().encode(), _tx(org="bigauto").encode()]))
    assert [a.error.code if a.error else None for a in admissions] == ["UNKNOWN_SIGNER", None]
    assert admissions[0].error is not None and "suspended" in admissions[0].error.message


def test_a_registry_change_is_seen_after_the_block_that_made_it_commits() -> None:
    genesis: Genesis = genesis_from_value(DEVNET.genesis)
    state = genesis_state(genesis)
    newcomer = Ed25519Key.generate()
    pool = _pool(state=state)
    args = {"currency": "CNY", "to": "bigauto", "amount": 1}
    assert _codes(pool, [build_tx(newcomer, "tally-dev", "cash", "issue", args, 50).encode()]) == [
        "UNKNOWN_SIGNER"
    ]
    state["reg/key/" + newcomer.public.hex()] = {"org": "bank-a", "role": "operator"}
    pool.committed(1, [])
    assert _codes(pool, [build_tx(newcomer, "tally-dev", "cash", "issue", args, 50).encode()]) == [
        None
    ]


def test_one_organization_flooding_fills_only_its_own_share() -> None:
    pool = _pool(mempool_max_txs=3 * ORGS)
    flood = [_tx(amount=i + 1).encode() for i in range(10 * ORGS)]
    codes = _codes(pool, flood)
    assert codes.count(None) == 3 and codes[3:] == ["ORG_SHARE_FULL"] * (len(flood) - 3)
    assert _codes(pool, [_tx(amount=i + 1, org="bigauto").encode() for i in range(3)]) == [None] * 3
    assert pool.rejections["ORG_SHARE_FULL"] == len(flood) - 3
    pool.committed(1, [next(pool.candidates()).id])  # one of bank-a's leaves: room for one more
    assert _codes(pool, [_tx(amount=99).encode(), _tx(amount=98).encode()]) == [
        None,
        "ORG_SHARE_FULL",
    ]


def test_an_organization_share_is_bounded_in_bytes_too() -> None:
    big = {"currency": "CNY", "to": "bigauto", "amount": 1, "memo": "x" * 4000}
    tx_bytes = len(build_tx(DEVNET.key("bank-a"), "tally-dev", "cash", "x", big, 50).encode())
    pool = _pool(max_bytes=ORGS * (2 * tx_bytes + 100), max_tx_bytes=tx_bytes + 10)
    raws = [
        build_tx(DEVNET.key("bank-a"), "tally-dev", "cash", "x", big, 50).encode() for _ in range(3)
    ]
    assert _codes(pool, raws) == [None, None, "ORG_SHARE_FULL"]
    assert _codes(pool, [_tx(org="bigauto").encode()]) == [None]


def _threaded_pool(threads: ThreadPoolExecutor) -> Mempool:
    genesis = genesis_from_value(DEVNET.genesis)
    signers = _signers(genesis_state(genesis))
    return Mempool(genesis, lambda _: False, lambda: 0, verify_pool=threads, signers=signers)


def test_large_batches_verify_in_threads_with_the_same_verdicts() -> None:
    with ThreadPoolExecutor(2) as threads:
        pool = _threaded_pool(threads)
        txs = [_tx(amount=i + 1) for i in range(100)]
        raws = [tx.encode() for tx in txs]
        raws[37] = SignedTx(txs[37].body_bytes, bytes(64), txs[37].body, txs[37].id).encode()
        codes = _codes(pool, raws)
    assert codes[37] == "BAD_SIGNATURE"
    assert codes.count(None) == 99


def test_committed_ids_are_refused_then_forgotten_after_the_validity_window() -> None:
    asked: list[bytes] = []

    def in_store(tx_id: bytes) -> bool:
        asked.append(tx_id)
        return False

    recent = RecentCommits(start_height=5, window=10, in_store=in_store)
    recent.add(6, [b"a"])
    assert recent.contains(b"a", 100)
    assert not recent.contains(b"b", 100) and asked == []  # beyond anything stored before start
    assert not recent.contains(b"b", 15) and asked == [b"b"]  # could predate the restart
    recent.add(17, [b"c"])
    assert not recent.contains(b"a", 100)  # committed at 6, its validity ended by 16
    assert recent.contains(b"c", 100)


def test_recent_commits_hold_at_most_max_ids_and_ask_the_store_for_the_dropped() -> None:
    stored: set[bytes] = set()
    recent = RecentCommits(start_height=0, window=1000, in_store=stored.__contains__, max_ids=4)
    for height in range(1, 11):
        ids = [bytes([height, i]) for i in range(2)]
        stored.update(ids)
        recent.add(height, ids)
        assert len(recent) <= 4
    assert recent.contains(bytes([1, 0]), 1005)  # dropped from memory, found in the store
    assert recent.contains(bytes([10, 1]), 2000)  # still in memory
    assert not recent.contains(b"fresh", 1005)


def test_recent_commits_started_at_genesis_never_ask_the_store() -> None:
    asked: list[bytes] = []
    recent = RecentCommits(start_height=0, window=10, in_store=lambda i: bool(asked.append(i)))
    recent.add(1, [b"a"])
    assert recent.contains(b"a", 5) and not recent.contains(b"b", 5) and asked == []


def test_after_a_snapshot_the_pool_asks_the_store_about_ids_below_the_new_tip() -> None:
    committed = _tx(valid_until=60)
    tip = [0]
    pool = Mempool(
        genesis_from_value({**DEVNET.genesis, "params": {}}),
        lambda tx_id: tx_id == committed.id,
        lambda: tip[0],
        signers=_signers(genesis_state(genesis_from_value({**DEVNET.genesis, "params": {}}))),
    )
    tip[0] = 40  # a snapshot of height 40 installed under the pool
    pool.rebase()
    assert _codes(pool, [committed.encode()]) == ["DUPLICATE_TX"]


def test_a_block_of_unseen_txs_is_decoded_once_and_verified_in_threads_before_execution() -> None:
    with ThreadPoolExecutor(2) as threads:
        pool = _threaded_pool(threads)
        txs = [_tx(amount=i + 1) for i in range(100)]
        forged = SignedTx(txs[37].body_bytes, bytes(64), txs[37].body, txs[37].id)
        raws = tuple(
            [tx.encode() for tx in txs[:37]] + [forged.encode()] + [tx.encode() for tx in txs[38:]]
        )
        decode = pool.block_decoder((*raws, b"\x00not a tx"))
    decoded = [decode(raw) for raw in raws]
    assert [tx.id for tx in decoded] == [tx.id for tx in txs]
    assert decode(raws[5]) is decoded[5]  # the same object: decoded once
    # Checked already, so no verification is left for the executor; the forged one still fails.
    assert all(pool._verified.get(tx.id) == tx.sig for i, tx in enumerate(txs) if i != 37)
    assert not pool.signature_ok(decoded[37])


def test_gossip_of_a_tx_committed_meanwhile_needs_no_decode() -> None:
    """Under load a block often reaches a backup before the gossip of some of its txs
    (issue 19: a third of a backup's txs, each then decoded twice). Once committed, the late
    copy is dropped unread; anything unknown, and a non-canonical copy, still gets the look."""
    pool = _pool()
    pending, committed, fresh = _tx(amount=1), _tx(amount=2), _tx(amount=3)
    assert _codes(pool, [pending.encode(), committed.encode()]) == [None, None]
    pool.committed(1, [committed.id])
    assert pool.needs_no_look(pending.encode()) and pool.needs_no_look(committed.encode())
    assert not pool.needs_no_look(fresh.encode())
    raw = committed.encode()  # the same value with a wider length prefix: not canonical
    wider = raw[:6] + b"\xc5" + len(committed.body_bytes).to_bytes(2, "big") + raw[8:]
    assert not pool.needs_no_look(wider)
    assert _codes(pool, [wider]) == ["NON_CANONICAL"]
