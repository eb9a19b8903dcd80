"""`ChainStore.state_items`: ordered, bounded walks of state with a cursor, over both stores.

The read models page through indexes with it, so a page must start strictly past its cursor,
stay inside its prefix, stop at its limit, and pages must together list every entry once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.chain import P_STATE, ChainStore
from ledger.store import KeyValueStore, LevelDBStore, MemoryStore

KEYS = ["a/", "a/0", "a/00", "a/1", "a/10", "a/x/y", "a0", "b/1", "a/\u00e9"]


def filled(kv: KeyValueStore, keys: list[str]) -> ChainStore:
    kv.write({P_STATE + key.encode(): codec.encode(index) for index, key in enumerate(keys)})
    return ChainStore(kv)


@pytest.fixture(params=["leveldb", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainStore]:
    kv: KeyValueStore = (
        LevelDBStore(tmp_path / "db") if request.param == "leveldb" else MemoryStore()
    )
    yield filled(kv, KEYS)
    kv.close()


def keys(store: ChainStore, prefix: str, **walk: object) -> list[str]:
    return [key for key, _ in store.state_items(prefix, **walk)]  # type: ignore[arg-type]


def test_a_walk_stays_in_its_prefix_in_byte_order(store: ChainStore) -> None:
    assert keys(store, "a/") == ["a/", "a/0", "a/00", "a/1", "a/10", "a/x/y", "a/\u00e9"]
    assert keys(store, "a/", reverse=True) == list(reversed(keys(store, "a/")))
    assert [v for _, v in store.state_items("b/")] == [KEYS.index("b/1")]


def test_after_starts_strictly_past_the_cursor_in_either_direction(store: ChainStore) -> None:
    assert keys(store, "a/", after="0") == ["a/00", "a/1", "a/10", "a/x/y", "a/\u00e9"]
    assert keys(store, "a/", after="05") == ["a/1", "a/10", "a/x/y", "a/\u00e9"]
    assert keys(store, "a/", after="1", reverse=True) == ["a/00", "a/0", "a/"]
    assert keys(store, "a/", after="", reverse=True) == []
    assert keys(store, "a/", after="\u00e9") == []


def test_limit_bounds_a_walk(store: ChainStore) -> None:
    assert keys(store, "a/", limit=2) == ["a/", "a/0"]
    assert keys(store, "a/", limit=2, after="1", reverse=True) == ["a/00", "a/0"]
    assert keys(store, "a/", limit=0) == []
    assert len(keys(store, "a/", limit=100)) == 7


names = st.text(alphabet="ab/0\u00e9", min_size=0, max_size=4)


@settings(max_examples=60, deadline=None)
@given(st.lists(names, unique=True, max_size=20), st.integers(1, 5), st.booleans())
def test_pages_list_every_entry_once_in_order(raw: list[str], limit: int, reverse: bool) -> None:
    prefix = "p/"
    with tempfile.TemporaryDirectory() as tmp:
        kv = LevelDBStore(Path(tmp) / "db")
        try:
            store = filled(kv, [prefix + name for name in raw] + ["p", "q/" + "x"])
            seen: list[str] = []
            cursor = None
            while True:
                page = keys(store, prefix, after=cursor, limit=limit, reverse=reverse)
                seen += page
                if len(page) < limit:
                    break
                cursor = page[-1].removeprefix(prefix)
            everything = sorted((prefix + name for name in raw), key=str.encode, reverse=reverse)
            assert seen == everything
        finally:
            kv.close()


def test_a_key_equal_to_the_prefix_is_listed_backward_too(tmp_path: Path) -> None:
    """plyvel's reverse iterator with a lower bound skipped a key equal to the bound when it
    was the only one in range; the LevelDB store must list it like the memory store does."""
    for kv in (LevelDBStore(tmp_path / "db"), MemoryStore()):
        store = filled(kv, ["p/", "q/1"])
        assert keys(store, "p/", reverse=True) == ["p/"]
        assert keys(store, "p/", reverse=True, after="a") == ["p/"]
        assert [key for key, _ in kv.iterate(P_STATE + b"p/", reverse=True)] == [P_STATE + b"p/"]
        kv.close()
