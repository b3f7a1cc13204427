"""PostgreSQL backend (asyncpg): for several redline replicas sharing one database.

What callers may rely on, beyond the :class:`~redline.store.base.Store` contract:

* **Dense indices across replicas.** ``append_leaves`` locks the single sequencer row
  (``SELECT size FROM log_state … FOR UPDATE``) inside its transaction, so concurrent
  appenders in any number of processes queue on that row and each batch gets the next
  consecutive range. One ``INSERT … SELECT FROM unnest(…)`` writes the whole batch.
* **Migrations once.** Opening takes a transaction-scoped advisory lock before
  checking ``schema_version``, so replicas starting together migrate exactly once.
* **Schemas.** ``postgresql://…?schema=name`` keeps redline's tables in ``name``
  (created if missing; ``search_path`` is set on every pooled connection) — used by
  the tests to give each test a fresh schema, and by deployments sharing a database.
* **Errors.** Unreachable or failing servers raise StoreError (``store_unavailable``);
  connect attempts time out after 5 s and statements after 30 s, so a dead server
  surfaces as an error instead of a hang.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from redline.errors import ConfigError, ConflictError, NotFoundError, RedlineError, StoreError
from redline.store._sqlstore import Row, SQLStore, Statement
from redline.store.base import LeafRecord, check_leaf
from redline.store.migrations import SCHEMA_VERSION_TABLE, latest_version, pending, render

# Arbitrary but fixed: the advisory lock key that serialises migrations ("redl").
_MIGRATION_LOCK = 0x7265646C
_CONNECT_TIMEOUT_S = 5.0
_COMMAND_TIMEOUT_S = 30.0
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


def parse_postgres_url(url: str) -> tuple[str, str | None]:
    """Split a ``postgresql://`` URL into (DSN for asyncpg, schema or None)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"not a postgresql:// URL: {url!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ConfigError(f"invalid schema name {schema!r} in the database URL (letters, digits, _)")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), schema


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _mapped(exc: BaseException, where: str) -> RedlineError:
    """The RedlineError for a driver or network error (by exception type, never text)."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return ConflictError("a row with this key already exists")
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return NotFoundError("the row this refers to does not exist")
    return StoreError(
        f"the PostgreSQL database at {where} is unavailable or failed ({type(exc).__name__}); "
        "check that the server is running and reachable",
        driver_error=type(exc).__name__,
    )


def _to_dollar(sql: str) -> str:
    """Rewrite ``?`` placeholders as ``$1, $2, …`` (our SQL has no ``?`` in literals)."""
    pieces = sql.split("?")
    out = [pieces[0]]
    for n, piece in enumerate(pieces[1:], start=1):
        out.append(f"${n}{piece}")
    return "".join(out)


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag, e.g. "INSERT 0 1", "UPDATE 3", "DELETE 0".
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresStore(SQLStore):
    """The multi-replica backend. Open with ``await PostgresStore.open(url)`` or ``open_store``."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, where: str, schema: str | None) -> None:
        self._pool = pool
        self._where = where
        self.schema = schema
        self._closed = False
        self._sql_cache: dict[str, str] = {}

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresStore:
        """Connect a pool, create the schema if one is named, and migrate."""
        dsn, schema = parse_postgres_url(url)
        where = _redacted(dsn)
        settings = {"application_name": "redline"}
        if schema is not None:
            settings["search_path"] = schema
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                timeout=_CONNECT_TIMEOUT_S,
                command_timeout=_COMMAND_TIMEOUT_S,
                server_settings=settings,
            )
        except _DRIVER_ERRORS as exc:
            raise _mapped(exc, where) from exc
        store = cls(pool, where, schema)
        try:
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    # ---- connections -----------------------------------------------------------------

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[asyncpg.Connection]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _DRIVER_ERRORS as exc:
            raise _mapped(exc, self._where) from exc

    def _sql(self, sql: str) -> str:
        converted = self._sql_cache.get(sql)
        if converted is None:
            converted = self._sql_cache[sql] = _to_dollar(sql)
        return converted

    async def _migrate(self) -> None:
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            if self.schema is not None:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(render(SCHEMA_VERSION_TABLE, "postgresql"))
            current = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
            if current > latest_version():
                raise StoreError(
                    f"the database schema (version {current}) is newer than this redline "
                    f"understands ({latest_version()}); upgrade redline",
                    code="store_schema_too_new",
                )
            for migration in pending(current):
                for statement in migration.statements:
                    await conn.execute(render(statement, "postgresql"))
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    time.time(),
                )

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._pool.close(), timeout=5.0)
        except _DRIVER_ERRORS:
            # A connection that cannot close cleanly (server gone) is dropped instead.
            self._pool.terminate()

    # ---- primitives ------------------------------------------------------------------

    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        async with self._conn() as conn:
            return [tuple(r) for r in await conn.fetch(self._sql(sql), *args)]

    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self._conn() as conn:
            return _rowcount(await conn.execute(self._sql(sql), *args))

    async def _execute_tx(self, statements: Sequence[Statement]) -> list[int]:
        async with self._conn() as conn, conn.transaction():
            return [_rowcount(await conn.execute(self._sql(s), *a)) for s, a in statements]

    # ---- ledger append ---------------------------------------------------------------

    async def append_leaves(self, items: Sequence[LeafRecord]) -> int:
        batch = list(items)
        for record in batch:
            check_leaf(record)
        async with self._conn() as conn, conn.transaction():
            first = int(await conn.fetchval("SELECT size FROM log_state WHERE id = 1 FOR UPDATE"))
            if batch:
                await conn.execute(
                    "INSERT INTO leaves (idx, entry, leaf_hash, kind, created_at, ciphertext) "
                    "SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::text[], "
                    "$5::float8[], $6::bytea[])",
                    list(range(first, first + len(batch))),
                    [r.entry for r in batch],
                    [r.leaf_hash for r in batch],
                    [r.kind for r in batch],
                    [float(r.created_at) for r in batch],
                    [r.ciphertext for r in batch],
                )
                await conn.execute("UPDATE log_state SET size = $1 WHERE id = 1", first + len(batch))
            return first
