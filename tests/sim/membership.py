"""The simulator with validator membership changes (DESIGN.md §7, consensus/config.py).

Five nodes; validators 0-3 are the genesis set. When height `add_at` is decided, governance adds
node 4: that set is in force from `ledger.membership.effective_height` (the first height after
the next checkpoint); once that is decided, `remove_after` heights later, node `leaver` is
removed the same way. Changes are a function of the decided chain only, as the set history is
on a real chain.

Each node runs one replica per validator set (one PBFT instance per set, signing in that set's
domain, anchored at the checkpoint it starts after, with the checkpoint barrier on). When a
node commits the last height of its set, the driver here replaces its replica by one of the
next set, or retires it if it is not in it; node 4 is started (empty) when the first node
enters a set that holds it, and catches up by fetching certified blocks.

Checked on top of the harness's checks (agreement, no double signing, bounded logs, liveness):
every certificate verifies against the set in force at its height and no other, no replica
ever signs at a height outside its set's span, node 4 signs certificates after it joins, and
the removed validator signs none after it leaves.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from consensus.config import ReplicaConfig
from consensus.interface import (
    Action,
    Broadcast,
    FetchBlock,
    FetchBlocks,
    Send,
    SetContinues,
    Start,
    TxsArrived,
)
from consensus.messages import Commit, Prepare, PrePrepare, SignedMessage
from consensus.replica import PbftReplica
from ledger.certificates import verify_certificate
from ledger.hashing import sha256
from ledger.membership import effective_height
from ledger.types import Block, Certificate, Height, ValidatorIndex, bitmap_indexes
from tests.sim.app import FakeApp
from tests.sim.fakecrypto import FakeCrypto, fake_bls_public, fake_ed25519_public
from tests.sim.harness import CHAIN, GENESIS_TIME, Node, Scenario, Simulation

JOINER = 4


@dataclass(frozen=True, slots=True)
class Plan:
    add_at: int = 3
    remove_after: int = 3
    leaver: int = 1


class SetCrypto(FakeCrypto):
    """FakeCrypto for node `identity` as a member of the set `members` (index = position)."""

    def __init__(self, identity: int, members: tuple[int, ...]) -> None:
        super().__init__(members.index(identity), len(members))
        self.ed25519_publics = [fake_ed25519_public(m) for m in members]
        self.bls_publics = [fake_bls_public(m) for m in members]


@dataclass(slots=True)
class Membership:
    """A node's current set: its anchor height and members (node identities, in order)."""

    anchor: int
    members: tuple[int, ...]


class MembershipSimulation(Simulation):
    def __init__(self, seed: int, scenario: Scenario, plan: Plan) -> None:
        self.plan = plan
        # (effective height, members), in decision order; genesis is (1, 0..3)
        self.changes: list[tuple[int, tuple[int, ...]]] = []
        self.sets: dict[int, Membership] = {}
        self.retired: set[int] = set()
        self.joined: set[int] = set(range(4))
        self.signers_at: dict[int, set[int]] = {}  # height -> who signed any certificate
        self.told: dict[int, int] = {}  # node -> the last SetContinues height it was given
        super().__init__(seed, scenario)

    # -- the set history ---------------------------------------------------------------------

    def members_at(self, height: int) -> tuple[int, ...]:
        current: tuple[int, ...] = (0, 1, 2, 3)
        for effective, members in self.changes:
            if effective <= height:
                current = members
        return current

    def anchor_at(self, height: int) -> int:
        """The anchor of the set in force at `height`: the height before it took effect."""
        anchor = 0
        for effective, _ in self.changes:
            if effective <= height:
                anchor = effective - 1
        return anchor

    def _agree(self, node: Node, height: int, block_hash: bytes) -> None:
        first = height not in self.decided
        super()._agree(node, height, block_hash)
        if not first:
            return
        interval = self.scenario.checkpoint_interval
        if height == self.plan.add_at:
            self.changes.append((effective_height(height, interval), (0, 1, 2, 3, JOINER)))
        elif len(self.changes) == 1 and height == self.changes[0][0] + self.plan.remove_after:
            kept = tuple(m for m in self.changes[0][1] if m != self.plan.leaver)
            self.changes.append((effective_height(height, interval), kept))

    # -- set-up --------------------------------------------------------------------------------

    def _config(self, identity: int, membership: Membership, anchor_hash: bytes) -> ReplicaConfig:
        sc = self.scenario
        return ReplicaConfig(
            chain=CHAIN,
            index=membership.members.index(identity),
            validators=tuple(fake_ed25519_public(m) for m in membership.members),
            genesis_hash=self.genesis_hash,
            window=sc.window,
            checkpoint_interval=sc.checkpoint_interval,
            view_timeout_ms=sc.view_timeout_ms,
            batch_ms=sc.batch_ms,
            max_timeout_doublings=4,
            anchor_height=membership.anchor,
            anchor_hash=anchor_hash if membership.anchor else b"",
            checkpoint_barrier=True,
        )

    def _setup_nodes(self) -> None:
        sc = self.scenario
        self.genesis_hash = sha256(b"genesis/" + CHAIN.encode())
        self.aggregate_verify = None
        self.nodes = []
        genesis = Membership(0, (0, 1, 2, 3))
        for identity in range(5):
            app = FakeApp(
                CHAIN, self.genesis_hash, GENESIS_TIME, bytes(32), sc.max_clock_skew_ms,
                sc.max_txs_per_block,
            )  # fmt: skip
            member = identity in genesis.members
            config = self._config(identity if member else 0, genesis, b"")
            crypto = SetCrypto(identity if member else 0, genesis.members)
            node = Node(identity, config, crypto, app)
            if member:
                self.sets[identity] = genesis
                node.replica = PbftReplica(config, crypto, 0, self.genesis_hash)
            else:
                node.up = False
            self.nodes.append(node)

    # -- the driver -----------------------------------------------------------------------------

    def _to_nodes(self, node: Node, action: Action) -> Action:
        """Replica indexes (positions in the node's set) as node identities."""
        members = self.sets[node.index].members
        if isinstance(action, Send):
            return Send(ValidatorIndex(members[action.to]), action.message)
        if isinstance(action, FetchBlocks | FetchBlock):
            peers = tuple(ValidatorIndex(members[p]) for p in action.peers)
            return dataclasses.replace(action, peers=peers)
        return action

    def perform(self, node: Node, actions: list[Action]) -> None:
        if node.index not in self.sets:
            return
        mapped = [self._to_nodes(node, a) for a in actions]
        for action in mapped:
            if isinstance(action, Broadcast):  # to every node: another set's drop it
                self._check_signed(node, action.message)
                for peer in self.nodes:
                    if peer.index != node.index:
                        self.transmit(node.index, peer.index, self._wire(action.message))
            else:
                super().perform(node, [action])
        self._maybe_switch(node)

    def _maybe_switch(self, node: Node) -> None:
        """After a node committed its set's last height: the next set's replica, or retire."""
        if node.index in self.retired or not node.up:
            return
        height = node.app.height
        anchor = self.anchor_at(height + 1)
        if anchor <= self.sets[node.index].anchor:  # same set (or still catching up to it)
            self._set_continues(node)
            return
        members = self.members_at(height + 1)
        if JOINER in members and JOINER not in self.joined:
            self.joined.add(JOINER)
            self._enter(self.nodes[JOINER], Membership(anchor, members))
        if node.index not in members:
            self.retired.add(node.index)
            node.replica, node.up = None, False
            node.timers.clear()
            return
        self._enter(node, Membership(anchor, members))

    def _set_continues(self, node: Node) -> None:
        """Tell the replica its set runs to the next checkpoint (once per checkpoint)."""
        interval = self.scenario.checkpoint_interval
        through = (node.app.height // interval + 1) * interval
        if self.told.get(node.index, 0) >= through or node.replica is None:
            return
        self.told[node.index] = through
        self.deliver(node, lambda now: SetContinues(Height(through), now))

    def _enter(self, node: Node, membership: Membership) -> None:
        """A fresh replica of the set `membership` on what the node has committed."""
        anchor_hash = self.decided[membership.anchor]
        node.config = self._config(node.index, membership, anchor_hash)
        node.crypto = SetCrypto(node.index, membership.members)
        self.sets[node.index] = membership
        node.records = {}  # every height of the sets before is committed: nothing to restore
        node.timers.clear()
        node.up = True
        node.replica = PbftReplica(node.config, node.crypto, node.app.height, node.app.tip_hash)
        self.told.pop(node.index, None)
        self.deliver(node, lambda now: Start(now))
        self._set_continues(node)
        waiting = []
        for tx_id, raw in self.submitted.items():
            if tx_id not in node.app.committed_txs:
                node.app.mempool[tx_id] = raw
                waiting.append(tx_id)
        if waiting:
            ids = tuple(waiting)
            self.deliver(node, lambda now: TxsArrived(ids, now))

    def restart(self, node: Node, redeliver: bool = True) -> None:
        if node.index in self.retired or node.index not in self.joined:
            return
        super().restart(node, redeliver)
        self.told.pop(node.index, None)
        self._set_continues(node)

    # -- checks ------------------------------------------------------------------------------------

    def _verify(self, block: Block, certificate: Certificate) -> None:
        height = block.header.height
        members = self.members_at(height)
        publics = [fake_bls_public(m) for m in members]
        if not verify_certificate(
            publics, CHAIN, block.header.hash(), certificate, height=height,
            aggregate_verify=self._aggregate,
        ):  # fmt: skip
            self.fail(f"certificate for height {height} does not verify against its set")
        signers = tuple(members[i] for i in bitmap_indexes(certificate.signers, len(members)))
        self.signers_at.setdefault(height, set()).update(signers)

    @staticmethod
    def _aggregate(publics: Any, message: bytes, signature: bytes) -> bool:
        from tests.sim.fakecrypto import fake_aggregate_verify

        return fake_aggregate_verify(publics, message, signature)

    def _check_signed(self, node: Node, envelope: SignedMessage) -> None:
        if not isinstance(envelope, SignedMessage):
            self.fail(f"honest node {node.index} sent something that is not an envelope")
        membership = self.sets[node.index]
        if envelope.sender != membership.members.index(node.index):
            return
        message = envelope.message
        if not isinstance(message, PrePrepare | Prepare | Commit):
            return
        if self.anchor_at(message.height) != membership.anchor:
            self.fail(
                f"node {node.index} of the set after {membership.anchor} signed at height "
                f"{message.height}, which another set runs"
            )
        block_hash = (
            message.block.header.hash() if isinstance(message, PrePrepare) else message.block_hash
        )
        kind = "commit" if isinstance(message, Commit) else "prepare"
        key = (node.index, kind, message.view, message.height)
        if self.signed.setdefault(key, block_hash) != block_hash:
            self.fail(f"node {node.index} signed two blocks for {kind} at {key[2:]}")

    def _live(self) -> bool:
        if len(self.changes) < 2 or max(self.decided, default=0) < self.changes[1][0]:
            return False
        if JOINER not in self.joined or JOINER in self.retired:
            return False
        wanted = set(self.submitted)
        for node in self.nodes:
            if node.index in self.retired:
                continue
            if not (node.up and wanted <= node.app.committed_txs):
                return False
        return True


def run_membership_seed(seed: int, scenario: Scenario, plan: Plan) -> MembershipSimulation:
    simulation = MembershipSimulation(seed, scenario, plan)
    simulation.run()
    return simulation
