"""API keys: issued once, stored only as a hash, bound to who is calling.

A key is ``rl-`` followed by 43 URL-safe characters (256 random bits). The
store keeps SHA-256 of the key — enough for a high-entropy secret, and cheap to
check on every request — together with the tenant, app, optional user and the
*fixed attributes* (for example ``clearance`` or an allowed ``purpose``) that a
request made with it can never override.

``KeyResolver`` looks keys up through a small time-bounded cache: a revoked key
stops working within ``ttl_s`` seconds (default 5) on every replica.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import AuthError, InputError
from ..facts import Attributes, Principal
from ..store import Store

KEY_PREFIX = "rl-"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a key belongs to, and the attributes fixed for every request made with it."""

    principal: Principal
    fixed: Attributes
    key_hash: str | None = None


def _attributes_json(attributes: dict[str, Any]) -> str:
    try:
        Attributes.from_mapping(attributes)
    except ValueError as exc:
        raise InputError(f"invalid key attributes: {exc}") from exc
    return orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode()


async def issue_key(
    store: Store,
    *,
    tenant: str,
    app: str,
    user: str | None = None,
    attributes: dict[str, Any] | None = None,
    now: float | None = None,
) -> tuple[str, str]:
    """Create a key; return ``(key, key_hash)``. The key itself is shown once and never stored."""
    for name, value in (("tenant", tenant), ("app", app)):
        if not value:
            raise InputError(f"{name} must not be empty")
    key = new_key()
    digest = hash_key(key)
    await store.put_api_key(
        digest, tenant, app, user, _attributes_json(attributes or {}), time.time() if now is None else now
    )
    return key, digest


async def revoke_key(store: Store, key_or_hash: str, now: float | None = None) -> bool:
    """Revoke by the key itself or by its hash (or a unique prefix of the hash, at least 8 chars)."""
    digest = hash_key(key_or_hash) if key_or_hash.startswith(KEY_PREFIX) else key_or_hash
    if len(digest) < 64:
        if len(digest) < 8:
            raise InputError("give the key, its full hash, or at least 8 characters of the hash")
        matches = [k.key_hash for k in await store.list_api_keys() if k.key_hash.startswith(digest)]
        if len(matches) != 1:
            raise InputError(f"{len(matches)} keys match hash prefix {digest!r}")
        digest = matches[0]
    return await store.revoke_api_key(digest, time.time() if now is None else now)


class KeyResolver:
    """Turns a presented key into an ``Identity`` or raises ``AuthError`` (401)."""

    def __init__(self, store: Store | None, *, ttl_s: float = 5.0, max_entries: int = 10_000) -> None:
        self._store = store
        self._ttl = ttl_s
        self._max = max_entries
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    async def resolve(self, key: str) -> Identity:
        if not key.startswith(KEY_PREFIX):
            raise AuthError(
                "invalid API key: redline keys start with 'rl-' (issue one with `redline keys issue`)"
            )
        if self._store is None:
            raise AuthError("API keys cannot be checked: no store is configured")
        digest = hash_key(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            ident = hit[1]
        else:
            row = await self._store.get_api_key(digest)
            ident = None
            if row is not None and row.revoked_at is None:
                ident = Identity(
                    principal=Principal(tenant=row.tenant, app=row.app, user=row.user),
                    fixed=Attributes.from_mapping(orjson.loads(row.attributes or "{}")),
                    key_hash=digest,
                )
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[digest] = (now + self._ttl, ident)
        if ident is None:
            raise AuthError("invalid or revoked API key")
        return ident
