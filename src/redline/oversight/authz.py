"""Authorisations: signed, single-use permission to execute one exact tool call.

When a ``tool_call`` hold is approved, the oversight service issues a token::

    base64url(payload JSON) "." base64url(Ed25519 signature over the payload bytes)

The payload (canonical JSON: sorted keys, no whitespace) holds ``v`` (1), ``tid``
(unique token id), ``hold`` (the hold id), ``tool`` (the tool name, for humans),
``call`` (hex SHA-256 of ``tool name + NUL + canonical arguments JSON``, see
:func:`call_digest`), ``policy`` (the policy hash the decision was made under),
``iat`` and ``exp`` (POSIX seconds) and ``kid`` (the signing key's id, see
:func:`key_id`).

An executor checks a token either offline with :func:`verify_offline` and the
public key (no consumption: it must then keep its own replay list), or through
``POST /v1/authorizations/verify``, which verifies *and* consumes it, so it works
exactly once across all replicas. Every failure raises
:class:`~redline.errors.AuthorizationError` with one stable code:

===================================  ===================================================
``authorization_malformed``          not a token of this format
``authorization_wrong_key``          signed by another key (``kid`` differs)
``authorization_signature_invalid``  the signature does not verify (tampered payload)
``authorization_expired``            ``now >= exp``
``authorization_mismatch``           the tool name or arguments differ from the approved ones
``authorization_replayed``           already consumed (service path only)
===================================  ===================================================
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from redline.errors import AuthorizationError, ConfigError

__all__ = [
    "AuthorizationClaims",
    "AuthorizationSigner",
    "call_digest",
    "canonical_arguments",
    "key_id",
    "load_public_key",
    "public_key_from_text",
    "verify_offline",
]

TOKEN_VERSION = 1


def canonical_arguments(arguments: Any) -> str:
    """Arguments as canonical JSON (sorted keys, no whitespace, UTF-8 kept) — the same
    encoding as :meth:`redline.facts.ToolCall.canonical_arguments`."""
    return json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def call_digest(tool_name: str, arguments: Any) -> str:
    """Hex SHA-256 binding a tool call: ``name || 0x00 || canonical arguments``.

    ``arguments`` may be a mapping (canonicalised here) or an already canonical
    JSON string. The NUL separator keeps ``("ab", "c")`` and ``("a", "bc")`` apart.
    """
    canon = arguments if isinstance(arguments, str) else canonical_arguments(arguments)
    return hashlib.sha256(tool_name.encode("utf-8") + b"\x00" + canon.encode("utf-8")).hexdigest()


def key_id(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class AuthorizationClaims:
    """What a verified token says."""

    token_id: str
    hold_id: str
    tool: str
    call: str
    policy: str
    issued_at: float
    expires_at: float
    kid: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "hold_id": self.hold_id,
            "tool": self.tool,
            "call_sha256": self.call,
            "policy_hash": self.policy,
            "issued_at": self.issued_at,
            "expires_at": self.expires_at,
            "kid": self.kid,
        }


def _fail(code: str, message: str) -> AuthorizationError:
    return AuthorizationError(message, code=code)


def _decode(token: str) -> tuple[bytes, bytes, dict[str, Any]]:
    if not isinstance(token, str) or token.count(".") != 1:
        raise _fail("authorization_malformed", "an authorisation is two base64url parts joined by '.'")
    head, _, sig = token.partition(".")
    try:
        payload = _b64d(head)
        signature = _b64d(sig)
        claims = json.loads(payload)
    except (binascii.Error, ValueError) as exc:
        raise _fail("authorization_malformed", f"the authorisation cannot be decoded: {exc}") from None
    needed = {"v", "tid", "hold", "tool", "call", "policy", "iat", "exp", "kid"}
    if not isinstance(claims, dict) or not needed <= claims.keys() or claims["v"] != TOKEN_VERSION:
        raise _fail("authorization_malformed", "the authorisation payload lacks required fields")
    return payload, signature, claims


def verify_offline(
    token: str, public_key: Ed25519PublicKey, tool_name: str, arguments: Any, now: float
) -> AuthorizationClaims:
    """Verify ``token`` for executing ``tool_name(arguments)`` at ``now``; no consumption.

    Checks, in this order: format, key id, signature, expiry, call binding. Returns
    the claims, or raises AuthorizationError with one of the codes in the module
    docstring. An offline executor must remember ``token_id`` itself to refuse replays.
    """
    payload, signature, claims = _decode(token)
    if claims["kid"] != key_id(public_key):
        raise _fail("authorization_wrong_key", "the authorisation was signed by a different key")
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        raise _fail(
            "authorization_signature_invalid", "the authorisation signature does not verify"
        ) from None
    if now >= float(claims["exp"]):
        raise _fail("authorization_expired", "the authorisation has expired; ask for a new approval")
    if claims["call"] != call_digest(tool_name, arguments):
        raise _fail(
            "authorization_mismatch",
            "the tool name or arguments differ from the call that was approved",
        )
    return AuthorizationClaims(
        token_id=str(claims["tid"]),
        hold_id=str(claims["hold"]),
        tool=str(claims["tool"]),
        call=str(claims["call"]),
        policy=str(claims["policy"]),
        issued_at=float(claims["iat"]),
        expires_at=float(claims["exp"]),
        kid=str(claims["kid"]),
    )


class AuthorizationSigner:
    """Issues tokens with one Ed25519 key. Every replica must hold the same key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)

    @classmethod
    def generate(cls) -> AuthorizationSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> AuthorizationSigner:
        """Load the PEM private key at ``path``, creating it (mode 0600) and a
        ``.pub`` PEM beside it when absent."""
        if path.exists():
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read the authorisation key {path}: {exc}") from None
            if not isinstance(key, Ed25519PrivateKey):
                raise ConfigError(f"{path} is not an Ed25519 private key")
            return cls(key)
        signer = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = signer._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        path.with_suffix(path.suffix + ".pub").write_text(signer.public_pem())
        return signer

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def public_raw_b64(self) -> str:
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return _b64e(raw)

    def issue(
        self,
        *,
        hold_id: str,
        tool_name: str,
        arguments: Any,
        policy_hash: str,
        issued_at: float,
        ttl_s: float,
    ) -> tuple[str, AuthorizationClaims]:
        """A fresh token (unique ``tid``) for this exact call, valid for ``ttl_s`` seconds."""
        claims = {
            "v": TOKEN_VERSION,
            "tid": secrets.token_urlsafe(16),
            "hold": hold_id,
            "tool": tool_name,
            "call": call_digest(tool_name, arguments),
            "policy": policy_hash,
            "iat": issued_at,
            "exp": issued_at + ttl_s,
            "kid": self.kid,
        }
        payload = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode("utf-8")
        token = _b64e(payload) + "." + _b64e(self._key.sign(payload))
        return token, AuthorizationClaims(
            token_id=str(claims["tid"]),
            hold_id=hold_id,
            tool=tool_name,
            call=str(claims["call"]),
            policy=policy_hash,
            issued_at=issued_at,
            expires_at=issued_at + ttl_s,
            kid=self.kid,
        )


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key from PEM text or base64url of the 32 raw bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigError("not an Ed25519 public key")
            return key
        return Ed25519PublicKey.from_public_bytes(_b64d(text))
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(f"cannot read the public key: {exc}") from None


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in a PEM (or base64url raw) file."""
    return public_key_from_text(path.read_text(encoding="ascii"))
