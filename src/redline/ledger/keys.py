"""Deployment keys of a ledger, kept in files in the data directory.

``<data_dir>/keys/``::

    log.key            PRIVATE+KEY+<origin>+<id>+... (Ed25519 note signer), mode 0600
    log.vkey           its public verifier key (share it with auditors and witnesses)
    commitment.secret  base64 of 32 random bytes: derives every entry's salt, mode 0600
    content.key        base64 of a 32-byte AES-256-GCM key (only if encryption is on), 0600

Files are created on first use when absent (``load_or_create``), never
overwritten. The origin (log key name) defaults to ``redline.local/<random>`` so
two deployments never share a name.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from redline.errors import ConfigError
from redline.ledger.note import SIG_ED25519, NoteError, Signer, Verifier


@dataclass(frozen=True)
class LedgerKeys:
    """The secrets a ledger writer needs."""

    signer: Signer
    commitment_secret: bytes
    content_key: bytes | None
    created: tuple[str, ...] = ()  # names of key files created by this load

    @property
    def origin(self) -> str:
        return self.signer.name

    def verifier(self) -> Verifier:
        return self.signer.verifier()


def write_new_file(path: Path, text: str, mode: int = 0o600) -> None:
    """Create ``path`` with ``text`` (fsynced); FileExistsError if it exists. Never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc}") from exc


def keys_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "keys"


def load_or_create(
    data_dir: Path, *, origin: str | None = None, encrypt: bool = False, create: bool = True
) -> LedgerKeys:
    """Load the ledger keys from ``data_dir/keys``, creating missing ones if ``create``."""
    d = keys_dir(data_dir)
    created: list[str] = []
    log_key = d / "log.key"
    if not log_key.exists():
        if not create:
            raise ConfigError(
                f"no ledger signing key at {log_key}; run `redline audit checkpoint` once to create it"
            )
        name = origin or f"redline.local/{secrets.token_hex(6)}"
        signer = Signer.generate(name, SIG_ED25519)
        try:
            write_new_file(log_key, signer.skey() + "\n")
            write_new_file(d / "log.vkey", signer.verifier().vkey() + "\n", 0o644)
            created.append("log.key")
        except FileExistsError:
            pass  # another process won the race; read theirs below
    try:
        signer = Signer.from_skey(_read(log_key))
    except NoteError as exc:
        raise ConfigError(f"ledger key {log_key} is malformed: {exc.message}") from exc
    if origin is not None and signer.name != origin:
        raise ConfigError(f"ledger key {log_key} is for origin {signer.name!r}, not {origin!r}")
    secret = _load_secret(d / "commitment.secret", create, created)
    assert secret is not None
    content = (
        _load_secret(d / "content.key", create and encrypt, created)
        if encrypt or (d / "content.key").exists()
        else None
    )
    return LedgerKeys(signer, secret, content, tuple(created))


def _load_secret(path: Path, create: bool, created: list[str]) -> bytes | None:
    if not path.exists():
        if not create:
            raise ConfigError(f"missing key file {path}")
        try:
            write_new_file(path, base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            created.append(path.name)
        except FileExistsError:
            pass
    raw = base64.b64decode(_read(path))
    if len(raw) != 32:
        raise ConfigError(f"key file {path} must hold 32 base64-encoded bytes")
    return raw
