"""Shared test fixtures. Tests run offline: no model hub, no network but loopback.

The storage fixtures serve every suite that runs on both backends (store, ledger, oversight):
one ``store`` per backend, fresh per test.

* ``backend`` — "sqlite" or "postgresql" (params of every contract test).
* ``store_url`` — a URL naming a fresh, empty database for this test: an SQLite file
  under ``tmp_path``, or a uniquely named PostgreSQL schema (dropped afterwards).
  Open it more than once to get several Store objects on one database.
* ``store`` — ``await open_store(store_url)``, closed after the test.

PostgreSQL comes from ``REDLINE_TEST_POSTGRES_URL`` (default
``postgresql://redline:redline@127.0.0.1:5432/redline_test``; ``scripts/pg-setup.sh``
creates it). If it is unreachable the PostgreSQL half is skipped — unless ``CI=true``,
where it fails, so CI can never pass without having run it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from redline.store import Store, open_store

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DEFAULT_PG_URL = "postgresql://redline:redline@127.0.0.1:5432/redline_test"


def postgres_url() -> str:
    return os.environ.get("REDLINE_TEST_POSTGRES_URL", DEFAULT_PG_URL)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


async def _pg_reachable(url: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def require_postgres() -> str:
    """The PostgreSQL URL, or skip (fail under CI=true) if it cannot be reached."""
    url = postgres_url()
    problem = await _pg_reachable(url)
    if problem is not None:
        message = f"PostgreSQL at {url} is unreachable ({problem}); run scripts/pg-setup.sh"
        if _in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return url


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def store_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'redline.db'}"
        return
    base = await require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}schema={schema}"
    finally:
        await drop_schema(base, schema)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await open_store(store_url)
    try:
        yield opened
    finally:
        await opened.close()
