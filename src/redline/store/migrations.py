"""Schema migrations: numbered, append-only, one logical schema on both backends.

Each :class:`Migration` is a list of SQL statements written once with type
placeholders (``{blob}``, ``{real}``, ``{bigint}``) that :func:`render` fills in for
the dialect. Backends apply, on open, every migration whose number is above the
highest row of ``schema_version`` — each migration in its own transaction, together
with its ``schema_version`` row — under a lock so that several processes or replicas
opening the same database at once apply each migration exactly once.

Rules for adding one: append a new ``Migration`` with the next number; never edit or
reorder a published one; keep statements portable (SQLite ≥ 3.35 and PostgreSQL ≥ 13).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgresql"]

_TYPES: dict[Dialect, dict[str, str]] = {
    # SQLite: "INTEGER PRIMARY KEY" makes the leaf index the rowid (cheap range scans).
    "sqlite": {"blob": "BLOB", "real": "REAL", "bigint": "INTEGER"},
    "postgresql": {"blob": "BYTEA", "real": "DOUBLE PRECISION", "bigint": "BIGINT"},
}

SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at {real} NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema",
        (
            # The ledger's sequencer: one row holding the committed size. Appenders lock
            # it (PostgreSQL: SELECT … FOR UPDATE; SQLite: BEGIN IMMEDIATE), which is what
            # keeps indices dense and unique across writers.
            """CREATE TABLE log_state (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                size {bigint} NOT NULL
            )""",
            "INSERT INTO log_state (id, size) VALUES (1, 0)",
            """CREATE TABLE leaves (
                idx {bigint} PRIMARY KEY,
                entry {blob} NOT NULL,
                leaf_hash {blob} NOT NULL,
                kind TEXT NOT NULL,
                created_at {real} NOT NULL,
                ciphertext {blob}
            )""",
            """CREATE TABLE subtree_hashes (
                level INTEGER NOT NULL,
                idx {bigint} NOT NULL,
                hash {blob} NOT NULL,
                PRIMARY KEY (level, idx)
            )""",
            """CREATE TABLE checkpoints (
                size {bigint} PRIMARY KEY,
                root {blob} NOT NULL,
                note {blob} NOT NULL,
                created_at {real} NOT NULL
            )""",
            """CREATE TABLE cosignatures (
                size {bigint} NOT NULL,
                witness TEXT NOT NULL,
                note {blob} NOT NULL,
                created_at {real} NOT NULL,
                PRIMARY KEY (size, witness)
            )""",
            """CREATE TABLE holds (
                id TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                app TEXT NOT NULL,
                principal TEXT NOT NULL,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                decision TEXT NOT NULL,
                required_count INTEGER NOT NULL,
                roles TEXT NOT NULL,
                min_deliberation_s {real} NOT NULL,
                created_at {real} NOT NULL,
                expires_at {real} NOT NULL,
                state TEXT NOT NULL,
                resolved_at {real},
                resolved_by TEXT,
                resolution_reason TEXT,
                released TEXT
            )""",
            "CREATE INDEX holds_state_created ON holds (state, created_at)",
            "CREATE INDEX holds_tenant_created ON holds (tenant, created_at)",
            """CREATE TABLE approvals (
                hold_id TEXT NOT NULL REFERENCES holds (id) ON DELETE CASCADE,
                approver TEXT NOT NULL,
                role TEXT NOT NULL,
                decision TEXT NOT NULL,
                reason TEXT NOT NULL,
                at {real} NOT NULL,
                PRIMARY KEY (hold_id, approver)
            )""",
            """CREATE TABLE users (
                name TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                roles TEXT NOT NULL,
                tenant TEXT NOT NULL,
                created_at {real} NOT NULL
            )""",
            """CREATE TABLE sessions (
                token_hash TEXT PRIMARY KEY,
                user_name TEXT NOT NULL,
                csrf TEXT NOT NULL,
                expires_at {real} NOT NULL,
                created_at {real} NOT NULL
            )""",
            "CREATE INDEX sessions_user ON sessions (user_name)",
            """CREATE TABLE api_keys (
                key_hash TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                app TEXT NOT NULL,
                user_name TEXT,
                attributes TEXT NOT NULL,
                created_at {real} NOT NULL,
                revoked_at {real}
            )""",
            """CREATE TABLE consumed_tokens (
                token_id TEXT PRIMARY KEY,
                consumed_at {real} NOT NULL
            )""",
            """CREATE TABLE counter_subjects (
                counter TEXT NOT NULL,
                principal_key TEXT NOT NULL,
                subject TEXT NOT NULL,
                last_seen {real} NOT NULL,
                PRIMARY KEY (counter, principal_key, subject)
            )""",
            "CREATE INDEX counter_subjects_last_seen ON counter_subjects (last_seen)",
            """CREATE TABLE stop_switch (
                tenant TEXT PRIMARY KEY,
                is_on INTEGER NOT NULL,
                set_by TEXT NOT NULL,
                reason TEXT NOT NULL,
                at {real} NOT NULL
            )""",
            """CREATE TABLE provider_usage (
                day TEXT NOT NULL,
                tenant TEXT NOT NULL,
                app TEXT NOT NULL,
                vendor TEXT NOT NULL,
                model TEXT NOT NULL,
                count {bigint} NOT NULL,
                first_seen {real} NOT NULL,
                last_seen {real} NOT NULL,
                PRIMARY KEY (day, tenant, app, vendor, model)
            )""",
        ),
    ),
)


def latest_version() -> int:
    """The number of the newest migration this code knows."""
    return MIGRATIONS[-1].version if MIGRATIONS else 0


def render(sql: str, dialect: Dialect) -> str:
    """``sql`` with its type placeholders filled in for ``dialect``."""
    return sql.format(**_TYPES[dialect])


def pending(current: int) -> list[Migration]:
    """Migrations above ``current``, in order."""
    return [m for m in MIGRATIONS if m.version > current]
