"""One small database interface over sqlite3 and psycopg 3, so the index has one code path.

The SQL the index writes is what both engines accept (`INSERT ... ON CONFLICT`, BIGINT, TEXT);
the only dialect difference left is the parameter mark, `?` in our SQL, rewritten to `%s` for
psycopg. Reads are streamed: sqlite3 cursors yield as they go, and on PostgreSQL a named
(server-side) cursor keeps a long export out of memory.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ledger.errors import TallyError

Row = tuple[Any, ...]
STREAM_ROWS = 1000  # rows fetched per round trip when streaming from PostgreSQL


class IndexDbError(TallyError):
    """The index database cannot be opened or used."""


class Database:
    """A connection to the index; `transaction()` is the only way to write."""

    dialect = ""

    def __init__(self, url: str) -> None:
        self.url = url
        self.writing = False

    def _sql(self, sql: str) -> str:
        return sql

    def _cursor(self) -> Any:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor().execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor().executemany(self._sql(sql), [tuple(row) for row in rows])

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self._cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of a read, a batch at a time (never the whole answer in memory)."""
        cursor = self._cursor()
        cursor.execute(self._sql(sql), tuple(params))
        while batch := cursor.fetchmany(STREAM_ROWS):
            for row in batch:
                yield tuple(row)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Everything written inside commits together, or not at all."""
        self.writing = True
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        finally:
            self.writing = False
        self._commit()


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str, path: str) -> None:
        super().__init__(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.connection = sqlite3.connect(path, isolation_level="DEFERRED")
        except sqlite3.Error as error:
            raise IndexDbError("INDEX_DB_UNREACHABLE", f"cannot open {path}: {error}") from None
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")

    def _cursor(self) -> Any:
        return self.connection.cursor()

    def _commit(self) -> None:
        self.connection.commit()

    def _rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        try:
            import psycopg
        except ImportError:
            raise IndexDbError(
                "INDEX_DB_DRIVER", "postgresql:// needs psycopg 3 (pip install 'psycopg[binary]')"
            ) from None
        try:
            self.connection = psycopg.connect(url)
        except psycopg.Error as error:
            raise IndexDbError("INDEX_DB_UNREACHABLE", f"cannot connect: {error}") from None
        self._streams = 0

    def _sql(self, sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def _cursor(self) -> Any:
        return self.connection.cursor()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows = super().all(sql, params)
        self._end_read()
        return rows

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        self._streams += 1
        try:
            with self.connection.cursor(name=f"index_stream_{self._streams}") as cursor:
                cursor.itersize = STREAM_ROWS
                cursor.execute(self._sql(sql), tuple(params))
                for row in cursor:
                    yield tuple(row)
        finally:
            self._end_read()

    def _end_read(self) -> None:
        """A read outside a write ends its implicit transaction: a long-lived reader must not
        sit idle in a transaction (holding back vacuum, seeing one snapshot)."""
        if not self.writing:
            self.connection.commit()

    def _commit(self) -> None:
        self.connection.commit()

    def _rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()


def connect(url: str) -> Database:
    """`sqlite:///path/to/index.db` (or `sqlite:///:memory:`) or `postgresql://...`."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise IndexDbError("BAD_DB_URL", "write sqlite:///path/to/index.db")
        return SqliteDatabase(url, path)
    if scheme in ("postgresql", "postgres"):
        return PostgresDatabase(url)
    raise IndexDbError("BAD_DB_URL", f"{url!r}: the index takes sqlite:///... or postgresql://...")
