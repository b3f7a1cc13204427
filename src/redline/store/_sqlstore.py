"""The Store contract written once in portable SQL, over three driver primitives.

Both backends subclass :class:`SQLStore` and supply ``_fetch``, ``_execute`` and
``_execute_tx`` (plus the ledger append, migrations and lifecycle, which need
dialect-specific locking). SQL here uses ``?`` placeholders; the PostgreSQL driver
rewrites them to ``$n``. Every statement is portable between SQLite ≥ 3.35 and
PostgreSQL ≥ 13 (``ON CONFLICT``, ``CASE`` rather than ``max``/``GREATEST``).

Drivers must map errors: unique violations → ConflictError, foreign-key violations →
NotFoundError, anything else from the driver → StoreError.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Sequence
from typing import Any, Literal, cast

from redline.store.base import (
    HOLD_KINDS,
    HOLD_STATES,
    ApiKey,
    Approval,
    Checkpoint,
    ConflictError,
    Cosignature,
    Hold,
    HoldKind,
    HoldState,
    ProviderUsage,
    Session,
    StopState,
    Store,
    StoredLeaf,
    User,
)

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[Any]]

_LEAF_COLS = "idx, entry, leaf_hash, kind, created_at, ciphertext"
_HOLD_COLS = (
    "id, tenant, app, principal, kind, payload, decision, required_count, roles, min_deliberation_s, "
    "created_at, expires_at, state, resolved_at, resolved_by, resolution_reason, released"
)
_USER_COLS = "name, password_hash, roles, tenant, created_at"
_KEY_COLS = "key_hash, tenant, app, user_name, attributes, created_at, revoked_at"


def _bytes(value: Any) -> bytes:
    return bytes(value)


def _hold(row: Row) -> Hold:
    return Hold(
        id=row[0],
        tenant=row[1],
        app=row[2],
        principal=row[3],
        kind=cast(HoldKind, row[4]),
        payload=row[5],
        decision=row[6],
        required_count=int(row[7]),
        roles=tuple(json.loads(row[8])),
        min_deliberation_s=float(row[9]),
        created_at=float(row[10]),
        expires_at=float(row[11]),
        state=cast(HoldState, row[12]),
        resolved_at=None if row[13] is None else float(row[13]),
        resolved_by=row[14],
        resolution_reason=row[15],
        released=row[16],
    )


def _user(row: Row) -> User:
    return User(row[0], row[1], tuple(json.loads(row[2])), row[3], float(row[4]))


def _key(row: Row) -> ApiKey:
    return ApiKey(
        row[0], row[1], row[2], row[3], row[4], float(row[5]), None if row[6] is None else float(row[6])
    )


def _check_state(state: str) -> None:
    # Programming errors, caught before they reach the database (where a typo would
    # otherwise be stored, or surface as a misleading store error).
    if state not in HOLD_STATES:
        raise ValueError(f"unknown hold state {state!r}; expected one of {HOLD_STATES}")


def utc_day(at: float) -> str:
    """The UTC calendar day of a POSIX time, as ``YYYY-MM-DD``."""
    return time.strftime("%Y-%m-%d", time.gmtime(at))


class SQLStore(Store):
    """Shared implementation of everything except appends, migrations and lifecycle."""

    # ---- driver primitives -----------------------------------------------------------

    @abc.abstractmethod
    async def _fetch(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Run a read and return all rows as tuples."""

    @abc.abstractmethod
    async def _execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one write in its own durable transaction; return the affected row count."""

    @abc.abstractmethod
    async def _execute_tx(self, statements: Sequence[Statement]) -> list[int]:
        """Run writes in one durable transaction; return each one's row count."""

    async def _fetchone(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = await self._fetch(sql, args)
        return rows[0] if rows else None

    # ---- lifecycle -------------------------------------------------------------------

    async def ping(self) -> None:
        await self._fetch("SELECT 1")

    async def schema_version(self) -> int:
        row = await self._fetchone("SELECT max(version) FROM schema_version")
        return 0 if row is None or row[0] is None else int(row[0])

    # ---- ledger ----------------------------------------------------------------------

    async def log_size(self) -> int:
        row = await self._fetchone("SELECT size FROM log_state WHERE id = 1")
        return 0 if row is None else int(row[0])

    async def read_leaves(self, start: int, end: int) -> list[StoredLeaf]:
        if end <= start:
            return []
        rows = await self._fetch(
            f"SELECT {_LEAF_COLS} FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end)
        )
        # Both drivers return (int, bytes, bytes, str, float, bytes | None) for these columns;
        # skipping per-field conversion matters when streaming millions of leaves.
        return [StoredLeaf(*r) for r in rows]

    async def put_subtree_hashes(self, items: Sequence[tuple[int, int, bytes]]) -> None:
        if not items:
            return
        sql = (
            "INSERT INTO subtree_hashes (level, idx, hash) VALUES (?, ?, ?) "
            "ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash"
        )
        await self._execute_tx([(sql, (level, index, digest)) for level, index, digest in items])

    async def get_subtree_hashes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        found: dict[tuple[int, int], bytes] = {}
        wanted = list(dict.fromkeys(keys))
        # One query per chunk (a proof needs ~2·log2 N hashes); the chunk bound keeps the
        # statement under SQLite's parameter limit.
        for pos in range(0, len(wanted), 200):
            chunk = wanted[pos : pos + 200]
            clause = " OR ".join(["(level = ? AND idx = ?)"] * len(chunk))
            args = [v for key in chunk for v in key]
            for level, index, digest in await self._fetch(
                f"SELECT level, idx, hash FROM subtree_hashes WHERE {clause}", args
            ):
                found[(int(level), int(index))] = _bytes(digest)
        return found

    async def put_checkpoint(self, size: int, root: bytes, note: bytes, created_at: float) -> bool:
        inserted = await self._execute(
            "INSERT INTO checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (size) DO NOTHING",
            (size, root, note, created_at),
        )
        if inserted:
            return True
        # Checkpoint rows are never updated, so reading after the failed insert is race-free.
        row = await self._fetchone("SELECT root FROM checkpoints WHERE size = ?", (size,))
        if row is not None and _bytes(row[0]) != root:
            raise ConflictError(
                f"a checkpoint of size {size} with a different root is already stored (fork)",
                size=size,
                stored_root=_bytes(row[0]).hex(),
                new_root=root.hex(),
            )
        return False

    async def checkpoints(self, since_size: int = 0, limit: int | None = None) -> list[Checkpoint]:
        sql = "SELECT size, root, note, created_at FROM checkpoints WHERE size >= ? ORDER BY size"
        args: list[Any] = [since_size]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        rows = await self._fetch(sql, args)
        return [Checkpoint(int(r[0]), _bytes(r[1]), _bytes(r[2]), float(r[3])) for r in rows]

    async def latest_checkpoint(self) -> Checkpoint | None:
        row = await self._fetchone(
            "SELECT size, root, note, created_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        return None if row is None else Checkpoint(int(row[0]), _bytes(row[1]), _bytes(row[2]), float(row[3]))

    async def put_cosignature(self, size: int, witness: str, note: bytes, created_at: float) -> bool:
        inserted = await self._execute(
            "INSERT INTO cosignatures (size, witness, note, created_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (size, witness) DO NOTHING",
            (size, witness, note, created_at),
        )
        return inserted > 0

    async def cosignatures(self, size: int) -> list[Cosignature]:
        rows = await self._fetch(
            "SELECT size, witness, note, created_at FROM cosignatures WHERE size = ? ORDER BY witness",
            (size,),
        )
        return [Cosignature(int(r[0]), r[1], _bytes(r[2]), float(r[3])) for r in rows]

    # ---- holds -----------------------------------------------------------------------

    async def create_hold(self, hold: Hold) -> None:
        _check_state(hold.state)
        if hold.kind not in HOLD_KINDS:
            raise ValueError(f"unknown hold kind {hold.kind!r}; expected one of {HOLD_KINDS}")
        await self._execute(
            f"INSERT INTO holds ({_HOLD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                hold.id,
                hold.tenant,
                hold.app,
                hold.principal,
                hold.kind,
                hold.payload,
                hold.decision,
                hold.required_count,
                json.dumps(list(hold.roles)),
                float(hold.min_deliberation_s),
                float(hold.created_at),
                float(hold.expires_at),
                hold.state,
                hold.resolved_at,
                hold.resolved_by,
                hold.resolution_reason,
                hold.released,
            ),
        )

    async def get_hold(self, hold_id: str) -> Hold | None:
        row = await self._fetchone(f"SELECT {_HOLD_COLS} FROM holds WHERE id = ?", (hold_id,))
        return None if row is None else _hold(row)

    async def list_holds(
        self,
        state: HoldState | None = None,
        tenant: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        expires_before: float | None = None,
    ) -> list[Hold]:
        where: list[str] = []
        args: list[Any] = []
        if state is not None:
            where.append("state = ?")
            args.append(state)
        if tenant is not None:
            where.append("tenant = ?")
            args.append(tenant)
        if expires_before is not None:
            where.append("expires_at < ?")
            args.append(float(expires_before))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._fetch(
            f"SELECT {_HOLD_COLS} FROM holds{clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [_hold(r) for r in rows]

    async def transition_hold(
        self,
        hold_id: str,
        from_state: HoldState,
        to_state: HoldState,
        at: float,
        by: str,
        reason: str,
        released: str | None = None,
    ) -> bool:
        _check_state(from_state)
        _check_state(to_state)
        changed = await self._execute(
            "UPDATE holds SET state = ?, resolved_at = ?, resolved_by = ?, resolution_reason = ?, "
            "released = COALESCE(?, released) "
            "WHERE id = ? AND state = ?",
            (to_state, float(at), by, reason, released, hold_id, from_state),
        )
        return changed == 1

    async def add_approval(
        self,
        hold_id: str,
        approver: str,
        role: str,
        decision: Literal["approve", "reject"],
        reason: str,
        at: float,
    ) -> None:
        if decision not in ("approve", "reject"):
            raise ValueError(f"an approval decision is 'approve' or 'reject', not {decision!r}")
        await self._execute(
            "INSERT INTO approvals (hold_id, approver, role, decision, reason, at) VALUES (?, ?, ?, ?, ?, ?)",
            (hold_id, approver, role, decision, reason, float(at)),
        )

    async def approvals(self, hold_id: str) -> list[Approval]:
        rows = await self._fetch(
            "SELECT hold_id, approver, role, decision, reason, at FROM approvals "
            "WHERE hold_id = ? ORDER BY at, approver",
            (hold_id,),
        )
        return [
            Approval(r[0], r[1], r[2], cast(Literal["approve", "reject"], r[3]), r[4], float(r[5]))
            for r in rows
        ]

    # ---- users, sessions, keys -------------------------------------------------------

    async def add_user(
        self, name: str, password_hash: str, roles: Sequence[str], tenant: str, created_at: float = 0.0
    ) -> None:
        await self._execute(
            f"INSERT INTO users ({_USER_COLS}) VALUES (?, ?, ?, ?, ?)",
            (name, password_hash, json.dumps(list(roles)), tenant, float(created_at)),
        )

    async def get_user(self, name: str) -> User | None:
        row = await self._fetchone(f"SELECT {_USER_COLS} FROM users WHERE name = ?", (name,))
        return None if row is None else _user(row)

    async def list_users(self) -> list[User]:
        return [_user(r) for r in await self._fetch(f"SELECT {_USER_COLS} FROM users ORDER BY name")]

    async def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        roles: Sequence[str] | None = None,
        tenant: str | None = None,
    ) -> bool:
        sets: list[str] = []
        args: list[Any] = []
        if password_hash is not None:
            sets.append("password_hash = ?")
            args.append(password_hash)
        if roles is not None:
            sets.append("roles = ?")
            args.append(json.dumps(list(roles)))
        if tenant is not None:
            sets.append("tenant = ?")
            args.append(tenant)
        if not sets:
            return await self.get_user(name) is not None
        changed = await self._execute(f"UPDATE users SET {', '.join(sets)} WHERE name = ?", [*args, name])
        return changed == 1

    async def delete_user(self, name: str) -> bool:
        counts = await self._execute_tx(
            [
                ("DELETE FROM sessions WHERE user_name = ?", (name,)),
                ("DELETE FROM users WHERE name = ?", (name,)),
            ]
        )
        return counts[1] == 1

    async def create_session(
        self, token_hash: str, user: str, csrf: str, expires_at: float, created_at: float = 0.0
    ) -> None:
        await self._execute(
            "INSERT INTO sessions (token_hash, user_name, csrf, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
            (token_hash, user, csrf, float(expires_at), float(created_at)),
        )

    async def get_session(self, token_hash: str) -> Session | None:
        row = await self._fetchone(
            "SELECT token_hash, user_name, csrf, expires_at, created_at FROM sessions WHERE token_hash = ?",
            (token_hash,),
        )
        return None if row is None else Session(row[0], row[1], row[2], float(row[3]), float(row[4]))

    async def delete_session(self, token_hash: str) -> bool:
        return await self._execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,)) == 1

    async def delete_expired_sessions(self, now: float) -> int:
        return await self._execute("DELETE FROM sessions WHERE expires_at <= ?", (float(now),))

    async def put_api_key(
        self,
        key_hash: str,
        tenant: str,
        app: str,
        user: str | None,
        attributes_json: str,
        created_at: float,
    ) -> None:
        await self._execute(
            f"INSERT INTO api_keys ({_KEY_COLS}) VALUES (?, ?, ?, ?, ?, ?, NULL)",
            (key_hash, tenant, app, user, attributes_json, float(created_at)),
        )

    async def get_api_key(self, key_hash: str) -> ApiKey | None:
        row = await self._fetchone(f"SELECT {_KEY_COLS} FROM api_keys WHERE key_hash = ?", (key_hash,))
        return None if row is None else _key(row)

    async def list_api_keys(self) -> list[ApiKey]:
        rows = await self._fetch(f"SELECT {_KEY_COLS} FROM api_keys ORDER BY created_at, key_hash")
        return [_key(r) for r in rows]

    async def revoke_api_key(self, key_hash: str, at: float = 0.0) -> bool:
        changed = await self._execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
            (float(at), key_hash),
        )
        return changed == 1

    # ---- tokens and counters ---------------------------------------------------------

    async def consume_token(self, token_id: str, at: float) -> bool:
        inserted = await self._execute(
            "INSERT INTO consumed_tokens (token_id, consumed_at) VALUES (?, ?) ON CONFLICT (token_id) DO NOTHING",
            (token_id, float(at)),
        )
        return inserted == 1

    async def observe_subject(self, counter: str, principal_key: str, subject: str, at: float) -> None:
        await self._execute(
            "INSERT INTO counter_subjects (counter, principal_key, subject, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (counter, principal_key, subject) DO UPDATE SET last_seen = "
            "CASE WHEN excluded.last_seen > counter_subjects.last_seen "
            "THEN excluded.last_seen ELSE counter_subjects.last_seen END",
            (counter, principal_key, subject, float(at)),
        )

    async def distinct_subjects(
        self, counter: str, principal_key: str, since: float, including: str | None = None
    ) -> int:
        row = await self._fetchone(
            "SELECT count(*), sum(CASE WHEN subject = ? THEN 1 ELSE 0 END) FROM counter_subjects "
            "WHERE counter = ? AND principal_key = ? AND last_seen >= ?",
            ("" if including is None else including, counter, principal_key, float(since)),
        )
        count = 0 if row is None else int(row[0])
        seen_including = row is not None and row[1] is not None and int(row[1]) > 0
        if including is not None and not seen_including:
            count += 1
        return count

    async def prune_subjects(self, before: float) -> int:
        return await self._execute("DELETE FROM counter_subjects WHERE last_seen < ?", (float(before),))

    # ---- stop switch and provider usage ----------------------------------------------

    async def set_stop(self, tenant: str, on: bool, by: str, reason: str, at: float) -> None:
        await self._execute(
            "INSERT INTO stop_switch (tenant, is_on, set_by, reason, at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant) DO UPDATE SET is_on = excluded.is_on, set_by = excluded.set_by, "
            "reason = excluded.reason, at = excluded.at",
            (tenant, 1 if on else 0, by, reason, float(at)),
        )

    async def get_stop(self, tenant: str) -> StopState | None:
        row = await self._fetchone(
            "SELECT tenant, is_on, set_by, reason, at FROM stop_switch WHERE tenant = ?", (tenant,)
        )
        return None if row is None else StopState(row[0], bool(row[1]), row[2], row[3], float(row[4]))

    async def record_provider_use(self, tenant: str, app: str, vendor: str, model: str, at: float) -> None:
        await self._execute(
            "INSERT INTO provider_usage (day, tenant, app, vendor, model, count, first_seen, last_seen) "
            "VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
            "ON CONFLICT (day, tenant, app, vendor, model) DO UPDATE SET "
            "count = provider_usage.count + 1, "
            "first_seen = CASE WHEN excluded.first_seen < provider_usage.first_seen "
            "THEN excluded.first_seen ELSE provider_usage.first_seen END, "
            "last_seen = CASE WHEN excluded.last_seen > provider_usage.last_seen "
            "THEN excluded.last_seen ELSE provider_usage.last_seen END",
            (utc_day(at), tenant, app, vendor, model, float(at), float(at)),
        )

    async def provider_usage(self, since: float = 0.0) -> list[ProviderUsage]:
        rows = await self._fetch(
            "SELECT day, tenant, app, vendor, model, count, first_seen, last_seen FROM provider_usage "
            "WHERE day >= ? ORDER BY day, tenant, app, vendor, model",
            (utc_day(since),),
        )
        return [
            ProviderUsage(r[0], r[1], r[2], r[3], r[4], int(r[5]), float(r[6]), float(r[7])) for r in rows
        ]
