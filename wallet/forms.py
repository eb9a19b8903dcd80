"""The node's JSON forms of ledger objects (DESIGN.md §9: bytes as hex) read back into types.

Whatever a node serves is read here before anything checks it, so a malformed answer is refused
with a `FormError` naming the field, and one certificate has one parser for the wallet's proof
checks, `tally audit` and the explorer alike.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import DecodeError
from ledger.types import Certificate


class FormError(ValueError):
    """A JSON answer that does not have the shape of DESIGN.md §9; the message names the field."""


def hex_bytes(value: Any, where: str, size: int | None = None) -> bytes:
    """The bytes a hex string stands for, `size` of them when given."""
    if not isinstance(value, str):
        raise FormError(f"{where} must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise FormError(f"{where} is not hex") from None
    if size is not None and len(raw) != size:
        raise FormError(f"{where} must be {size} bytes, got {len(raw)}")
    return raw


def natural(value: Any, where: str) -> int:
    """A non-negative JSON integer (not a boolean)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FormError(f"{where} must be a non-negative integer")
    return value


def field(form: dict[str, Any], name: str, what: str) -> Any:
    """`form[name]`, or a FormError saying `what` lacks it."""
    if name not in form:
        raise FormError(f"{what} is missing {name!r}")
    return form[name]


def parse_certificate(value: Any) -> Certificate:
    """A certificate from its JSON form (numbers, hex strings); extra fields are ignored."""
    if not isinstance(value, dict):
        raise FormError("certificate must be an object")
    try:
        return Certificate.from_value(
            {
                "height": natural(field(value, "height", "certificate"), "certificate.height"),
                "view": natural(field(value, "view", "certificate"), "certificate.view"),
                "block_hash": hex_bytes(
                    field(value, "block_hash", "certificate"), "certificate.block_hash", 32
                ),
                "signers": hex_bytes(field(value, "signers", "certificate"), "certificate.signers"),
                "agg_sig": hex_bytes(
                    field(value, "agg_sig", "certificate"), "certificate.agg_sig", 96
                ),
            }
        )
    except DecodeError as error:  # the type's own checks, should they ever be stricter
        raise FormError(f"certificate: {error.message}") from None
