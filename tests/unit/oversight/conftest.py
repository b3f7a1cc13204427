"""Fixtures for the oversight tests: a real store per backend, a real ledger, a fake clock.

``backend`` runs each test on SQLite and on PostgreSQL (``REDLINE_TEST_POSTGRES_URL``,
default ``postgresql://redline:redline@127.0.0.1:5432/redline_test``; skipped when
unreachable unless ``CI=true``). Each PostgreSQL test gets a fresh schema.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from oversight_kit import FAST_HASHER, PASSWORD, Clock

from redline.ledger.log import Ledger
from redline.oversight import AuthorizationSigner, Oversight
from redline.oversight.users import Authenticator
from redline.store import Store, open_store

DEFAULT_PG_URL = "postgresql://redline:redline@127.0.0.1:5432/redline_test"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


async def require_postgres() -> str:
    url = os.environ.get("REDLINE_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        message = f"PostgreSQL at {url} is unreachable ({type(exc).__name__}: {exc}); run scripts/pg-setup.sh"
        if _in_ci():
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
    base = await require_postgres()
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
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def ledger(store: Store, tmp_path: Path) -> AsyncIterator[Ledger]:
    opened = await Ledger.open(store, tmp_path / "ledger")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def signer() -> AuthorizationSigner:
    return AuthorizationSigner.generate()


@pytest.fixture
async def oversight(store: Store, ledger: Ledger, clock: Clock, signer: AuthorizationSigner) -> Oversight:
    return Oversight(store, ledger=ledger, clock=clock, signer=signer)


@pytest.fixture
async def users(store: Store, clock: Clock) -> dict[str, object]:
    """Five users: two commanders, a reviewer, an auditor, and ``alice`` — a commander
    who is also the requesting end user of the holds made by ``output_facts``."""
    auth = Authenticator(store, hasher=FAST_HASHER)
    made = {}
    for name, roles, tenant in (
        ("cmd1", ["commander"], "*"),
        ("cmd2", ["commander"], "*"),
        ("rev1", ["reviewer"], "*"),
        ("aud1", ["auditor"], "*"),
        ("alice", ["commander"], "*"),
        ("other", ["commander"], "tenant-b"),
    ):
        made[name] = await auth.add_user(name, PASSWORD, roles, tenant, clock())
    return made
