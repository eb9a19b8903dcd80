"""The coded error every contract rule raises; the receipt carries its code, message and details.

The message is for people: amounts in the currency's decimals, times as UTC date-times
(contracts/wording.py). `details` carries the same values raw (minor units, block-time ms) for
scripts; it lands in the receipt's error beside the message (ledger.types.ErrorInfo).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from ledger.errors import TallyError

Details = Mapping[str, int | str]


class ContractError(TallyError):
    """A rule was broken; the transaction fails and changes nothing."""

    def __init__(self, code: str, message: str, details: Details | None = None) -> None:
        super().__init__(code, message)
        self.details: dict[str, Any] = {
            name: _encodable(value) for name, value in (details or {}).items()
        }


def _encodable(value: int | str) -> int | str:
    """`value` as the receipt's codec carries it: an integer past its 64-bit range (the value
    an overflowing sum would have reached) as a decimal string, so a receipt always encodes."""
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)
    return value


def ensure(condition: bool, code: str, message: str, details: Details | None = None) -> None:
    """`ensure(balance >= amount, "INSUFFICIENT_FUNDS", "...")`, in the execution-specs style."""
    if not condition:
        raise ContractError(code, message, details)


def fail(code: str, message: str, details: Details | None = None) -> NoReturn:
    """Raise the rule's error; for messages worth building only when the rule is broken (one
    that reads the registry to write an amount, say), after an `if`."""
    raise ContractError(code, message, details)
