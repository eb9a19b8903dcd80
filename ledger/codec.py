"""Canonical MessagePack (DESIGN.md §3): one byte string per value, nothing malleable.

Maps have string keys sorted by their UTF-8 bytes, integers take their shortest form, and there
are no floats or extension types. `decode` re-encodes what it read and rejects anything that does
not round-trip byte for byte, so a signature over an encoding covers exactly one value.
"""

from __future__ import annotations

import threading
from typing import Any

import msgpack

from ledger.errors import DecodeError

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
MAX_DEPTH = 32

Value = Any  # nil | bool | int | str | bytes | list[Value] | dict[str, Value]


# Values msgpack packs as they are. Integer range and text validity are still checked: packb
# raises OverflowError and UnicodeEncodeError, which `encode` turns into coded errors.
_PACKED_AS_IS = frozenset({type(None), bool, int, str, bytes})


def _canonical(value: Value, depth: int = 0) -> Value:
    """Return `value` with every map's keys sorted; raise on anything not encodable.

    Keys sort by code point, which is UTF-8 byte order for every encodable string.
    """
    if depth > MAX_DEPTH:
        raise DecodeError("TOO_DEEP", "value nested too deeply")
    if type(value) in _PACKED_AS_IS:
        return value
    if isinstance(value, dict):
        keys = list(value)
        for key in keys:
            if type(key) is not str:
                raise DecodeError("BAD_MAP_KEY", "map keys must be strings")
        keys.sort()
        return {
            key: item if type(item) in _PACKED_AS_IS else _canonical(item, depth + 1)
            for key in keys
            for item in (value[key],)
        }
    if isinstance(value, list | tuple):
        return [
            item if type(item) in _PACKED_AS_IS else _canonical(item, depth + 1) for item in value
        ]
    if isinstance(value, bool | int | str | bytes):  # subclasses, e.g. IntEnum
        return _canonical(_base_value(value), depth)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise DecodeError("BAD_TYPE", f"type {type(value).__name__} has no canonical encoding")


def _base_value(value: bool | int | str | bytes) -> Value:
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return bytes(value)


_local = threading.local()
# A packer keeps a buffer as large as the largest value it packed; past this it is dropped.
_PACKER_KEEPS_BYTES = 64 * 1024


def pack(value: Value) -> bytes:
    """Pack `value` as plain MessagePack, unchecked, with this thread's packer: `encode` packs
    what it made canonical, and the peer envelope (network/envelope.py) its frames.
    `msgpack.packb` builds a packer per call, which costs about as much as packing a receipt; a
    packer holds a buffer, so threads do not share one, and one that packed a large value (a
    block) is let go rather than keep its buffer. (A packer that raises mid-value resets its
    buffer.)"""
    packer: msgpack.Packer | None = getattr(_local, "packer", None)
    if packer is None:
        packer = _local.packer = msgpack.Packer(use_bin_type=True)
    packed: bytes = packer.pack(value)
    if len(packed) > _PACKER_KEEPS_BYTES:
        _local.packer = None
    return packed


def encode(value: Value) -> bytes:
    """Encode `value` canonically."""
    try:
        packed = pack(_canonical(value))
    except OverflowError:
        raise DecodeError("INT_RANGE", "integer out of the 64-bit range") from None
    except UnicodeEncodeError:
        raise DecodeError("BAD_TEXT", "text is not valid Unicode (lone surrogate)") from None
    return packed


def _no_ext(code: int, data: bytes) -> Any:
    raise DecodeError("BAD_TYPE", "extension types are not allowed")


def decode(data: bytes) -> Value:
    """Decode canonical bytes; anything that would not re-encode identically is refused."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("BAD_TYPE", "expected bytes")
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            use_list=True,
            strict_map_key=True,
            ext_hook=_no_ext,
        )
    except DecodeError:
        raise
    except (ValueError, TypeError, UnicodeDecodeError, msgpack.UnpackException) as exc:
        raise DecodeError("BAD_ENCODING", f"not valid msgpack: {exc}") from None
    _check_decoded(value, 0)
    # Keys are sorted and there are no floats, so msgpack's own packer now gives the canonical
    # form: any difference (non-shortest ints, str/bin confusion, duplicate keys) is malleability.
    if pack(value) != bytes(data):
        raise DecodeError("NON_CANONICAL", "encoding is not canonical")
    return value


_SCALARS = frozenset({type(None), bool, int, str, bytes})


def _check_decoded(value: Value, depth: int) -> None:
    """Refuse floats, timestamps, non-string keys and unsorted maps in a decoded value.

    Keys decoded from UTF-8 hold no surrogates, so code-point order is UTF-8 byte order.
    """
    if depth > MAX_DEPTH:
        raise DecodeError("TOO_DEEP", "value nested too deeply")
    if isinstance(value, dict):
        previous = None
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodeError("BAD_MAP_KEY", "map keys must be strings")
            if previous is not None and key <= previous:
                raise DecodeError(
                    "NON_CANONICAL", "encoding is not canonical (map keys out of order)"
                )
            previous = key
            if type(item) not in _SCALARS:
                _check_decoded(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            if type(item) not in _SCALARS:
                _check_decoded(item, depth + 1)
    elif type(value) not in _SCALARS:
        if isinstance(value, float):
            raise DecodeError("BAD_TYPE", "floats are not allowed")
        raise DecodeError("BAD_TYPE", f"type {type(value).__name__} is not allowed")
