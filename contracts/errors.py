"""The coded error every contract rule raises; the receipt carries its code and message."""

from __future__ import annotations

from typing import NoReturn

from ledger.errors import TallyError


class ContractError(TallyError):
    """A rule was broken; the transaction fails and changes nothing."""


def ensure(condition: bool, code: str, message: str) -> None:
    """`ensure(balance >= amount, "INSUFFICIENT_FUNDS", "...")`, in the execution-specs style."""
    if not condition:
        raise ContractError(code, message)


def fail(code: str, message: str) -> NoReturn:
    raise ContractError(code, message)
