"""Signed policy bundles: Ed25519 signatures over a policy's canonical hash.

A bundle is a policy file plus a sidecar ``<policy>.sig`` (JSON) holding one
signature per signing party (``provider``, ``customer``, …). What is signed is
``b"redline-policy-signature/v1\\n" + name + b"\\n" + hash`` where ``hash`` is
the SHA-256 of the policy's canonical bytes: re-formatting the YAML changes
neither the hash nor any signature; changing its meaning breaks them all.

Trust comes from the deployment (``trusted_keys``: signer name → public key
file), never from the key embedded in a signature file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import SignatureError, SignatureMissingError, UsageError
from .loader import LoadedDocument

SIGNATURE_FORMAT = "redline-policy-signatures/v1"
_DOMAIN = b"redline-policy-signature/v1\n"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_keypair(directory: str | Path, name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` (private, PEM, mode 0600) and ``NAME.pub`` (PEM) into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    private_path, public_path = d / f"{name}.key", d / f"{name}.pub"
    if private_path.exists():
        raise UsageError(f"{private_path} exists; refusing to overwrite a private key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read Ed25519 private key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise UsageError(f"cannot read Ed25519 public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path} is not an Ed25519 public key")
    return key


def _message(doc: LoadedDocument) -> bytes:
    return _DOMAIN + doc.document.name.encode() + b"\n" + doc.hash.encode()


def signature_path(policy_path: str | Path) -> Path:
    p = Path(policy_path)
    return p.with_name(p.name + ".sig")


def read_signatures(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        return {"format": SIGNATURE_FORMAT, "policy_hash": None, "signatures": []}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SignatureError(f"signature file {p} is not valid JSON: {exc}", file=str(p)) from None
    if (
        not isinstance(data, dict)
        or data.get("format") != SIGNATURE_FORMAT
        or not isinstance(data.get("signatures"), list)
    ):
        raise SignatureError(f"signature file {p} is not a {SIGNATURE_FORMAT} document", file=str(p))
    return data


def sign(doc: LoadedDocument, key: Ed25519PrivateKey, signer: str, sig_path: str | Path) -> dict[str, Any]:
    """Add (or replace) ``signer``'s signature in the sidecar file; return the file's data."""
    data = read_signatures(sig_path)
    if data.get("policy_hash") not in (None, doc.hash):
        # The policy changed since the others signed: their signatures no longer apply.
        data["signatures"] = []
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    entry = {
        "signer": signer,
        "key_id": key_id(key.public_key()),
        "public_key": base64.b64encode(raw_public).decode(),
        "signature": base64.b64encode(key.sign(_message(doc))).decode(),
    }
    data["format"] = SIGNATURE_FORMAT
    data["policy"] = doc.document.name
    data["policy_hash"] = doc.hash
    data["signatures"] = [s for s in data["signatures"] if s.get("signer") != signer] + [entry]
    Path(sig_path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return data


@dataclass(frozen=True)
class SignerStatus:
    signer: str
    status: str  # "valid", "invalid", "untrusted", "missing"
    key_id: str | None = None
    detail: str = ""


def check_signatures(
    doc: LoadedDocument, sig_path: str | Path, trusted: Mapping[str, Ed25519PublicKey]
) -> list[SignerStatus]:
    """The status of every signature in the file, and of every trusted signer that did not sign."""
    data = read_signatures(sig_path)
    message = _message(doc)
    out: list[SignerStatus] = []
    seen: set[str] = set()
    for sig in data["signatures"]:
        signer = str(sig.get("signer", "?"))
        seen.add(signer)
        try:
            signature = base64.b64decode(sig["signature"], validate=True)
            embedded = Ed25519PublicKey.from_public_bytes(base64.b64decode(sig["public_key"], validate=True))
        except (KeyError, ValueError, TypeError):
            out.append(SignerStatus(signer, "invalid", None, "malformed signature entry"))
            continue
        key = trusted.get(signer)
        kid = key_id(key or embedded)
        if key is None:
            key = embedded
            status_ok = "untrusted"
        else:
            status_ok = "valid"
        try:
            key.verify(signature, message)
        except InvalidSignature:
            why = "does not verify against the policy's current hash"
            if trusted.get(signer) is not None and key_id(embedded) != kid:
                why = "was made with a key that is not the trusted key for this signer"
            out.append(SignerStatus(signer, "invalid", kid, why))
            continue
        out.append(SignerStatus(signer, status_ok, kid))
    out.extend(SignerStatus(name, "missing") for name in trusted if name not in seen)
    return out


def require_signers(
    doc: LoadedDocument,
    sig_path: str | Path,
    required: Sequence[str],
    trusted: Mapping[str, Ed25519PublicKey],
) -> list[SignerStatus]:
    """Raise unless every required signer has a valid signature by its trusted key."""
    for name in required:
        if name not in trusted:
            raise SignatureError(
                f"require_signers names {name!r} but no trusted key is configured for it (trusted_keys)",
                code="signature_untrusted",
                signer=name,
            )
    statuses = {s.signer: s for s in check_signatures(doc, sig_path, trusted)}
    missing = [n for n in required if n not in statuses or statuses[n].status == "missing"]
    bad = [statuses[n] for n in required if n in statuses and statuses[n].status == "invalid"]
    if bad:
        names = ", ".join(f"{s.signer} ({s.detail})" for s in bad)
        raise SignatureError(
            f"policy {doc.document.name!r}: signature of {names}", signers=[s.signer for s in bad]
        )
    if missing:
        raise SignatureMissingError(
            f"policy {doc.document.name!r} is missing the required signature of: {', '.join(missing)}",
            signers=missing,
        )
    return list(statuses.values())
