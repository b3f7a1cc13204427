"""Who is calling an oversight endpoint: a reviewer (session or Basic) or an API client.

* **Reviewers** (people) sign in at ``/ui/login`` and get the ``redline_session``
  cookie (HttpOnly, SameSite=Strict, Secure over HTTPS). JSON calls may instead send
  ``Authorization: Basic`` with their user name and password. A state-changing call
  made with the cookie must carry the session's CSRF token (form field ``csrf`` or
  header ``X-CSRF-Token``); Basic calls need none (a browser never sends them on its
  own to a page it did not authenticate).
* **API clients** (applications) send their redline API key (``Authorization:
  Bearer rl-…`` or ``x-api-key``), the same key the gateway accepts; they may read
  only holds whose principal is theirs. The hold's status URL also carries a
  capability token (``?token=``) that lets whoever holds the URL read that one hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from redline.errors import AuthError
from redline.facts import Principal
from redline.oversight.users import Authenticator, SessionInfo, csrf_ok
from redline.store import Store, User

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "api_principal",
    "basic_user",
    "clear_session_cookie",
    "csrf_ok",
    "request_session",
    "set_session_cookie",
]

SESSION_COOKIE = "redline_session"
CSRF_HEADER = "x-csrf-token"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, info: SessionInfo, now: float) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        info.token,
        max_age=max(1, int(info.expires_at - now)),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )


async def request_session(request: Request, auth: Authenticator, now: float) -> SessionInfo | None:
    return await auth.session(request.cookies.get(SESSION_COOKIE), now)


def _authorization(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return scheme.lower(), value.strip()


async def basic_user(request: Request, auth: Authenticator) -> User | None:
    """The user named by ``Authorization: Basic``; None if absent; AuthError if wrong."""
    scheme, value = _authorization(request)
    if scheme != "basic":
        return None
    try:
        name, sep, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed Basic credentials", code="bad_credentials") from None
    if not sep:
        raise AuthError("malformed Basic credentials", code="bad_credentials")
    return await auth.check_password(name, password)


async def api_principal(request: Request, store: Store, resolver: Any = None) -> Principal | None:
    """The principal of the API key presented, None if no ``rl-`` key; AuthError if invalid.

    Uses the gateway's ``KeyResolver`` when given (same cache and semantics), else
    looks the key's SHA-256 up in the store.
    """
    scheme, value = _authorization(request)
    key = value if scheme == "bearer" else request.headers.get("x-api-key", "").strip()
    if not key.startswith("rl-"):
        return None
    if resolver is not None:
        ident = await resolver.resolve(key)
        principal: Principal = ident.principal
        return principal
    row = await store.get_api_key(hashlib.sha256(key.encode("utf-8")).hexdigest())
    if row is None or row.revoked_at is not None:
        raise AuthError("invalid or revoked API key")
    return Principal(tenant=row.tenant, app=row.app, user=row.user)
