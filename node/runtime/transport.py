"""Validator-to-validator messages over `network.Network`, the asyncio side of the envelope.

The envelope itself (kinds and bodies) is `network.envelope`. `Network` calls `on_message` on
the event loop, so this only queues; one worker task drains the queue and dispatches, yielding
between messages so the HTTP API keeps being served. A payload that does not decode is dropped
and counted against the peer that sent it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence

from consensus.messages import Commit, Prepare, PrePrepare, SignedMessage, Status, Suspect
from ledger.crypto import Ed25519Key
from ledger.errors import DecodeError
from ledger.genesis import Genesis
from ledger.types import Height, ValidatorIndex
from network import Network, NetworkConfig, PeerAddress, validators_from_genesis
from network.envelope import KINDS, encode_consensus

log = logging.getLogger(__name__)

# The worker gives the event loop a turn after this many messages.
YIELD_EVERY = 16


# -- the asyncio side --------------------------------------------------------------------------

Handler = Callable[[int, memoryview], None]


class PeerTransport:
    """The node's link to the other validators: sends envelopes, dispatches inbound ones.

    Handlers are registered per kind (`on(kind, handler)`) and called from the worker task
    with (peer index, body). A handler raising DecodeError costs the peer a fault; any other
    exception is a bug of ours: logged, counted, and the worker goes on.
    """

    def __init__(
        self,
        genesis: Genesis,
        index: int,
        key: Ed25519Key,
        listen: str,
        peers: Sequence[PeerAddress] | None = None,
        name_of: Callable[[int], str] | None = None,
    ) -> None:
        """`peers`: the validators admitted (default: genesis's); `name_of(index)` their names
        (a roster that grows with governance, node/runtime/roster.py)."""
        self.index = index
        names = [v.name for v in genesis.validators]
        self._name_of = name_of or (lambda i: names[i] if 0 <= i < len(names) else str(i))
        self.network = Network(
            chain=genesis.chain,
            index=index,
            key=key,
            validators=validators_from_genesis(genesis) if peers is None else peers,
            on_message=self._on_message,
            config=NetworkConfig.from_genesis(genesis, listen=listen),
            on_peer_connected=self._on_connected,
            on_peer_disconnected=self._on_disconnected,
        )
        self._handlers: dict[int, Handler] = {}
        self._inbox: deque[tuple[int, bytes]] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self.faults: dict[int, int] = {}  # peer -> undecodable payloads it sent
        self.received: dict[str, int] = dict.fromkeys(KINDS.values(), 0)
        self.handler_errors = 0
        self.peer_listeners: list[Callable[[int, bool], None]] = []
        self._up: tuple[int, ...] = ()  # connected peers, as the network last reported

    def on(self, kind: int, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def start(self) -> None:
        await self.network.start()
        self._worker = asyncio.get_running_loop().create_task(self._drain(), name="transport")

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.network.close()

    # -- sending -----------------------------------------------------------------------------

    # `connected_only`: a peer that is down would otherwise find, on its return, a backlog
    # of stale proposals, votes and gossip (up to the network's queue bound) to verify before
    # it can catch up. Consensus retransmits what matters; gossip reaches the primary through
    # the others. Small control messages (STATUS, view changes) are still queued.

    def is_up(self, peer: int) -> bool:
        return peer in self._up

    def send_payload(self, to: int, payload: bytes, *, connected_only: bool = False) -> None:
        if connected_only and to not in self._up:
            return
        try:
            self.network.send(to, payload)
        except ValueError as error:  # too large for a frame, or not a peer: a bug of ours
            log.error("cannot send %s to %d: %s", KINDS.get(payload[0], "?"), to, error)

    def broadcast_payload(self, payload: bytes, *, connected_only: bool = False) -> None:
        if connected_only:
            for peer in self._up:
                self.send_payload(peer, payload)
            return
        try:
            self.network.broadcast(payload)
        except ValueError as error:
            log.error("cannot broadcast %s: %s", KINDS.get(payload[0], "?"), error)

    # -- observing ---------------------------------------------------------------------------

    def connected(self) -> list[int]:
        return self.network.connected_peers()

    def inbox_size(self) -> int:
        return len(self._inbox)

    def name(self, peer: int) -> str:
        return self._name_of(peer)

    def peer_count(self) -> int:
        """How many validators this node admits besides itself."""
        return len(self.network.stats().peers)

    def update_peers(self, peers: Sequence[PeerAddress], index: int | None = None) -> None:
        """Admit these validators from now on (governance changed the set); `index`: ours,
        once a follower is in the roster."""
        if index is not None and self.network.follower:
            self.index = index
        self.network.update_peers(peers, index)
        self._up = tuple(p for p in self._up if p in self.network.stats().peers)

    def peers_by_name(self) -> dict[str, bool]:
        stats = self.network.stats().peers
        return {self.name(i): peer.connected for i, peer in stats.items()}

    def _on_connected(self, peer: int) -> None:
        self._up = tuple(sorted({*self._up, peer}))
        for listener in self.peer_listeners:
            listener(peer, True)

    def _on_disconnected(self, peer: int) -> None:
        self._up = tuple(p for p in self._up if p != peer)
        for listener in self.peer_listeners:
            listener(peer, False)

    # -- receiving ---------------------------------------------------------------------------

    def _on_message(self, peer: int, payload: bytes) -> None:
        self._inbox.append((peer, payload))
        self._wake.set()

    def fault(self, peer: int, reason: str) -> None:
        count = self.faults.get(peer, 0) + 1
        self.faults[peer] = count
        if count & (count - 1) == 0:  # 1, 2, 4, 8, ...: a flood does not flood the log
            log.warning(
                "dropped a bad payload from %s (%d so far): %s", self.name(peer), count, reason
            )

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            handled = 0
            while self._inbox:
                peer, payload = self._inbox.popleft()
                self._dispatch(peer, payload)
                handled += 1
                if handled % YIELD_EVERY == 0:
                    await asyncio.sleep(0)

    def _dispatch(self, peer: int, payload: bytes) -> None:
        if not payload:
            self.fault(peer, "empty payload")
            return
        kind = payload[0]
        handler = self._handlers.get(kind)
        if handler is None:
            self.fault(peer, f"unknown kind {kind}")
            return
        self.received[KINDS[kind]] += 1
        try:
            handler(peer, memoryview(payload)[1:])
        except DecodeError as error:
            self.fault(peer, f"{KINDS[kind]}: {error.message}")
        except Exception:
            self.handler_errors += 1
            log.exception("handling a %s message from %s failed", KINDS[kind], self.name(peer))


class ConsensusChannel:
    """The driver's `Transport`: consensus envelopes out through the peers, fetches of blocks
    by height handed to state transfer and of blocks by hash to the block fetcher.

    The replica numbers validators by their position in its set; the peers are numbered by
    roster id (node/runtime/roster.py). `members` maps one to the other (set position →
    roster id; None: the same, a chain whose set never changes); `position` the other way,
    for what comes in (None: the sender is not in our set, its message is dropped)."""

    def __init__(
        self,
        peers: PeerTransport,
        fetch: Callable[[int, int, tuple[int, ...]], None],
        fetch_block: Callable[[Height, bytes, tuple[ValidatorIndex, ...]], None],
    ):
        self.peers = peers
        self._fetch = fetch
        self._fetch_block = fetch_block
        self.members: tuple[int, ...] | None = None
        self._positions: dict[int, int] = {}

    def use_set(self, members: tuple[int, ...]) -> None:
        self.members = members
        self._positions = {peer: position for position, peer in enumerate(members)}

    def position(self, peer: int) -> int | None:
        return peer if self.members is None else self._positions.get(peer)

    def _peer(self, position: int) -> int:
        return position if self.members is None else self.members[position]

    def send(self, to: int, message: SignedMessage) -> None:
        payload = encode_consensus(message.encode())
        self.peers.send_payload(self._peer(to), payload, connected_only=_stale_soon(message))

    def broadcast(self, message: SignedMessage) -> None:
        payload = encode_consensus(message.encode())
        if self.members is None:
            self.peers.broadcast_payload(payload, connected_only=_stale_soon(message))
            return
        for peer in self.members:  # our set only: a follower admitted early gets none
            if peer != self.peers.index:
                self.peers.send_payload(peer, payload, connected_only=_stale_soon(message))

    def fetch_blocks(self, from_height: int, to_height: int, peers: tuple[int, ...]) -> None:
        self._fetch(from_height, to_height, tuple(self._peer(p) for p in peers))

    def fetch_block(
        self, height: Height, block_hash: bytes, peers: tuple[ValidatorIndex, ...]
    ) -> bool:
        self._fetch_block(height, block_hash, tuple(ValidatorIndex(self._peer(p)) for p in peers))
        return True


def _stale_soon(envelope: SignedMessage) -> bool:
    """Proposals and votes are useless to a peer that reconnects later (it will be past them
    or fetch the blocks), and each costs it a signature check; STATUS and SUSPECT are re-sent
    every tick anyway: none of them is queued for absent peers."""
    return isinstance(envelope.message, PrePrepare | Prepare | Commit | Status | Suspect)
