"""Reviewer accounts and sign-in sessions.

* Roles: ``reviewer``, ``commander`` (may vote where a hold's roles name them),
  ``auditor`` (reads everything, never votes), ``admin`` (manages the stop switch
  and reads everything; votes only where a hold names ``admin``).
* A user's ``tenant`` scopes what they see and decide: a tenant name, or ``*`` for
  every tenant.
* Passwords are hashed with argon2id (``argon2-cffi`` defaults, RFC 9106 low-memory
  profile); the store only ever sees the encoded hash.
* A session is a random 256-bit token given to the browser in an HttpOnly,
  SameSite=Strict cookie; the store keeps its SHA-256 and a per-session CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from redline.errors import AuthError, ConflictError, InputError
from redline.store import Store, User

__all__ = [
    "ROLES",
    "VOTING_ROLES",
    "Authenticator",
    "SessionInfo",
    "can_see_tenant",
    "hash_password",
    "validate_roles",
]

ROLES = ("reviewer", "commander", "auditor", "admin")
VOTING_ROLES = ("reviewer", "commander", "admin")
ALL_TENANTS = "*"
MIN_PASSWORD_CHARS = 12
SESSION_TTL_S = 8 * 3600.0

_HASHER = PasswordHasher()  # immutable parameters object; creating it does no I/O


def hash_password(password: str, hasher: PasswordHasher = _HASHER) -> str:
    """The argon2id encoding of ``password`` (refuses passwords shorter than 12 characters)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(
            f"a password needs at least {MIN_PASSWORD_CHARS} characters", code="password_too_short"
        )
    return hasher.hash(password)


def validate_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The roles, de-duplicated in order; InputError for an unknown role or none."""
    out: list[str] = []
    for role in roles:
        role = role.strip().lower()
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}: choose from {', '.join(ROLES)}", code="unknown_role")
        if role not in out:
            out.append(role)
    if not out:
        raise InputError("a user needs at least one role", code="unknown_role")
    return tuple(out)


def can_see_tenant(user: User, tenant: str) -> bool:
    return user.tenant in (ALL_TENANTS, tenant)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A signed-in user: ``token`` is the cookie value, ``csrf`` the form token."""

    user: User
    token: str
    csrf: str
    expires_at: float


class Authenticator:
    """Checks passwords and sessions against the store."""

    def __init__(
        self, store: Store, *, session_ttl_s: float = SESSION_TTL_S, hasher: PasswordHasher | None = None
    ) -> None:
        """``hasher`` defaults to argon2id with argon2-cffi's default cost; tests pass a
        cheaper argon2id instance."""
        self._store = store
        self._ttl = session_ttl_s
        self._hasher = hasher or _HASHER
        self._dummy: str | None = None

    def _dummy_hash(self) -> str:
        # Verified against when the user does not exist, so that a wrong user name
        # costs the same time as a wrong password.
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    async def add_user(self, name: str, password: str, roles: Sequence[str], tenant: str, now: float) -> User:
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise InputError("a user name is 1-64 characters without spaces", code="invalid_user_name")
        valid = validate_roles(roles)
        await self._store.add_user(
            name, hash_password(password, self._hasher), valid, tenant or ALL_TENANTS, now
        )
        user = await self._store.get_user(name)
        if user is None:  # pragma: no cover - the store just committed it
            raise ConflictError(f"user {name!r} vanished after creation")
        return user

    async def check_password(self, name: str, password: str) -> User:
        """The user if ``password`` is right, else AuthError (same error for unknown users)."""
        user = await self._store.get_user(name)
        encoded = user.password_hash if user is not None else self._dummy_hash()
        try:
            self._hasher.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise AuthError("wrong user name or password", code="bad_credentials") from None
        if user is None:
            raise AuthError("wrong user name or password", code="bad_credentials")
        if self._hasher.check_needs_rehash(encoded):
            await self._store.update_user(name, password_hash=self._hasher.hash(password))
        return user

    async def login(self, name: str, password: str, now: float) -> SessionInfo:
        user = await self.check_password(name, password)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = now + self._ttl
        await self._store.create_session(_digest(token), user.name, csrf, expires, now)
        return SessionInfo(user, token, csrf, expires)

    async def session(self, token: str | None, now: float) -> SessionInfo | None:
        """The live session for a cookie value, or None (expired, unknown, user deleted)."""
        if not token:
            return None
        row = await self._store.get_session(_digest(token))
        if row is None or row.expires_at <= now:
            return None
        user = await self._store.get_user(row.user)
        if user is None:
            return None
        return SessionInfo(user, token, row.csrf, row.expires_at)

    async def logout(self, token: str) -> None:
        await self._store.delete_session(_digest(token))


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; an empty token never matches."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected, given or "")
