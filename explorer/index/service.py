"""The index inside `tally explorer`: a read connection for the pages and, when the explorer
keeps its own index, the follower as a background task.

`tally explorer --db URL` reads an index that `tally index` keeps; without `--db` the explorer
keeps one itself, in SQLite in a temporary folder, following the node it shows. A follower that
stops (a refused block, a balance that does not reconcile) is not retried: its error is shown on
the index's pages, and the index stays at the last good block.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from dataclasses import dataclass

from explorer.index.db import Database, connect
from explorer.index.follower import Follower
from explorer.index.schema import migrate
from explorer.index.writer import IndexWriter
from ledger.errors import TallyError
from ledger.genesis import Genesis
from wallet.async_client import AsyncClient
from wallet.request_signing import RequestSigner

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexState:
    height: int
    following: bool  # this explorer keeps the index itself
    error: str  # why the follower stopped ("" while it runs)


class IndexService:
    def __init__(
        self,
        node_url: str,
        genesis: Genesis,
        db_url: str = "",
        request_signer: RequestSigner | None = None,
    ) -> None:
        self.node_url = node_url
        self.request_signer = request_signer
        self.genesis = genesis
        self.own = not db_url
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self.db_url = db_url
        self.reader: Database | None = None
        self.error = ""
        self._task: asyncio.Task[None] | None = None
        self._follower: Follower | None = None

    def start(self, follow: bool = True) -> None:
        """Open the index for the pages; keep it too when it is the explorer's own and
        `follow`."""
        if self.own:
            self._scratch = tempfile.TemporaryDirectory(prefix="tally-explorer-index-")
            self.db_url = f"sqlite:///{self._scratch.name}/index.db"
        try:
            if self.own and follow:
                writer_db = connect(self.db_url)
                IndexWriter(writer_db, self.genesis).open()
                self._task = asyncio.ensure_future(self._follow(writer_db))
            self.reader = connect(self.db_url)
            migrate(self.reader)
        except TallyError as error:
            self.error = f"{error.code}: {error.message}"
            log.warning("index unavailable: %s", self.error)

    async def _follow(self, db: Database) -> None:
        try:
            signer = self.request_signer
            async with AsyncClient(
                self.node_url, genesis=self.genesis, request_signer=signer
            ) as client:
                self._follower = Follower(client, self.genesis, IndexWriter(db, self.genesis))
                self._follower.open()
                await self._follower.follow()
        except TallyError as error:
            self.error = f"{error.code}: {error.message}"
            log.warning("the explorer's index stopped: %s", self.error)
        finally:
            db.close()

    def state(self) -> IndexState:
        height = 0
        if self.reader is not None:
            row = self.reader.one("SELECT value FROM index_meta WHERE name = 'height'")
            height = int(row[0]) if row else 0
        return IndexState(height, self.own, self.error)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.reader is not None:
            self.reader.close()
        if self._scratch is not None:
            self._scratch.cleanup()
