"""The canonical codec: every value has one encoding, and every other byte string is refused."""

from __future__ import annotations

import struct
import threading
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.errors import DecodeError

INTS = st.integers(min_value=codec.INT_MIN, max_value=codec.INT_MAX)
SCALARS = st.none() | st.booleans() | INTS | st.text(max_size=40) | st.binary(max_size=40)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)


def _lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_property_round_trip(value: Any) -> None:
    encoded = codec.encode(value)
    assert codec.decode(encoded) == _lists(value)
    assert codec.encode(codec.decode(encoded)) == encoded


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), INTS, min_size=2, max_size=8))
def test_property_map_order_does_not_change_the_encoding(mapping: dict[str, int]) -> None:
    reversed_map = dict(reversed(list(mapping.items())))
    assert codec.encode(mapping) == codec.encode(reversed_map)
    keys = list(codec.decode(codec.encode(mapping)))
    assert keys == sorted(keys, key=lambda k: k.encode())


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_property_msgpack_agrees_for_already_canonical_values(value: Any) -> None:
    """Our encoding is plain msgpack of the key-sorted value: any msgpack reader can read it."""
    assert msgpack.unpackb(codec.encode(value), raw=False, strict_map_key=False) == _lists(value)


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64))
def test_property_arbitrary_bytes_decode_canonically_or_raise_decode_error(data: bytes) -> None:
    try:
        value = codec.decode(data)
    except DecodeError:
        return
    assert codec.encode(value) == data


@settings(max_examples=300, deadline=None)
@given(VALUES, st.binary(min_size=1, max_size=4))
def test_property_trailing_bytes_are_refused(value: Any, extra: bytes) -> None:
    with pytest.raises(DecodeError):
        codec.decode(codec.encode(value) + extra)


def _raw(value: Any) -> bytes:
    """msgpack as-is: no key sorting, whatever form msgpack picks."""
    return msgpack.packb(value, use_bin_type=True)


NON_CANONICAL = {
    "unsorted_keys": _raw({"b": 1, "a": 2}),
    "nested_unsorted_keys": _raw({"x": {"z": 1, "y": 2}}),
    "duplicate_keys": b"\x82\xa1a\x01\xa1a\x02",
    "uint8_for_1": b"\xcc\x01",
    "uint16_for_200": b"\xcd\x00\xc8",
    "uint32_for_300": b"\xce\x00\x00\x01\x2c",
    "int8_for_minus_1": b"\xd0\xff",
    "int16_for_minus_100": b"\xd1\xff\x9c",
    "int64_for_0": b"\xd3" + b"\x00" * 8,
    "str8_for_short_string": b"\xd9\x01a",
    "bin16_for_short_bytes": b"\xc5\x00\x01a",
    "array16_for_one_item": b"\xdc\x00\x01\xc0",
    "map16_for_one_pair": b"\xde\x00\x01\xa1a\xc0",
}
FORBIDDEN_TYPES = {
    "float64": b"\xcb" + struct.pack(">d", 1.5),
    "float32": b"\xca" + struct.pack(">f", 1.5),
    "float_in_list": _raw([1, 2.5]),
    "float_in_map": _raw({"a": 0.0}),
    "fixext1": b"\xd4\x01\x00",
    "ext8": b"\xc7\x01\x05\x00",
    "timestamp_ext": b"\xd6\xff\x00\x00\x00\x00",
}
MALFORMED = {
    "empty": b"",
    "truncated_str": b"\xa3ab",
    "truncated_bin": b"\xc4",
    "reserved_byte": b"\xc1",
    "trailing_byte": b"\x01\x00",
    "two_values": _raw("a") + _raw("b"),
    "invalid_utf8": b"\xa1\xff",
    "overlong_utf8": b"\xa2\xc0\xaf",
    "surrogate_utf8": b"\xa3\xed\xa0\x80",
    "int_map_key": b"\x81\x01\x01",
    "bin_map_key": b"\x81\xc4\x01a\x01",
    "deep_nesting": b"\x91" * 5000 + b"\xc0",
}


@pytest.mark.parametrize("name", sorted(NON_CANONICAL))
def test_non_canonical_encodings_are_refused(name: str) -> None:
    with pytest.raises(DecodeError) as error:
        codec.decode(NON_CANONICAL[name])
    assert error.value.code == "NON_CANONICAL"


@pytest.mark.parametrize("name", sorted(FORBIDDEN_TYPES))
def test_floats_and_extension_types_are_refused(name: str) -> None:
    with pytest.raises(DecodeError) as error:
        codec.decode(FORBIDDEN_TYPES[name])
    assert error.value.code == "BAD_TYPE"


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_bytes_are_refused(name: str) -> None:
    with pytest.raises(DecodeError) as error:
        codec.decode(MALFORMED[name])
    assert error.value.code in {"BAD_ENCODING", "NON_CANONICAL", "TOO_DEEP", "BAD_MAP_KEY"}


def test_decode_refuses_non_bytes() -> None:
    with pytest.raises(DecodeError):
        codec.decode("a string")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1.5, "BAD_TYPE"),
        ({"a": 1.0}, "BAD_TYPE"),
        ({1: "a"}, "BAD_MAP_KEY"),
        ({b"k": 1}, "BAD_MAP_KEY"),
        ({1, 2}, "BAD_TYPE"),
        (object(), "BAD_TYPE"),
        (2**64, "INT_RANGE"),
        (-(2**63) - 1, "INT_RANGE"),
    ],
)
def test_values_without_an_encoding_are_refused(value: Any, code: str) -> None:
    with pytest.raises(DecodeError) as error:
        codec.encode(value)
    assert error.value.code == code


def test_integer_range_edges_encode() -> None:
    for value in (codec.INT_MIN, -1, 0, 127, 128, 2**63, codec.INT_MAX):
        assert codec.decode(codec.encode(value)) == value


def test_nesting_limit() -> None:
    value: Any = None
    for _ in range(codec.MAX_DEPTH + 2):
        value = [value]
    with pytest.raises(DecodeError) as error:
        codec.encode(value)
    assert error.value.code == "TOO_DEEP"


def test_known_encodings() -> None:
    """A few bytes pinned by hand, so the format cannot drift unnoticed."""
    assert codec.encode({"b": 1, "a": b"\x00"}) == b"\x82\xa1a\xc4\x01\x00\xa1b\x01"
    assert codec.encode([None, True, False, -1, "x"]) == b"\x95\xc0\xc3\xc2\xff\xa1x"
    assert codec.encode(2**64 - 1) == b"\xcf" + b"\xff" * 8


def test_keys_sort_by_utf8_bytes() -> None:
    keys = ["b", "a", "aa", "B", "é", "z", "\U0001f600", "\uffff"]
    decoded = codec.decode(codec.encode(dict.fromkeys(keys, 0)))
    assert list(decoded) == sorted(keys, key=lambda k: k.encode())


@pytest.mark.parametrize("value", ["\ud800", {"\udfff": 1}, {"k": ["ok", "\ud83d"]}])
def test_lone_surrogates_are_a_decode_error(value: Any) -> None:
    with pytest.raises(DecodeError):
        codec.encode(value)


# -- the reused packer (one per thread) ------------------------------------------------------


@pytest.mark.parametrize("bad", [[1, 2**64], ["ok", "\ud800"], [1, 2.5]])
def test_a_value_that_fails_to_encode_leaves_nothing_behind_for_the_next(bad: Any) -> None:
    with pytest.raises(DecodeError):
        codec.encode(bad)
    assert codec.encode([7, "x"]) == msgpack.packb([7, "x"], use_bin_type=True)


def test_threads_encoding_at_once_each_get_their_own_value() -> None:
    """Each thread packs with its own packer: values encoded side by side never mix."""
    wrong: list[int] = []

    def work(seed: int) -> None:
        for count in range(2000):
            value = {"seed": seed, "n": count, "pad": bytes([seed]) * (count % 50)}
            if codec.decode(codec.encode(value)) != value:
                wrong.append(seed)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_a_large_value_does_not_keep_its_buffer_in_the_thread() -> None:
    """A packer keeps a buffer as large as the largest value it packed; after a block-sized
    value the thread's packer is let go, so a node's memory does not hold one per thread."""
    big = codec.encode(b"\x01" * (codec._PACKER_KEEPS_BYTES + 1))
    assert codec.decode(big) == b"\x01" * (codec._PACKER_KEEPS_BYTES + 1)
    assert getattr(codec._local, "packer", None) is None
    codec.encode(1)
    assert getattr(codec._local, "packer", None) is not None
