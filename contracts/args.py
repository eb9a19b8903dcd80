"""Argument validators: each takes a decoded value and returns it, or raises BAD_ARGUMENT.

Methods declare their arguments as `{"name": validator}`; `optional(v)` marks one that may be
absent. Every value has already passed the canonical codec, so only shape and range are left.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from contracts.amounts import MAX_AMOUNT
from contracts.errors import fail
from ledger.dates import is_calendar_date

Validator = Callable[[str, Any], Any]

# Patterns are used with fullmatch: `$` would also match before a trailing newline.
_ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_JURISDICTION = re.compile(r"[A-Z]{2}")
_HEX32 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Optional:
    validator: Validator
    default: Any = None


def optional(validator: Validator, default: Any = None) -> Optional:
    return Optional(validator, default)


def _bad(name: str, message: str) -> NoReturn:
    fail("BAD_ARGUMENT", f"argument {name!r} {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def amount(name: str, value: Any) -> int:
    """A positive integer in minor units, at most MAX_AMOUNT (contracts/amounts.py).

    The codec would pass integers up to 2^64 − 1; refusing more here, before any rule runs,
    keeps every sum a contract starts from an argument inside the range it checks."""
    if not _is_int(value) or not 0 < value <= MAX_AMOUNT:
        _bad(name, "must be a positive integer amount in minor units")
    return int(value)


def integer(minimum: int = 0, maximum: int = MAX_AMOUNT) -> Validator:
    def check(name: str, value: Any) -> int:
        if not _is_int(value) or not minimum <= value <= maximum:
            _bad(name, f"must be an integer from {minimum} to {maximum}")
        return int(value)

    return check


def forbidden_character(value: str) -> str | None:
    """The first character text arguments may not hold, named for a message; None if clean.

    Allowed is exactly what XML 1.0 can carry (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD,
    #x10000-#x10FFFF) minus every control character (C0, DEL and C1, so tabs and line breaks
    too) and minus the 66 Unicode noncharacters: whatever a contract stores can then be
    exported as XML (ISO 20022) and shown in a browser without escaping tricks."""
    for ch in value:
        point = ord(ch)
        if point < 0x20 or 0x7F <= point <= 0x9F:
            return f"U+{point:04X} (a control character)"
        if 0xD800 <= point <= 0xDFFF:
            return f"U+{point:04X} (a surrogate)"
        if 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
            return f"U+{point:04X} (a noncharacter)"
    return None


def plain_text(name: str, value: str) -> str:
    """`value` if it holds only characters text arguments may hold, else BAD_ARGUMENT."""
    found = forbidden_character(value)
    if found is not None:
        _bad(name, f"must not contain {found}")
    return value


def text(max_length: int, min_length: int = 1) -> Validator:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or not min_length <= len(value) <= max_length:
            _bad(name, f"must be text of {min_length} to {max_length} characters")
        return plain_text(name, str(value))

    return check


def org_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _ORG_ID.fullmatch(value):
        _bad(name, "must be an organization id")
    return str(value)


def currency(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        _bad(name, "must be an ISO 4217 currency code")
    return str(value)


def jurisdiction(name: str, value: Any) -> str:
    if not isinstance(value, str) or not _JURISDICTION.fullmatch(value):
        _bad(name, "must be a two-letter jurisdiction code (ISO 3166-1 alpha-2)")
    return str(value)


def bin32(name: str, value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        _bad(name, "must be 32 bytes")
    return bytes(value)


def binary(max_length: int, min_length: int = 1) -> Validator:
    """Bytes of `min_length` to `max_length` (a hash lock's preimage, say)."""

    def check(name: str, value: Any) -> bytes:
        if not isinstance(value, bytes) or not min_length <= len(value) <= max_length:
            _bad(name, f"must be {min_length} to {max_length} bytes")
        return bytes(value)

    return check


def nullable(validator: Validator) -> Validator:
    """`validator`'s value, or None where the method's table says `or null` (an explicit nil
    means the same as leaving the argument out)."""

    def check(name: str, value: Any) -> Any:
        return None if value is None else validator(name, value)

    return check


def hex_id(name: str, value: Any) -> str:
    """An object id: 64 lowercase hex characters."""
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        _bad(name, "must be an id of 64 lowercase hex characters")
    return str(value)


def iso_date(name: str, value: Any) -> str:
    """A calendar date written exactly YYYY-MM-DD and naming a real day (ledger/dates.py)."""
    if not is_calendar_date(value):
        _bad(name, "must be a real calendar day written YYYY-MM-DD")
    return str(value)


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        _bad(name, "must be true or false")
    return bool(value)


def one_of(*choices: str) -> Validator:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            _bad(name, f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def list_of(item: Validator, max_items: int, min_items: int = 0) -> Validator:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list) or not min_items <= len(value) <= max_items:
            _bad(name, f"must be a list of {min_items} to {max_items} items")
        return [item(f"{name}[{i}]", v) for i, v in enumerate(value)]

    return check


def text_map(max_keys: int, max_value_length: int) -> Validator:
    """A small map of short text fields (originator/beneficiary details)."""

    def check(name: str, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or len(value) > max_keys:
            _bad(name, f"must be a map of at most {max_keys} text fields")
        for key, item in value.items():
            if not isinstance(item, str) or len(item) > max_value_length:
                _bad(name, f"field {key!r} must be text of at most {max_value_length} characters")
            plain_text(f"{name}.{key}", str(key))
            plain_text(f"{name}.{key}", item)
        return dict(value)

    return check


def any_map(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        _bad(name, "must be a map")
    return dict(value)


def validate_args(spec: dict[str, Validator | Optional], args: dict[str, Any]) -> dict[str, Any]:
    """Check `args` against `spec`: no unknown names, every required one present and valid."""
    unknown = sorted(set(args) - set(spec))
    if unknown:
        fail("BAD_ARGUMENT", f"unknown argument {unknown[0]!r}")
    clean: dict[str, Any] = {}
    for name, rule in spec.items():
        if isinstance(rule, Optional):
            clean[name] = rule.validator(name, args[name]) if name in args else rule.default
        elif name not in args:
            fail("BAD_ARGUMENT", f"missing argument {name!r}")
        else:
            clean[name] = rule(name, args[name])
    return clean
