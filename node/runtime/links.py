"""Where the driver's output goes besides the store: the transport of consensus messages and
block fetches, and the hook for txs this node's clients gave it. Given to the driver whole, in
its constructor (node/service.py's `Peering.connect` builds them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from consensus.messages import SignedMessage
from ledger.types import Height, SignedTx, ValidatorIndex


class Transport(Protocol):
    """How consensus messages leave the node; `network/` provides the real one."""

    def send(self, to: int, message: SignedMessage) -> None: ...
    def broadcast(self, message: SignedMessage) -> None: ...
    def fetch_blocks(self, from_height: int, to_height: int, peers: tuple[int, ...]) -> None: ...

    def fetch_block(
        self, height: Height, block_hash: bytes, peers: tuple[ValidatorIndex, ...]
    ) -> bool:
        """Start fetching a block by hash (the answer comes as `Driver.block_fetched`);
        False if there is nobody to ask."""
        ...


class NullTransport:
    """A single validator has nobody to talk to."""

    def send(self, to: int, message: SignedMessage) -> None:
        pass

    def broadcast(self, message: SignedMessage) -> None:
        pass

    def fetch_blocks(self, from_height: int, to_height: int, peers: tuple[int, ...]) -> None:
        pass

    def fetch_block(
        self, height: Height, block_hash: bytes, peers: tuple[ValidatorIndex, ...]
    ) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Links:
    """Where the driver's output goes besides the store: consensus messages and block fetches
    (`transport`), and the txs clients gave this node (`admitted`, which gossip forwards)."""

    transport: Transport = field(default_factory=NullTransport)
    admitted: Callable[[list[SignedTx]], None] | None = None
