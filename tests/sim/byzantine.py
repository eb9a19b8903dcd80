"""Byzantine nodes for the simulator: an honest replica whose output is tampered with.

A byzantine node signs with its own key only (it cannot forge others), but may send anything:

- `equivocate`: as primary, sends one block to half its peers and another to the rest, and
  votes (PREPARE and COMMIT, BLS-signed) for each block towards its half;
- `silent`: as primary, never sends proposals or NEW-VIEW messages;
- `censor`: as primary, leaves a third of the transactions out of every block it builds;
- `invalid`: as primary, proposes blocks whose state root is wrong;
- `conflict`: votes for random block hashes beside (or instead of) its real votes, and sends
  COMMITs with bad BLS signatures;
- `replay`: re-sends old messages it has seen, from anyone, to random peers;
- `vcspam`: sends VIEW-CHANGE messages for views ahead of its own;
- `garbage`: sends random bytes and corrupted encodings of real messages;
- `nvsubset`: as new primary, sends NEW-VIEW with a random smallest quorum of view changes
  (the least information the rules allow);
- `badfetch`: answers a fetch of a block by hash with another block (same header with other
  txs, or another block of that height);
- `nofetch`: never answers a fetch of a block by hash;
- `withhold`: as primary, proposes another block to the last backup than to the others (and
  votes for each towards its side), and never sends a COMMIT: the others prepare its blocks but
  cannot commit them, and once a NEW-VIEW re-proposes them the last backup, which never had
  them, must fetch them by hash;
- `strand`: as primary, also sends the last backup a second block for its first height, so
  that backup alone sees it equivocate and leaves the view alone;
- `quits`: as primary, stops proposing halfway through the faults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from consensus.interface import Action, Broadcast, Event, MessageReceived, Send
from consensus.messages import (
    Commit,
    NewView,
    Prepare,
    PrePrepare,
    SignedMessage,
    ViewChange,
)
from ledger.errors import DecodeError
from ledger.types import Block, commit_digest

if TYPE_CHECKING:
    from tests.sim.harness import Node, Simulation


class Behaviour:
    def __init__(self, sim: Simulation, node: Node, kinds: frozenset[str]) -> None:
        self.sim = sim
        self.node = node
        self.kinds = kinds
        self.rng = sim.rng
        self.seen: list[SignedMessage] = []
        # (view, height) -> (alternative block hash, peers that got the alternative)
        self.forks: dict[tuple[int, int], tuple[bytes, list[int]]] = {}
        self.stranded = False
        if "censor" in kinds:
            node.app.censored = _CensorSet()

    # -- hooks called by the simulator ---------------------------------------------------------

    def observe(self, event: Event) -> None:
        if "replay" in self.kinds and isinstance(event, MessageReceived):
            envelope = event.message
            if isinstance(envelope, bytes):
                try:
                    envelope = SignedMessage.decode(envelope)
                except DecodeError:
                    return
            if len(self.seen) < 400:
                self.seen.append(envelope)
            else:
                self.seen[self.rng.randrange(400)] = envelope

    def built(self, block: Block | None) -> Block | None:
        if block is None or "invalid" not in self.kinds or self.rng.random() < 0.3:
            return block
        header = block.header
        return self.node.app.make_block(
            header.view,
            header.height,
            header.prev,
            header.time_ms,
            header.proposer,
            block.txs,
            corrupt_root=True,
        )

    def outgoing(self, actions: list[Action]) -> list[Action]:
        result: list[Action] = []
        for action in actions:
            if isinstance(action, Broadcast | Send):
                result.extend(self._tamper(action))
            else:
                result.append(action)
        if "replay" in self.kinds and self.seen and self.rng.random() < 0.3:
            for _ in range(self.rng.randint(1, 3)):
                result.append(Send(self._random_peer(), self.rng.choice(self.seen)))
        if "vcspam" in self.kinds and self.rng.random() < 0.05:
            replica = self.node.replica
            assert replica is not None
            change = ViewChange(
                replica.view + self.rng.randint(1, 3), replica.checkpoints.stable, ()
            )
            result.append(Broadcast(self._sign(change)))
        return result

    def serve_block(self, height: int, block_hash: bytes) -> tuple[Block | None, int] | None:
        """A fetch of `block_hash` asked of us: (answer, delay), or None to answer honestly."""
        if "nofetch" in self.kinds:
            return None, 300
        if "badfetch" not in self.kinds:
            return None
        replica = self.node.replica
        real = replica.known_block(height, block_hash) if replica is not None else None
        if real is not None and self.rng.random() < 0.5:
            txs = (*real.txs[:-1], self._rand(40))
            return Block(real.header, txs), 5
        for known in self.node.app.executed_blocks.values():
            if known.header.height == height and known.header.hash() != block_hash:
                return known, 5
        return (Block(real.header, ()) if real is not None else None), 5

    # -- tampering ------------------------------------------------------------------------------

    def _peers(self) -> list[int]:
        return [i for i in range(self.node.config.n) if i != self.node.index]

    def _random_peer(self) -> int:
        return self.rng.choice(self._peers())

    def _sign(self, message: Any) -> SignedMessage:
        return SignedMessage.create(
            self.node.config.chain, self.node.index, message, self.node.crypto.sign_message
        )

    def _to(self, peers: list[int], envelope: SignedMessage) -> list[Action]:
        return [Send(peer, envelope) for peer in peers]

    def _tamper(self, action: Broadcast | Send) -> list[Action]:
        envelope = action.message
        message = envelope.message
        mine = envelope.sender == self.node.index
        peers = self._peers() if isinstance(action, Broadcast) else [action.to]
        if mine and isinstance(message, Commit) and "withhold" in self.kinds:
            return []
        if mine and isinstance(message, PrePrepare):
            if "silent" in self.kinds:
                return []
            if "quits" in self.kinds and self.sim.time > (self.sim.time0 + self.sim.fault_end) // 2:
                return []
            if "withhold" in self.kinds and isinstance(action, Broadcast):
                return self._equivocate(envelope, message, self._peers()[-1:])
            if "strand" in self.kinds and isinstance(action, Broadcast) and not self.stranded:
                self.stranded = True
                return [action, *self._to(self._peers()[-1:], self._second_block(message))]
            if "equivocate" in self.kinds and isinstance(action, Broadcast):
                return self._equivocate(envelope, message)
        if mine and isinstance(message, NewView):
            if "silent" in self.kinds:
                return []
            if "nvsubset" in self.kinds:
                quorum = self.node.config.quorum
                chosen = self.rng.sample(list(message.view_changes), quorum)
                return [Broadcast(self._sign(NewView(message.view, tuple(chosen))))]
        if "garbage" in self.kinds and self.rng.random() < 0.2:
            raw = bytearray(envelope.encode())
            raw[self.rng.randrange(len(raw))] ^= 1 << self.rng.randrange(8)
            junk: list[bytes] = [bytes(raw), self._rand(self.rng.randint(0, 64))]
            return [action, *(_Junk.send(p, self.rng.choice(junk)) for p in peers)]
        if mine and isinstance(message, Prepare | Commit):
            fork = self.forks.get((message.view, message.height))
            if fork is not None:
                alt_hash, alt_peers = fork
                main = [p for p in peers if p not in alt_peers]
                return self._to(main, envelope) + self._to(
                    [p for p in peers if p in alt_peers], self._vote_for(message, alt_hash)
                )
            if "conflict" in self.kinds and self.rng.random() < 0.5:
                out: list[Action] = []
                for peer in peers:
                    fake = self._vote_for(message, self._rand32())
                    choices = [fake, envelope] if self.rng.random() < 0.5 else [envelope, fake]
                    if isinstance(message, Commit) and self.rng.random() < 0.3:
                        bad = Commit(
                            message.view, message.height, message.block_hash, self._rand(96)
                        )
                        choices.insert(0, self._sign(bad))
                    out.extend(Send(peer, e) for e in choices)
                return out
        return [action]

    def _rand(self, size: int) -> bytes:
        return self.rng.getrandbits(8 * size).to_bytes(size, "big")

    def _rand32(self) -> bytes:
        return self._rand(32)

    def _vote_for(self, message: Prepare | Commit, block_hash: bytes) -> SignedMessage:
        if isinstance(message, Prepare):
            return self._sign(Prepare(message.view, message.height, block_hash))
        digest = commit_digest(self.node.config.chain, message.height, block_hash)
        return self._sign(
            Commit(message.view, message.height, block_hash, self.node.crypto.bls_sign(digest))
        )

    def _second_block(self, message: PrePrepare) -> SignedMessage:
        """Another signed proposal for the same (view, height)."""
        header = message.block.header
        alt = self.node.app.make_block(
            header.view, header.height, header.prev, header.time_ms + 1, header.proposer, ()
        )
        assert alt is not None
        return self._sign(PrePrepare(message.view, message.height, alt))

    def _equivocate(
        self, envelope: SignedMessage, message: PrePrepare, half: list[int] | None = None
    ) -> list[Action]:
        """One block to `half` of the peers (random if not given), another to the rest."""
        block = message.block
        header = block.header
        txs = block.txs[:-1] if len(block.txs) > 1 else block.txs
        alt = self.node.app.make_block(
            header.view, header.height, header.prev, header.time_ms + 1, header.proposer, txs
        )
        peers = self._peers()
        if alt is None:
            return [Broadcast(envelope)]
        if half is None:
            self.rng.shuffle(peers)
            half = peers[: len(peers) // 2]
        rest = [p for p in peers if p not in half]
        self.forks[(message.view, message.height)] = (alt.header.hash(), half)
        alt_envelope = self._sign(PrePrepare(message.view, message.height, alt))
        return self._to(rest, envelope) + self._to(half, alt_envelope)


class _Junk:
    """A Send whose payload is raw bytes (the replica must refuse them without raising)."""

    @staticmethod
    def send(peer: int, payload: bytes) -> Action:
        return Send(peer, payload)  # type: ignore[arg-type]


class _CensorSet(frozenset[bytes]):
    """Every tx id whose first byte is below 86: about a third of them."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, bytes) and bool(item) and item[0] < 86


def make_behaviour(sim: Simulation, node: Node, kinds: frozenset[str]) -> Behaviour:
    return Behaviour(sim, node, kinds)
