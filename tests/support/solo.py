"""The older single-validator replica (n = 1), kept for tests/unit/test_api.py only: the node
runs PbftReplica for every n. No votes to gather, same interface as PBFT.

It batches: when transactions arrive it waits `batch_ms`, asks for a proposal, signs the commit
digest with its BLS key and commits. A full block is followed at once by the next.
"""

from __future__ import annotations

from consensus.interface import (
    Action,
    BuildProposal,
    CommitBlock,
    Event,
    ProposalBuilt,
    SetTimer,
    Start,
    TimerFired,
    TxsArrived,
)
from ledger.crypto import BlsKey
from ledger.types import Certificate, commit_digest, signer_bitmap

BATCH_TIMER = "batch"


class SoloReplica:
    def __init__(
        self, chain: str, bls_key: BlsKey, height: int, block_hash: bytes, batch_ms: int
    ) -> None:
        self._chain = chain
        self._bls_key = bls_key
        self._height = height
        self._block_hash = block_hash
        self._batch_ms = batch_ms
        self._building = False
        self._timer_armed = False
        self._txs_waiting = False

    @property
    def view(self) -> int:
        return 0

    @property
    def primary(self) -> int:
        return 0

    @property
    def height(self) -> int:
        return self._height

    def known_block(self, height: int, block_hash: bytes) -> None:
        return None  # alone, nobody ever asks it for a block by hash

    def handle(self, event: Event) -> list[Action]:
        if isinstance(event, Start | TxsArrived):
            self._txs_waiting = True
            return self._arm()
        if isinstance(event, TimerFired) and event.timer == BATCH_TIMER:
            self._timer_armed = False
            if self._building:
                return []
            self._building = True
            self._txs_waiting = False
            return [BuildProposal(0, self._height + 1, self._block_hash)]
        if isinstance(event, ProposalBuilt):
            self._building = False
            if event.block is None or event.height != self._height + 1:
                return self._arm() if self._txs_waiting else []
            block_hash = event.block.header.hash()
            signature = self._bls_key.sign(commit_digest(self._chain, event.height, block_hash))
            certificate = Certificate(event.height, 0, block_hash, signer_bitmap({0}, 1), signature)
            self._height = event.height
            self._block_hash = block_hash
            self._timer_armed = True
            # Another batch may be waiting behind a full block: look again at once.
            return [CommitBlock(event.block, certificate), SetTimer(BATCH_TIMER, 0)]
        return []

    def _arm(self) -> list[Action]:
        if self._timer_armed or self._building:
            return []
        self._timer_armed = True
        return [SetTimer(BATCH_TIMER, self._batch_ms)]
