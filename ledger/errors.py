"""One exception hierarchy carrying a stable code, turned into JSON errors at the edges."""

from __future__ import annotations


class TallyError(Exception):
    """An error with a stable machine-readable `code` and a human `message`."""

    code: str = "ERROR"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def ensure(condition: bool, code: str, message: str, error: type[TallyError] = TallyError) -> None:
    """`ensure(port > 0, "BAD_ADDRESS", "...", ConsortiumError)`: one line per rule."""
    if not condition:
        raise error(code, message)


class DecodeError(TallyError):
    """Bytes that are not a canonical Tallychain encoding (or not a well-formed message)."""


class GenesisError(TallyError):
    """A genesis file that cannot be trusted; the message names the problem."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_GENESIS", message)


class StoreError(TallyError):
    """Storage is missing, corrupt or locked."""

    def __init__(self, message: str) -> None:
        super().__init__("STORE_ERROR", message)
