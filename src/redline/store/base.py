"""The storage contract: one async interface that every durable part of redline uses.

Two backends implement it — SQLite (the embedded default) and PostgreSQL (several
redline replicas sharing one database) — and one contract test suite
(``tests/unit/store/test_contract.py``) pins the behaviour below for both. Code
against :class:`Store` only; open one with :func:`redline.store.open_store`.

What every caller may rely on:

* Every method is ``async`` and safe to call concurrently from one event loop.
* A method that returns after a write has **committed durably** (SQLite: WAL with
  ``synchronous=FULL``; PostgreSQL: ``synchronous_commit`` as configured, on by
  default). Nothing is acknowledged that was not committed.
* Failures are :class:`~redline.errors.RedlineError` subclasses, never raw driver
  exceptions: a dead or unreachable database raises :class:`StoreError` (code
  ``store_unavailable``); a uniqueness violation the contract names raises
  :class:`ConflictError`; a reference to a missing parent raises
  :class:`NotFoundError`.
* Times are POSIX seconds (``float``) passed in by the caller; the store never reads
  the clock for anything a caller sees, except where a default is documented.
* JSON columns are passed and returned as ``str`` (the caller owns the encoding).
* Values returned are immutable dataclasses (``StoredLeaf`` is read-only by
  convention, for speed); lists are in the documented order.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from redline.errors import ConflictError, NotFoundError, StoreError

__all__ = [
    "HOLD_KINDS",
    "HOLD_STATES",
    "ApiKey",
    "Approval",
    "Checkpoint",
    "ConflictError",
    "Cosignature",
    "Hold",
    "HoldKind",
    "HoldState",
    "LeafRecord",
    "NotFoundError",
    "ProviderUsage",
    "Session",
    "StopState",
    "Store",
    "StoreError",
    "StoredLeaf",
    "User",
    "check_leaf",
]

HoldState = Literal["pending", "approved", "rejected", "expired", "cancelled"]
HoldKind = Literal["input", "output", "tool_call"]
HOLD_STATES: tuple[HoldState, ...] = ("pending", "approved", "rejected", "expired", "cancelled")
HOLD_KINDS: tuple[HoldKind, ...] = ("input", "output", "tool_call")


# --------------------------------------------------------------------------- ledger


@dataclass(frozen=True, slots=True)
class LeafRecord:
    """One ledger entry to append.

    ``entry`` is the canonical byte encoding (what the leaf hash covers),
    ``leaf_hash`` its 32-byte RFC 9162 leaf hash, ``kind`` a short label such as
    ``"decision"`` or ``"approval"``, ``ciphertext`` the optional encrypted content.
    The store keeps the bytes exactly; it does not check ``leaf_hash``.
    """

    entry: bytes
    leaf_hash: bytes
    kind: str
    created_at: float
    ciphertext: bytes | None = None


@dataclass(slots=True)
class StoredLeaf:
    """A ledger entry as read back, with the index it was stored under.

    Indices in a healthy log are dense (0..N-1). A verifier must not assume it:
    :meth:`Store.read_leaves` returns the rows that exist, so a row deleted behind
    the store's back shows up as a missing index, which is what tamper checks need.

    Treat it as read-only. It is deliberately not ``frozen``: a full verification
    builds millions of these and a frozen dataclass costs ~5x more to construct.
    """

    index: int
    entry: bytes
    leaf_hash: bytes
    kind: str
    created_at: float
    ciphertext: bytes | None = None

    def record(self) -> LeafRecord:
        """The same entry without its index."""
        return LeafRecord(self.entry, self.leaf_hash, self.kind, self.created_at, self.ciphertext)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed checkpoint: the tree of ``size`` leaves has root ``root``; ``note``
    is the full signed-note bytes (C2SP format) exactly as signed."""

    size: int
    root: bytes
    note: bytes
    created_at: float


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's co-signature on the checkpoint of ``size``: ``note`` is what the
    witness returned (signature lines or the whole co-signed note), kept verbatim."""

    size: int
    witness: str
    note: bytes
    created_at: float


def check_leaf(record: LeafRecord) -> None:
    """Raise ValueError unless ``record`` has the documented shape (bytes entry, a
    32-byte leaf hash, a non-empty kind, a number for created_at, bytes or None for
    ciphertext). Backends and GroupAppender call it before writing, so one malformed
    record fails only its own caller — a programming error, hence not a RedlineError."""
    if not isinstance(record.entry, bytes):
        raise ValueError("LeafRecord.entry must be bytes")
    if not isinstance(record.leaf_hash, bytes) or len(record.leaf_hash) != 32:
        raise ValueError("LeafRecord.leaf_hash must be 32 bytes")
    if not isinstance(record.kind, str) or not record.kind:
        raise ValueError("LeafRecord.kind must be a non-empty str")
    if not isinstance(record.created_at, int | float) or isinstance(record.created_at, bool):
        raise ValueError("LeafRecord.created_at must be a number (POSIX seconds)")
    if record.ciphertext is not None and not isinstance(record.ciphertext, bytes):
        raise ValueError("LeafRecord.ciphertext must be bytes or None")


# --------------------------------------------------------------------------- oversight


@dataclass(frozen=True, slots=True)
class Hold:
    """A durable hold created by a ``review`` decision.

    ``payload`` and ``decision`` are JSON text owned by the oversight engineer (what
    is held — e.g. the output text, or a tool call with canonical arguments — and the
    decision that held it). ``roles`` are the roles whose members may approve.
    ``released`` is JSON text set when the hold is approved and its effect released.
    """

    id: str
    tenant: str
    app: str
    principal: str
    kind: HoldKind
    payload: str
    decision: str
    required_count: int
    roles: tuple[str, ...]
    min_deliberation_s: float
    created_at: float
    expires_at: float
    state: HoldState = "pending"
    resolved_at: float | None = None
    resolved_by: str | None = None
    resolution_reason: str | None = None
    released: str | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    """One person's vote on a hold; at most one per (hold, approver)."""

    hold_id: str
    approver: str
    role: str
    decision: Literal["approve", "reject"]
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class StopState:
    """The stop switch of a tenant (oversight may use a reserved tenant such as
    ``"*"`` for a global switch; the store gives the name no meaning)."""

    tenant: str
    on: bool
    by: str
    reason: str
    at: float


# --------------------------------------------------------------------------- identity


@dataclass(frozen=True, slots=True)
class User:
    """A person who can sign in to the oversight UI/API. ``password_hash`` is an
    opaque string (argon2 encoded) — the store never sees a password."""

    name: str
    password_hash: str
    roles: tuple[str, ...]
    tenant: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Session:
    """A sign-in session keyed by a hash of its token. The store returns expired
    sessions too; the caller compares ``expires_at`` with its clock."""

    token_hash: str
    user: str
    csrf: str
    expires_at: float
    created_at: float


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key keyed by a hash of the key. ``attributes`` is JSON text (fixed
    request attributes); ``revoked_at`` is set once revoked and the row is kept."""

    key_hash: str
    tenant: str
    app: str
    user: str | None
    attributes: str
    created_at: float
    revoked_at: float | None = None


@dataclass(frozen=True, slots=True)
class ProviderUsage:
    """Calls to one (vendor, model) by one (tenant, app) on one UTC day."""

    day: str  # "YYYY-MM-DD", UTC
    tenant: str
    app: str
    vendor: str
    model: str
    count: int
    first_seen: float
    last_seen: float


# --------------------------------------------------------------------------- the contract


class Store(abc.ABC):
    """The one storage interface. Obtain with ``await open_store(url)``; close with
    ``await store.close()`` or ``async with store:``. Migrations have been applied
    by the time ``open_store`` returns."""

    #: "sqlite" or "postgresql"
    backend: str

    # ---- lifecycle -------------------------------------------------------------------

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads. Idempotent. Later calls raise StoreError."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return if the database answers a trivial query, else raise StoreError."""

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The highest migration applied (see ``redline.store.migrations``)."""

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ---- ledger leaves ---------------------------------------------------------------

    @abc.abstractmethod
    async def append_leaves(self, items: Sequence[LeafRecord]) -> int:
        """Append ``items`` in ONE transaction; return the index of the first.

        The batch gets consecutive indices ``first .. first+len(items)-1``; indices
        across all writers (threads, processes, replicas on one PostgreSQL) are dense
        and unique. Durable on return. All-or-nothing: on error nothing was appended
        and StoreError is raised. An empty batch appends nothing and returns the
        current size. A malformed record raises ValueError (see :func:`check_leaf`).
        Prefer :class:`redline.store.appender.GroupAppender` for many small
        concurrent appends.
        """

    @abc.abstractmethod
    async def log_size(self) -> int:
        """The number of leaves committed (the next index to be assigned)."""

    @abc.abstractmethod
    async def read_leaves(self, start: int, end: int) -> list[StoredLeaf]:
        """The stored leaves with ``start <= index < end``, ascending by index.

        Returns only rows that exist (see :class:`StoredLeaf` about gaps). Reading
        large ranges: use :meth:`iter_leaves`, which pages.
        """

    async def iter_leaves(
        self, start: int = 0, end: int | None = None, batch: int = 10_000
    ) -> AsyncIterator[StoredLeaf]:
        """Stream leaves ``start <= index < end`` (``end`` defaults to the size at the
        time of the call) in pages of ``batch`` rows, ascending by index."""
        if end is None:
            end = await self.log_size()
        pos = start
        while pos < end:
            stop = min(pos + batch, end)
            for leaf in await self.read_leaves(pos, stop):
                yield leaf
            pos = stop

    # ---- interior hashes (optional cache for fast proofs) ----------------------------

    @abc.abstractmethod
    async def put_subtree_hashes(self, items: Sequence[tuple[int, int, bytes]]) -> None:
        """Persist hashes of complete subtrees: ``(level, index, hash)`` is the root of
        the perfect subtree covering leaves ``[index * 2**level, (index+1) * 2**level)``.

        A cache only: the ledger may store what it likes here and must be able to
        recompute everything from the leaves (verification never trusts it).
        Writing an existing key overwrites it.
        """

    @abc.abstractmethod
    async def get_subtree_hashes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The cached hashes for those ``(level, index)`` keys that are present."""

    # ---- checkpoints and co-signatures -----------------------------------------------

    @abc.abstractmethod
    async def put_checkpoint(self, size: int, root: bytes, note: bytes, created_at: float) -> bool:
        """Store the checkpoint of ``size``. At most one checkpoint per size is kept.

        Returns True if stored, False if one of that size with the same ``root``
        already exists (the first is kept). Raises ConflictError if one of that size
        exists with a *different* root — a fork; the ledger reports it as evidence.
        """

    @abc.abstractmethod
    async def checkpoints(self, since_size: int = 0, limit: int | None = None) -> list[Checkpoint]:
        """Checkpoints with ``size >= since_size``, ascending by size."""

    @abc.abstractmethod
    async def latest_checkpoint(self) -> Checkpoint | None:
        """The checkpoint with the largest size, or None."""

    @abc.abstractmethod
    async def put_cosignature(self, size: int, witness: str, note: bytes, created_at: float) -> bool:
        """Store ``witness``'s co-signature on the checkpoint of ``size``. One per
        (size, witness): returns True if stored, False if that witness already
        co-signed that size (the first is kept). Does not require the checkpoint row
        to exist (a witness may co-sign before the log stores its own copy)."""

    @abc.abstractmethod
    async def cosignatures(self, size: int) -> list[Cosignature]:
        """Co-signatures on the checkpoint of ``size``, ordered by witness name."""

    # ---- holds and approvals ---------------------------------------------------------

    @abc.abstractmethod
    async def create_hold(self, hold: Hold) -> None:
        """Insert ``hold`` as given. ConflictError if a hold with its id exists."""

    @abc.abstractmethod
    async def get_hold(self, hold_id: str) -> Hold | None:
        """The hold, or None."""

    @abc.abstractmethod
    async def list_holds(
        self,
        state: HoldState | None = None,
        tenant: str | None = None,
        limit: int = 100,
        offset: int = 0,
        *,
        expires_before: float | None = None,
    ) -> list[Hold]:
        """Holds matching every filter given, newest first (``created_at`` desc, then
        id). ``expires_before`` selects holds with ``expires_at < expires_before``
        (for the expiry sweeper: ``state="pending", expires_before=now``)."""

    @abc.abstractmethod
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
        """Compare-and-set the hold's state from ``from_state`` to ``to_state``.

        Returns True if this call made the change (and recorded ``resolved_at=at``,
        ``resolved_by=by``, ``resolution_reason=reason`` and, if given, ``released``);
        False if the hold does not exist or is not in ``from_state`` — so of two
        replicas racing to approve/expire the same hold exactly one wins.
        """

    @abc.abstractmethod
    async def add_approval(
        self,
        hold_id: str,
        approver: str,
        role: str,
        decision: Literal["approve", "reject"],
        reason: str,
        at: float,
    ) -> None:
        """Record a vote. ConflictError if ``approver`` already voted on this hold;
        NotFoundError if the hold does not exist. Does not look at the hold's state:
        the oversight layer decides who may vote and when."""

    @abc.abstractmethod
    async def approvals(self, hold_id: str) -> list[Approval]:
        """Votes on the hold, in the order they were recorded (``at``, then approver)."""

    # ---- users, sessions, API keys ---------------------------------------------------

    @abc.abstractmethod
    async def add_user(
        self, name: str, password_hash: str, roles: Sequence[str], tenant: str, created_at: float = 0.0
    ) -> None:
        """Create a user. ConflictError if the name is taken."""

    @abc.abstractmethod
    async def get_user(self, name: str) -> User | None:
        """The user, or None."""

    @abc.abstractmethod
    async def list_users(self) -> list[User]:
        """All users, ordered by name."""

    @abc.abstractmethod
    async def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        roles: Sequence[str] | None = None,
        tenant: str | None = None,
    ) -> bool:
        """Change the given fields of a user; False if there is no such user."""

    @abc.abstractmethod
    async def delete_user(self, name: str) -> bool:
        """Delete a user and their sessions; False if there was no such user."""

    @abc.abstractmethod
    async def create_session(
        self, token_hash: str, user: str, csrf: str, expires_at: float, created_at: float = 0.0
    ) -> None:
        """Store a session. ConflictError if ``token_hash`` exists."""

    @abc.abstractmethod
    async def get_session(self, token_hash: str) -> Session | None:
        """The session (expired or not), or None."""

    @abc.abstractmethod
    async def delete_session(self, token_hash: str) -> bool:
        """Delete a session; False if there was none."""

    @abc.abstractmethod
    async def delete_expired_sessions(self, now: float) -> int:
        """Delete sessions with ``expires_at <= now``; return how many."""

    @abc.abstractmethod
    async def put_api_key(
        self,
        key_hash: str,
        tenant: str,
        app: str,
        user: str | None,
        attributes_json: str,
        created_at: float,
    ) -> None:
        """Store an API key. ConflictError if ``key_hash`` exists."""

    @abc.abstractmethod
    async def get_api_key(self, key_hash: str) -> ApiKey | None:
        """The key (revoked or not — check ``revoked_at``), or None."""

    @abc.abstractmethod
    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, revoked ones included, ordered by ``created_at`` then hash."""

    @abc.abstractmethod
    async def revoke_api_key(self, key_hash: str, at: float = 0.0) -> bool:
        """Mark the key revoked at ``at``. True if this call revoked it; False if it
        does not exist or was already revoked."""

    # ---- single-use authorisation tokens ---------------------------------------------

    @abc.abstractmethod
    async def consume_token(self, token_id: str, at: float) -> bool:
        """True the first time ``token_id`` is consumed, False ever after — atomically,
        across connections, processes and replicas."""

    # ---- counters --------------------------------------------------------------------

    @abc.abstractmethod
    async def observe_subject(self, counter: str, principal_key: str, subject: str, at: float) -> None:
        """Record that ``principal_key`` touched ``subject`` for ``counter`` at ``at``
        (keeps the latest time per subject)."""

    @abc.abstractmethod
    async def distinct_subjects(
        self, counter: str, principal_key: str, since: float, including: str | None = None
    ) -> int:
        """How many distinct subjects ``principal_key`` touched for ``counter`` at or
        after ``since``, counting ``including`` too if it is not among them (so a
        policy can ask "would this request make it N+1?" before observing it)."""

    @abc.abstractmethod
    async def prune_subjects(self, before: float) -> int:
        """Forget observations last seen before ``before``; return how many rows."""

    # ---- stop switch -----------------------------------------------------------------

    @abc.abstractmethod
    async def set_stop(self, tenant: str, on: bool, by: str, reason: str, at: float) -> None:
        """Set (upsert) the tenant's stop switch."""

    @abc.abstractmethod
    async def get_stop(self, tenant: str) -> StopState | None:
        """The tenant's stop switch, or None if never set."""

    # ---- provider usage inventory ----------------------------------------------------

    @abc.abstractmethod
    async def record_provider_use(self, tenant: str, app: str, vendor: str, model: str, at: float) -> None:
        """Count one call to (vendor, model) by (tenant, app) on the UTC day of ``at``."""

    @abc.abstractmethod
    async def provider_usage(self, since: float = 0.0) -> list[ProviderUsage]:
        """Per-day rows whose day is on or after the UTC day of ``since``, ordered by
        day, tenant, app, vendor, model."""
