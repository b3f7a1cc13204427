"""Storage: one async interface (:class:`Store`), two backends (SQLite, PostgreSQL).

``await open_store(url)`` opens a store and applies pending migrations::

    sqlite:///abs/path/redline.db      an SQLite file (created with its directory)
    sqlite:///:memory:                 a private in-memory database (tests)
    postgresql://user:pw@host:5432/db  PostgreSQL; add ``?schema=name`` to keep
                                       redline's tables in that schema (created)

``default_database_url()`` is ``$REDLINE_DATABASE_URL`` if set, else an SQLite file in
redline's data directory (``$REDLINE_DATA_DIR``, ``$XDG_DATA_HOME/redline`` or
``~/.local/share/redline``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from redline.errors import ConfigError
from redline.store.base import (
    HOLD_KINDS,
    HOLD_STATES,
    ApiKey,
    Approval,
    Checkpoint,
    Cosignature,
    Hold,
    HoldKind,
    HoldState,
    LeafRecord,
    ProviderUsage,
    Session,
    StopState,
    Store,
    StoredLeaf,
    User,
)

__all__ = [
    "HOLD_KINDS",
    "HOLD_STATES",
    "ApiKey",
    "Approval",
    "Checkpoint",
    "Cosignature",
    "Hold",
    "HoldKind",
    "HoldState",
    "LeafRecord",
    "ProviderUsage",
    "Session",
    "StopState",
    "Store",
    "StoredLeaf",
    "User",
    "default_data_dir",
    "default_database_url",
    "open_store",
]


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$REDLINE_DATA_DIR``, else ``$XDG_DATA_HOME/redline``, else
    ``~/.local/share/redline`` — the same rule as ``redline.settings`` (not created here)."""
    env = os.environ if environ is None else environ
    configured = env.get("REDLINE_DATA_DIR")
    if configured:
        return Path(configured).expanduser().absolute()
    xdg = env.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "redline"


def default_database_url(environ: Mapping[str, str] | None = None) -> str:
    """``$REDLINE_DATABASE_URL`` if set, else ``sqlite:///<data dir>/redline.db``."""
    env = os.environ if environ is None else environ
    configured = env.get("REDLINE_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{default_data_dir(env) / 'redline.db'}"


async def open_store(url: str | None = None) -> Store:
    """Open the store named by ``url`` (default: :func:`default_database_url`) and
    apply pending migrations. Raises ConfigError for a URL it does not understand,
    StoreError if the database cannot be reached or opened."""
    if url is None:
        url = default_database_url()
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from redline.store.sqlite import SQLiteStore

        return await SQLiteStore.open(url)
    if scheme in ("postgresql", "postgres"):
        from redline.store.postgres import PostgresStore

        return await PostgresStore.open(url)
    raise ConfigError(
        f"unsupported database URL scheme {scheme!r}: use sqlite:///path or postgresql://…",
        code="config_invalid",
    )
