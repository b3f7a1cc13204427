"""Fixtures for the oversight tests: a real store per backend, a real ledger, a fake clock.

``backend`` runs each test on SQLite and on PostgreSQL (``REDLINE_TEST_POSTGRES_URL``,
default ``postgresql://redline:redline@127.0.0.1:5432/redline_test``; skipped when
unreachable unless ``CI=true``). Each PostgreSQL test gets a fresh schema.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from oversight_kit import FAST_HASHER, PASSWORD, Clock

from redline.ledger.log import Ledger
from redline.oversight import AuthorizationSigner, Oversight
from redline.oversight.users import Authenticator
from redline.store import Store


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
