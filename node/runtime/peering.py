"""Everything a validator among others has: the P2P transport, gossip, state transfer,
snapshot sync, and on a chain with membership changes the link between the set in force and
who the P2P layer admits (node/runtime/membership.py, roster.py).

`Peering.connect(driver)` is called from the driver's constructor: it builds gossip and state
transfer around the driver, routes the peers' messages to them and returns where the driver's
output goes. The set tracker tells it when governance changed who is admitted (the network is
given the new list: network/ never reads the chain) and when the replica was replaced (the
consensus channel maps set positions to other roster ids; a node that left the set, or is not
in it yet, follows the chain by fetching certified blocks: node/runtime/follower.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from consensus.interface import Replica
from ledger.errors import TallyError
from ledger.genesis import Genesis
from network import PeerAddress
from network.envelope import (
    BLOCK,
    BLOCKS,
    CHUNK,
    CHUNK_ASK,
    CONSENSUS,
    FETCH,
    GET_BLOCK,
    SNAPSHOT_ASK,
    SNAPSHOT_OFFER,
    TXS,
)
from node.keys import ValidatorKeys
from node.runtime.blockfetch import BlockFetcher
from node.runtime.driver import Driver
from node.runtime.follower import Follower
from node.runtime.gossip import TxGossip
from node.runtime.links import Links
from node.runtime.membership import SetTracker, Switch
from node.runtime.metrics import Metrics
from node.runtime.snapshot import SnapshotSync
from node.runtime.snapshot_serve import SnapshotServer
from node.runtime.snapshot_txids import remember_recent_tx_ids
from node.runtime.statesync import StateSync
from node.runtime.transport import ConsensusChannel, PeerTransport

log = logging.getLogger(__name__)


class Peering:
    def __init__(
        self,
        genesis: Genesis,
        keys: ValidatorKeys,
        index: int,
        listen: str,
        snapshot_behind: int = 0,
        sets: SetTracker | None = None,
    ) -> None:
        self.genesis = genesis
        self.sets = sets
        admitted = None if sets is None else sets.roster.admitted(sets.store.tip().height + 1)
        name_of = None if sets is None else sets.roster.name_of
        self.transport = PeerTransport(
            genesis, index, keys.ed25519, listen, peers=admitted, name_of=name_of
        )
        self.snapshot_behind = snapshot_behind
        self.statesync: StateSync | None = None
        self.gossip: TxGossip | None = None
        self.blocks: BlockFetcher | None = None
        self.snapshot: SnapshotSync | None = None
        self.snapshot_server: SnapshotServer | None = None
        self.channel: ConsensusChannel | None = None
        self.follower: Follower | None = None
        self.rebuild: Callable[[], Replica] | None = None  # the replica at a new tip
        # Until the start-up snapshot check is over, consensus messages and gossip are dropped:
        # the replica starts after it, at whatever tip it leaves (peers retransmit).
        self.holding = True

    def connect(self, driver: Driver) -> Links:
        """Build gossip and state transfer around `driver` (called from its constructor) and
        route peers' messages to them; return where the driver's output goes."""
        transport, metrics = self.transport, driver.metrics
        statesync = StateSync(transport, driver, self.genesis, metrics)
        gossip = TxGossip(
            transport, driver, metrics, catching_up=lambda: statesync.active or self.holding
        )
        blocks = BlockFetcher(transport, driver)
        self.statesync, self.gossip, self.blocks = statesync, gossip, blocks
        transport.on(CONSENSUS, lambda peer, body: self._consensus(driver, peer, body))
        self._connect_snapshot(driver)
        transport.on(TXS, gossip.on_txs)
        transport.on(FETCH, statesync.on_fetch)
        transport.on(BLOCKS, statesync.on_blocks)
        transport.peer_listeners.append(gossip.peer_changed)
        transport.peer_listeners.append(
            lambda peer, up: metrics.peers_connected.set(len(transport.connected()))
        )
        transport.on(GET_BLOCK, blocks.on_get_block)
        transport.on(BLOCK, blocks.on_block)
        self._watch(metrics)
        self.channel = ConsensusChannel(transport, statesync.fetch_blocks, blocks.fetch_block)
        if self.sets is not None:
            self.sets.on_peers = self._admit
            self.channel.use_set(self.sets.current.members)
            driver.on_switch.append(self._switched)
            self.follower = Follower(transport, statesync, driver, self.snapshot_then_replica)
        return Links(self.channel, gossip.forward)

    def _consensus(self, driver: Driver, peer: int, body: memoryview) -> None:
        position = None if self.channel is None else self.channel.position(peer)
        if not self.holding and position is not None:
            driver.message_received(position, bytes(body))

    def _admit(self, peers: list[PeerAddress], our_id: int | None) -> None:
        self.transport.update_peers(peers, our_id)

    def _switched(self, switch: Switch) -> None:
        if self.channel is not None:
            self.channel.use_set(switch.validator_set.members)
        if not switch.member and self.follower is not None:
            self.follower.start()

    def _connect_snapshot(self, driver: Driver) -> None:
        transport, store, metrics = self.transport, driver.store, driver.metrics
        validators_at = None if self.sets is None else driver.executor.validators_at
        snapshot = SnapshotSync(
            transport,
            store,
            self.genesis,
            metrics,
            behind=self.snapshot_behind,
            validators_at=validators_at,
        )
        server = SnapshotServer.for_params(transport, store, metrics, self.genesis.params)
        self.snapshot, self.snapshot_server = snapshot, server
        transport.on(SNAPSHOT_ASK, server.on_ask)
        transport.on(CHUNK_ASK, server.on_chunk_ask)
        transport.on(SNAPSHOT_OFFER, snapshot.on_offer)
        transport.on(CHUNK, snapshot.on_chunk)

    async def snapshot_then_replica(self, driver: Driver) -> bool:
        """Restore the state by snapshot if peers are far ahead; then the replica is rebuilt
        at the new tip by `self.rebuild` (its records of older heights still bind it). True
        if the state was replaced."""
        self.holding = True
        try:
            if self.snapshot is None or not await self.snapshot.run():
                return False
            if self.statesync is not None:
                await remember_recent_tx_ids(
                    self.statesync,
                    driver.store,
                    self.genesis.params["max_tx_validity"],
                    sorted(self.transport.connected()),
                    driver.metrics,
                )
            driver.executor.adopt_tip()
            driver.mempool.rebase()
            if self.rebuild is None:
                raise TallyError("NO_REPLICA", "nothing to rebuild the replica after a snapshot")
            replica = self.rebuild()
            if self.sets is None or not driver.running:
                driver.replica = replica
                if self.channel is not None and self.sets is not None:
                    self.channel.use_set(self.sets.current.members)
                return True
            for event in driver.replace_replica(Switch(replica, self.sets.current)):
                driver.handle(event)
            return True
        finally:
            self.holding = False

    def _watch(self, metrics: Metrics) -> None:
        network = self.transport.network
        metrics.watch(
            "tally_peer_send_queue",
            "Messages waiting in send queues to peers",
            lambda: sum(p.queue_messages for p in network.stats().peers.values()),
        )
        metrics.watch(
            "tally_peer_inbox", "Peer messages received, not yet handled", self.transport.inbox_size
        )
        metrics.watch(
            "tally_peer_faults",
            "Bad payloads and broken connections caused by peers",
            lambda: sum(self.transport.faults.values()) + network.stats().faults,
        )
        metrics.watch(
            "tally_p2p_handshake_failures",
            "Failed P2P handshakes (unknown keys included)",
            lambda: network.stats().handshake_failures,
        )

    async def start(self) -> None:
        await self.transport.start()

    async def stop(self) -> None:
        if self.follower is not None:
            await self.follower.close()
        if self.gossip is not None:
            self.gossip.flush()
            await self.gossip.close()
        if self.statesync is not None:
            await self.statesync.close()
        if self.blocks is not None:
            await self.blocks.close()
        if self.snapshot is not None:
            self.snapshot.close()
        if self.snapshot_server is not None:
            await self.snapshot_server.close()
        await self.transport.close()
