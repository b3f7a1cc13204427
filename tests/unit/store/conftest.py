"""Storage-suite fixtures beyond the shared ones in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def sqlite_only(backend: str) -> Iterator[None]:
    if backend != "sqlite":
        pytest.skip("SQLite-specific")
    yield
