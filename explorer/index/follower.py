"""Follows a node: fetch raw blocks from the index's cursor, verify, decode, write; then wait.

Nothing unverified is written. Each block passes explorer.audit.check_block (certificate against
the validator set in force, chain id, validators_hash, hash link to the block before, txs_root
and receipts_root recomputed from the encodings) before it is decoded; the first block that
fails stops the follower with BLOCK_REFUSED, naming its height and check, and nothing of its
batch is written. Before each batch commits, the balances its movements leave are checked
against state proofs at the batch's last height (`wallet` verified reads): an index whose
statements disagree with the certified state is refused too (INDEX_BALANCE_MISMATCH). On a
`members` node (DESIGN.md §9) the index holds what the reader is shown: a tx withheld from it is
not indexed, and a balance it may not read (404) is not reconciled.

New heights are learned from the node's SSE stream (GET /v1/stream); when it breaks or is not
served, the follower polls `/v1/status`, and it always resumes from the cursor, so a restart
or a disconnect loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from explorer.audit import check_block
from explorer.index.decode import BlockRecord, decode_block
from explorer.index.writer import Batch, Cursor, IndexWriter, Pair
from ledger.errors import TallyError
from ledger.genesis import Genesis
from ledger.membership import ValidatorHistory
from ledger.types import Receipt
from wallet.async_client import AsyncClient
from wallet.errors import ApiError

log = logging.getLogger(__name__)

PAGE = 100  # raw blocks per request (the node's most)
POLL_S = 1.0  # status polling when the stream is not available
RETRY_MAX_S = 10.0


class IndexRefused(TallyError):
    """The node served something the index will not write."""


@dataclass(frozen=True, slots=True)
class Progress:
    height: int  # the index's cursor
    tip: int  # the node's tip when last asked
    written: int  # blocks written by this run
    reconciled: int  # balances checked against state proofs by this run


class Follower:
    def __init__(
        self,
        client: AsyncClient,
        genesis: Genesis,
        writer: IndexWriter,
        *,
        batch_blocks: int = 200,
        reconcile: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self.client = client
        self.genesis = genesis
        self.writer = writer
        self.batch_blocks = batch_blocks
        self.reconcile = reconcile
        self.on_progress = on_progress
        self.cursor = Cursor(0, genesis.hash())
        self.history = ValidatorHistory.of_genesis(genesis)
        self.tip = 0
        self.written = 0
        self.reconciled = 0
        self._unreconciled: set[Pair] = set()

    def open(self) -> Cursor:
        """Resume from the index's cursor, with the validator-set history up to it."""
        self.cursor = self.writer.open()
        for height, encoded in self.writer.validator_receipts():
            self.history = self.history.follow(height, [Receipt.decode(raw) for raw in encoded])
        return self.cursor

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.cursor.height, self.tip, self.written, self.reconciled))

    # -- one pass to the tip ---------------------------------------------------------------------

    def _verified(self, raw: dict[str, Any], height: int, prev_hash: bytes) -> BlockRecord:
        """Block `height` checked against the block before it (`prev_hash`), then decoded."""
        if not isinstance(raw.get("txs"), list) or "receipts" not in raw:
            raise IndexRefused("RAW_BLOCKS_MISSING", f"block {height} came without encodings")
        checked = check_block(self.genesis, raw, height, prev_hash, self.history)
        failures = [check for check in checked.checks if not check.ok]
        if failures:
            first = failures[0]
            raise IndexRefused(
                "BLOCK_REFUSED",
                f"block {height} failed verification, nothing of it was written: "
                f"{first.name}: {first.detail}",
            )
        self.history = checked.history
        return decode_block(raw, len(self.history.at(height)))

    async def _fetch(self, start: int, count: int) -> list[BlockRecord]:
        """Blocks start..start+count-1, each verified against the one before."""
        blocks: list[BlockRecord] = []
        prev_hash = self.cursor.block_hash
        while len(blocks) < count:
            height = start + len(blocks)
            page = await self.client.raw_blocks(height, min(PAGE, count - len(blocks)))
            page = sorted(page, key=lambda b: int(b.get("height", 0)))
            if not page:
                break
            for raw in page:
                record = self._verified(raw, height, prev_hash)
                blocks.append(record)
                prev_hash, height = bytes.fromhex(record.hash), height + 1
        return blocks

    async def _check_balances(self, batch: Batch) -> None:
        """The touched balances against proofs at the batch's last height (pruned heights are
        checked at a later batch: a later balance covers every movement before it)."""
        if not self.reconcile:
            return
        self._unreconciled |= set(batch.balances)
        height = batch.last.height
        for org, currency in sorted(self._unreconciled):
            try:
                state = await self.client.verified_balance(
                    org, currency, height, genesis=self.genesis
                )
            except ApiError as error:
                if error.status == 410:  # STATE_PRUNED: the node no longer proves that height
                    return
                if error.status == 404:  # a balance the signed-in reader may not read (§9):
                    continue  # its index holds only the movements shown to it, unproved
                raise
            indexed = self.writer.balance_after(org, currency)
            if state.value != indexed:
                raise IndexRefused(
                    "INDEX_BALANCE_MISMATCH",
                    f"after block {height} {org} holds {state.value} {currency} (minor units, "
                    f"proved) but the index's movements leave {indexed}: an event the index "
                    f"does not read moved money; nothing of blocks "
                    f"{batch.blocks[0].height}..{height} was written",
                )
            self.reconciled += 1
        self._unreconciled.clear()

    async def catch_up(self, stop_at: int | None = None) -> int:
        """Index every block up to the node's tip (or `stop_at`); returns the cursor height."""
        self.tip = int((await self.client.status())["height"])
        target = self.tip if stop_at is None else min(stop_at, self.tip)
        while self.cursor.height < target:
            count = min(self.batch_blocks, target - self.cursor.height)
            blocks = await self._fetch(self.cursor.height + 1, count)
            if not blocks:
                break
            batch = self.writer.prepare(blocks)
            try:
                await self._check_balances(batch)
                self.cursor = self.writer.commit(batch)
            except BaseException:
                self.writer.forget()
                raise
            self.written += len(blocks)
            self._report()
        return self.cursor.height

    # -- following -------------------------------------------------------------------------------

    async def _wait_for_block(self) -> None:
        """Until the stream announces a height above the cursor (or, without a stream, the
        status shows one)."""
        try:
            kind = ""
            async for line in self.client.stream():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "block":
                    height = int(json.loads(line[5:]).get("height", 0))
                    if height > self.cursor.height:
                        return
        except ApiError as error:
            log.info("stream unavailable (%s); polling", error.code)
        while int((await self.client.status())["height"]) <= self.cursor.height:
            await asyncio.sleep(POLL_S)

    async def follow(self, stop_at: int | None = None) -> int:
        """Catch up, then keep up until `stop_at` (forever when None); a lost node is retried
        with backoff, and the index resumes from its cursor."""
        pause = POLL_S
        while stop_at is None or self.cursor.height < stop_at:
            try:
                await self.catch_up(stop_at)
                if stop_at is not None and self.cursor.height >= stop_at:
                    break
                await self._wait_for_block()
                pause = POLL_S
            except ApiError as error:
                log.warning("node unavailable (%s: %s); retrying", error.code, error.message)
                await asyncio.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_S)
        return self.cursor.height
