"""SQLite backend: stdlib ``sqlite3`` on dedicated threads, WAL, ``synchronous=FULL``.

Design (what callers may rely on, and why it is built this way):

* One **writer thread** owns the only write connection; every write runs there, so
  writes from one process never contend with each other and never block the event
  loop. A file database also gets one **reader thread** with its own connection:
  WAL lets it read committed data while a write is in flight (e.g. ``audit verify``
  streaming leaves while the gateway appends). ``:memory:`` uses the writer for both.
* ``journal_mode=WAL`` + ``synchronous=FULL``: a commit is on disk (WAL fsynced)
  before the call returns — the durability the ledger's rule needs.
* Writes that read-then-write (ledger appends, migrations) start with
  ``BEGIN IMMEDIATE``, which takes SQLite's write lock up front; so several
  *processes* on one file also get dense, unique indices (``busy_timeout`` waits).
* Every ``sqlite3`` or OS error becomes a RedlineError (see ``_mapped``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from redline.errors import ConfigError, ConflictError, NotFoundError, RedlineError, StoreError
from redline.store._sqlstore import Row, SQLStore, Statement
from redline.store.base import LeafRecord, check_leaf
from redline.store.migrations import SCHEMA_VERSION_TABLE, latest_version, pending, render

T = TypeVar("T")

MEMORY = ":memory:"
_BUSY_TIMEOUT_MS = 10_000


def parse_sqlite_url(url: str) -> str:
    """The database path named by an ``sqlite://`` URL, or ``":memory:"``.

    ``sqlite:///abs/path.db`` → ``/abs/path.db``; ``sqlite:///:memory:`` →
    ``:memory:``; ``sqlite://relative.db`` → ``relative.db`` (relative to the cwd).
    """
    if not url.lower().startswith("sqlite://"):
        raise ConfigError(f"not an sqlite:// URL: {url!r}")
    rest = url[len("sqlite://") :].split("?", 1)[0]
    if rest in ("", ":memory:", "/:memory:"):
        return MEMORY
    return rest


def _mapped(exc: BaseException) -> RedlineError:
    """The RedlineError for a driver or OS error (by error code, never by message)."""
    if isinstance(exc, sqlite3.IntegrityError):
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
            return NotFoundError("the row this refers to does not exist")
        if code in (sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE):
            return ConflictError("a row with this key already exists")
    return StoreError(
        f"the SQLite database failed ({type(exc).__name__}: {exc}); check the file, its disk and permissions",
        driver_error=type(exc).__name__,
    )


def _guarded(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` on a store thread, converting driver errors to RedlineErrors there."""
    try:
        return fn(*args)
    except RedlineError:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise _mapped(exc) from exc


def _in_tx(conn: sqlite3.Connection, body: Callable[[], T]) -> T:
    """Run ``body`` inside ``BEGIN IMMEDIATE … COMMIT``; roll back if anything fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = body()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _ensure_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. Changing the journal mode needs a lock that SQLite does not
    wait for (busy_timeout does not apply), so several stores opening one file at once
    retry here, up to the busy timeout; a file already in WAL needs no lock at all."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            row = conn.execute("PRAGMA journal_mode").fetchone()
            if row is not None and str(row[0]).lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SQLiteStore(SQLStore):
    """The embedded backend. Open with ``await SQLiteStore.open(url)`` or ``open_store``."""

    backend = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._memory = path == MEMORY
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="redline-sqlite-writer")
        self._reader = (
            self._writer
            if self._memory
            else ThreadPoolExecutor(1, thread_name_prefix="redline-sqlite-reader")
        )
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    async def open(cls, url: str) -> SQLiteStore:
        """Open (creating the file and its directory if needed) and migrate."""
        store = cls(parse_sqlite_url(url))
        try:
            await store._call(store._writer, store._open_writer)
            if not store._memory:
                await store._call(store._reader, store._open_reader)
        except BaseException:
            await store.close()
            raise
        return store

    # ---- threads and connections -----------------------------------------------------

    async def _call(self, executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            future = executor.submit(_guarded, fn, *args)
        except RuntimeError as exc:  # the executor was shut down by a concurrent close()
            raise StoreError("the store is closed") from exc
        return await asyncio.wrap_future(future)

    def _connect(self) -> sqlite3.Connection:
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
        )
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _open_writer(self) -> None:
        conn = self._connect()
        self._wconn = conn
        if not self._memory:
            _ensure_wal(conn)
        self._migrate(conn)

    def _open_reader(self) -> None:
        self._rconn = self._connect()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(render(SCHEMA_VERSION_TABLE, "sqlite"))

        def current() -> int:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            return 0 if row is None or row[0] is None else int(row[0])

        for migration in pending(current()):

            def apply(m: Any = migration) -> None:
                if current() >= m.version:  # another process applied it meanwhile
                    return
                for statement in m.statements:
                    conn.execute(render(statement, "sqlite"))
                conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                    (m.version, m.name, time.time()),
                )

            _in_tx(conn, apply)
        if current() > latest_version():
            raise StoreError(
                f"the database schema (version {current()}) is newer than this redline "
                f"understands ({latest_version()}); upgrade redline",
                code="store_schema_too_new",
            )

    def _w(self) -> sqlite3.Connection:
        if self._wconn is None:
            raise StoreError("the store is closed")
        return self._wconn

    def _r(self) -> sqlite3.Connection:
        conn = self._wconn if self._memory else self._rconn
        if conn is None:
            raise StoreError("the store is closed")
        return conn

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close_writer() -> None:
            if self._wconn is not None:
                self._wconn.close()
                self._wconn = None

        def close_reader() -> None:
            if self._rconn is not None:
                self._rconn.close()
                self._rconn = None

        # Queued work finishes first (executors run in order), then the connections close.
        await asyncio.wrap_future(self._writer.submit(_guarded, close_writer))
        if self._reader is not self._writer:
            await asyncio.wrap_future(self._reader.submit(_guarded, close_reader))
            self._reader.shutdown(wait=False)
        self._writer.shutdown(wait=False)

    # ---- primitives ------------------------------------------------------------------

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        def run() -> list[Row]:
            return list(self._r().execute(sql, tuple(args)).fetchall())

        return await self._call(self._reader, run)

    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        def run() -> int:
            # Autocommit: one statement is its own (durable) transaction.
            return int(self._w().execute(sql, tuple(args)).rowcount)

        return await self._call(self._writer, run)

    async def _execute_tx(self, statements: Sequence[Statement]) -> list[int]:
        def run() -> list[int]:
            conn = self._w()
            return _in_tx(conn, lambda: [int(conn.execute(s, tuple(a)).rowcount) for s, a in statements])

        return await self._call(self._writer, run)

    # ---- ledger append ---------------------------------------------------------------

    async def append_leaves(self, items: Sequence[LeafRecord]) -> int:
        batch = list(items)
        for record in batch:
            check_leaf(record)

        def run() -> int:
            conn = self._w()

            def body() -> int:
                row = conn.execute("SELECT size FROM log_state WHERE id = 1").fetchone()
                first = int(row[0])
                if batch:
                    conn.executemany(
                        "INSERT INTO leaves (idx, entry, leaf_hash, kind, created_at, ciphertext) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (first + i, r.entry, r.leaf_hash, r.kind, float(r.created_at), r.ciphertext)
                            for i, r in enumerate(batch)
                        ],
                    )
                    conn.execute("UPDATE log_state SET size = ? WHERE id = 1", (first + len(batch),))
                return first

            return _in_tx(conn, body)

        return await self._call(self._writer, run)
