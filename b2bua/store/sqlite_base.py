"""The SQLite connection under ``SqliteStore``: opening, pragmas, migrations, transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

from b2bua.store.base import SchemaError, StoreError
from b2bua.store.sqlite_schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 5000
FILE_MODE = 0o600

Row = sqlite3.Row


class SqliteConnection:
    """One connection to the store file, shared by every method under a lock.

    The connection runs in autocommit mode; every write is wrapped in ``BEGIN IMMEDIATE`` ...
    ``COMMIT`` by ``_write``, so it is durable when the method returns. The lock makes the
    object safe to use from worker threads too (``asyncio.to_thread``).
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.RLock()
        self._batch_depth = 0
        self._atomic_writes = True
        self._conn = self._connect()
        try:
            self._configure()
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            if not self.path.exists():
                raise StoreError(f"no store at {self.path}")
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        else:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Passwords live here: create the file private before SQLite opens it (its WAL
            # and shared-memory files inherit the mode).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
            os.chmod(self.path, FILE_MODE)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    def _configure(self) -> None:
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch to WAL journal (got {mode})")
            self._conn.execute("PRAGMA synchronous = NORMAL")

    def _schema_version(self) -> int:
        table = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if table is None:
            return 0
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        return 0 if row is None else int(row[0])

    def _migrate(self) -> None:
        version = self._schema_version()
        if version > SCHEMA_VERSION:
            raise SchemaError(
                f"{self.path}: schema version {version} is newer than this service "
                f"understands ({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        if self.read_only:
            raise SchemaError(
                f"{self.path}: schema version {version} needs migrating to {SCHEMA_VERSION}; "
                "start the service once to upgrade it"
            )
        with self._write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = self._schema_version()  # another process may have migrated meanwhile
            for number, statements in enumerate(MIGRATIONS, start=1):
                if number > version:
                    for statement in statements:
                        conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._schema_version()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on leaving the block, rolled back on an error.
        Inside `batch()` it is a savepoint of the batch's transaction instead."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            if self._batch_depth and not self._atomic_writes:
                yield self._conn  # a failure aborts the whole batch (see batch)
                return
            batched = self._batch_depth > 0
            self._conn.execute("SAVEPOINT one_write" if batched else "BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if batched:
                    self._conn.execute("ROLLBACK TO one_write")
                    self._conn.execute("RELEASE one_write")
                else:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("RELEASE one_write" if batched else "COMMIT")

    @contextmanager
    def batch(self, *, atomic_writes: bool = True) -> Iterator[None]:
        """Many writes in one transaction, committed on leaving the block: one commit instead of
        one per write. With `atomic_writes` each write stays atomic on its own (a failing one
        changes nothing and leaves the others in place); without, the first failing write rolls
        the whole batch back and the error leaves the block (cheaper: no savepoint per write)."""
        if self.read_only:
            raise StoreError(f"{self.path} is open read-only")
        with self._lock:
            outermost = self._batch_depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
                self._atomic_writes = atomic_writes
            self._batch_depth += 1
            try:
                yield
            except BaseException:
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                if outermost:
                    self._conn.execute("COMMIT")
            finally:
                self._batch_depth -= 1

    def _fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return self._conn.execute(sql, parameters).fetchall()

    def _fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self._conn.execute(sql, parameters).fetchone()
            return row

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
