"""Ledger fixtures: a fresh store per backend (same conventions as tests/unit/store).

PostgreSQL comes from ``REDLINE_TEST_POSTGRES_URL`` (default
``postgresql://redline:redline@127.0.0.1:5432/redline_test``); unreachable means
skip, unless ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from redline.ledger.log import Ledger
from redline.store import Store, open_store

DEFAULT_PG_URL = "postgresql://redline:redline@127.0.0.1:5432/redline_test"


async def _require_postgres() -> str:
    url = os.environ.get("REDLINE_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        message = f"PostgreSQL at {url} is unreachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    await conn.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'redline.db'}"
        return
    base = await _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}schema={schema}"
    finally:
        conn = await asyncpg.connect(base, timeout=5)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def ledger(store: Store, tmp_path: Path) -> AsyncIterator[Ledger]:
    led = await Ledger.open(store, tmp_path / "data", origin="redline.test/log", encrypt=True)
    try:
        yield led
    finally:
        await led.close()


class AttackerSQL:
    """Raw SQL against the store's database through its own connection, as an attacker would.

    Statements use ``?`` placeholders on both backends.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    async def __call__(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        if self.url.startswith("sqlite:///"):
            import sqlite3

            conn = sqlite3.connect(self.url[len("sqlite:///") :])
            try:
                rows = conn.execute(sql, args).fetchall()
                conn.commit()
                return [tuple(r) for r in rows]
            finally:
                conn.close()
        from redline.store.postgres import parse_postgres_url

        dsn, schema = parse_postgres_url(self.url)
        n = 0

        def _num(_: object) -> str:
            nonlocal n
            n += 1
            return f"${n}"

        import re

        pg_sql = re.sub(r"\?", _num, sql)
        conn = await asyncpg.connect(dsn, timeout=5, server_settings={"search_path": schema or "public"})
        try:
            return [tuple(r) for r in await conn.fetch(pg_sql, *args)]
        finally:
            await conn.close()


@pytest.fixture
def attacker(store_url: str) -> AttackerSQL:
    return AttackerSQL(store_url)
