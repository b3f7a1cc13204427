"""Ledger fixtures: a fresh store per backend (same conventions as tests/unit/store).

PostgreSQL comes from ``REDLINE_TEST_POSTGRES_URL`` (default
``postgresql://redline:redline@127.0.0.1:5432/redline_test``); unreachable means
skip, unless ``CI=true``, where it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from redline.ledger.log import Ledger
from redline.store import Store


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
