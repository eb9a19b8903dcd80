"""The typed records store exactly the bytes the contracts stored as plain maps before them.

`data/stored_records_v1.json` was recorded by running tests/support/recorded_story.py against
the contracts as they were when records were dicts (commit 8f2c360): every state value under
rcv/, pay/, fx/, net/ and cash/ as canonical hex, and the state root. Running the same story
now must store the same bytes at the same keys, and each record type must decode and re-encode
those recorded bytes unchanged: a chain written before reads and re-writes identically.

Two deliberate changes since, both of issue 12. Compliance counts every movement of value
against the daily limit, so the story also writes daily-limit counters (pay/used/...) for its
transfers, financing, repayment and net settlement. Invoice identity keys fingerprints by the
normalized number (`rcv/invoice/.../inv1001`) and registers each document (`rcv/doc/<hash>`),
and the story's rejected invoice INV/2 got its own document (it shared INV-1001's), so its tx,
id and records changed. Those keys, the ids and the state root were re-recorded then; every
other record recorded at 8f2c360 kept its bytes.

The second release (issue 13) changed what `state_root` means: it is the root of the state
tree of DESIGN.md §6, not a running hash of write-sets. The stored bytes did not change; the
recorded `state_root` is now the tree's root over them (the first release's root is kept
beside it as `first_release_state_root`), and the test also recomputes that root from every
stored entry with a naive tree written here from §6, not from ledger/smt*.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import ContractError
from contracts.fx_records import Quote
from contracts.netting_records import Obligation, Window
from contracts.payments_records import Payment
from contracts.receivables_records import Offer, Piece
from ledger import codec
from tests.support.recorded_story import ReplayableChain, run_story

RECORDED = json.loads((Path(__file__).parent / "data" / "stored_records_v1.json").read_text())
RECORD_TYPES: dict[str, Any] = {
    "rcv/piece/": Piece,
    "rcv/offer/": Offer,
    "pay/rec/": Payment,
    "fx/quote/": Quote,
    "net/win/": Window,
    "net/ob/": Obligation,
}


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReplayableChain, Any]]:
    chain = ReplayableChain(tmp_path_factory.mktemp("story") / "db")
    ids = run_story(chain)
    yield chain, ids
    chain.close()


def stored_hex(chain: ReplayableChain) -> dict[str, str]:
    return {
        key: codec.encode(value).hex()
        for prefix in ("rcv/", "pay/", "fx/", "net/", "cash/")
        for key, value in chain.store.state_items(prefix)
    }


def naive_state_root(entries: list[tuple[str, bytes]]) -> bytes:
    """§6 from the text: leaf = sha256(0 || sha256(key) || sha256(value)), inner = sha256(1 ||
    left || right), empty = 32 zero bytes, a lone leaf where its path is alone."""

    def sha(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def bit(path: bytes, depth: int) -> int:
        return (path[depth // 8] >> (7 - depth % 8)) & 1

    def subtree(leaves: list[tuple[bytes, bytes]], depth: int) -> bytes:
        if not leaves:
            return bytes(32)
        if len(leaves) == 1:
            return sha(b"\x00" + leaves[0][0] + sha(leaves[0][1]))
        left = [leaf for leaf in leaves if bit(leaf[0], depth) == 0]
        right = [leaf for leaf in leaves if bit(leaf[0], depth) == 1]
        return sha(b"\x01" + subtree(left, depth + 1) + subtree(right, depth + 1))

    return subtree([(sha(key.encode()), value) for key, value in entries], 0)


def test_the_story_stores_the_recorded_bytes_at_the_recorded_keys(
    story: tuple[ReplayableChain, dict[str, str]],
) -> None:
    chain, ids = story
    assert ids == RECORDED["ids"]
    stored = stored_hex(chain)
    assert sorted(stored) == sorted(RECORDED["records"])
    changed = [key for key in stored if stored[key] != RECORDED["records"][key]]
    assert changed == [], f"stored encoding changed for {changed}"
    assert chain.executor.tip.height == RECORDED["height"]
    assert chain.executor.tip.state_root.hex() == RECORDED["state_root"]


def test_the_state_root_is_the_tree_root_over_every_stored_entry(
    story: tuple[ReplayableChain, dict[str, str]],
) -> None:
    chain, _ = story
    entries = [(key, codec.encode(value)) for key, value in chain.store.state_items("")]
    assert naive_state_root(entries) == chain.executor.tip.state_root
    assert naive_state_root(entries).hex() == RECORDED["state_root"]
    assert RECORDED["state_root"] != RECORDED["first_release_state_root"]


def recorded_of(prefix: str) -> list[tuple[str, bytes]]:
    return [
        (key, bytes.fromhex(raw))
        for key, raw in sorted(RECORDED["records"].items())
        if key.startswith(prefix)
    ]


@pytest.mark.parametrize("prefix", sorted(RECORD_TYPES))
def test_each_record_type_reencodes_recorded_bytes_exactly(prefix: str) -> None:
    record_type = RECORD_TYPES[prefix]
    recorded = recorded_of(prefix)
    assert recorded, f"the story records nothing under {prefix}"
    for key, raw in recorded:
        record = record_type.decode(raw)
        assert record.encode() == raw, key
        assert record.to_value() == codec.decode(raw), key
        assert record_type.from_value(record.to_value()) == record, key


def test_the_recorded_records_cover_every_shape() -> None:
    """Financed and split pieces, a taken and an open offer, both payment kinds, a window
    settled and one open: the byte checks above saw each variant of each record."""
    pieces = [Piece.decode(raw) for _, raw in recorded_of("rcv/piece/")]
    assert any(p.financing is not None for p in pieces)
    assert any(p.parent is not None for p in pieces) and any(p.children for p in pieces)
    assert {p.status for p in pieces} == {"settled", "rejected"}
    assert {o.status for o in (Offer.decode(raw) for _, raw in recorded_of("rcv/offer/"))} == {
        "open",
        "taken",
    }
    assert {p.kind for p in (Payment.decode(raw) for _, raw in recorded_of("pay/rec/"))} == {
        "send",
        "fx",
    }
    windows = [Window.decode(raw) for _, raw in recorded_of("net/win/")]
    assert {w.status for w in windows} == {"open", "settled"}
    assert all((w.settlement is None) == (w.status == "open") for w in windows)


@pytest.mark.parametrize("prefix", sorted(RECORD_TYPES))
def test_a_stored_record_of_another_shape_is_refused_with_bad_record(prefix: str) -> None:
    _, raw = recorded_of(prefix)[0]
    value = codec.decode(raw)
    with pytest.raises(ContractError) as extra:
        RECORD_TYPES[prefix].from_value({**value, "zz_unknown": 1})
    missing = dict(value)
    missing.pop(sorted(missing)[0])
    with pytest.raises(ContractError) as short:
        RECORD_TYPES[prefix].from_value(missing)
    assert extra.value.code == short.value.code == "BAD_RECORD"
