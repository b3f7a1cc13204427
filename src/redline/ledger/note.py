"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and cosignature/v1.

A note is UTF-8 text ending in a newline, a blank line, then one or more lines
``— <key name> base64(key ID || signature)``. Keys are named; the key ID is the
first four bytes of ``SHA-256(name || 0x0A || type || public key)`` where type is
``0x01`` for plain Ed25519 note signatures and ``0x04`` for Ed25519
*timestamped cosignatures* (c2sp.org/tlog-cosignature, ``cosignature/v1``), whose
signed message is ``"cosignature/v1\\ntime <t>\\n" || note text`` and whose
signature blob is ``u64 timestamp || ed25519 signature``.

Key encodings follow golang.org/x/mod/sumdb/note, which C2SP calls *vkeys*:

* verifier key: ``<name>+<key ID as 8 hex digits>+base64(type || public key)``
* signer key:   ``PRIVATE+KEY+<name>+<key ID>+base64(type || 32-byte seed)``

Opening a note follows the spec: signatures from unknown keys (name and ID not
both matching) are ignored; a signature from a known key that fails to verify
rejects the whole note; a note with no verified signature is rejected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from redline.errors import SignatureError

EM_DASH = "\u2014"
SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 64
_COSIG_HEADER = b"cosignature/v1\ntime "


class NoteError(SignatureError):
    """A note (or key) is malformed or does not verify. ``reason`` in details says why."""

    code = "signature_invalid"


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"invalid key name {name!r}: must be non-empty, no spaces, no '+'", reason="bad_name")


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """The C2SP key ID: first 4 bytes (big-endian) of SHA-256(name || 0x0A || type || key)."""
    _check_name(name)
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError("invalid base64", reason="bad_base64") from exc


@dataclass(frozen=True)
class Verifier:
    """A public key that can check signatures of one (name, key ID, type)."""

    name: str
    sig_type: int
    public_key: bytes
    key_id: int = field(init=False)

    def __post_init__(self) -> None:
        if self.sig_type not in (SIG_ED25519, SIG_COSIGNATURE_V1):
            raise NoteError(f"unsupported signature type 0x{self.sig_type:02x}", reason="bad_key_type")
        if len(self.public_key) != 32:
            raise NoteError("Ed25519 public key must be 32 bytes", reason="bad_key")
        object.__setattr__(self, "key_id", key_id(self.name, self.sig_type, self.public_key))

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse ``name+hash+base64(type||key)``; the hash must match name and key."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise NoteError("malformed verifier key", reason="bad_vkey")
        name, hexid, b64 = parts
        try:
            declared = int(hexid, 16)
        except ValueError as exc:
            raise NoteError("malformed verifier key ID", reason="bad_vkey") from exc
        raw = _b64decode(b64)
        if len(raw) != 33:
            raise NoteError("verifier key must hold a type byte and a 32-byte key", reason="bad_vkey")
        v = cls(name, raw[0], raw[1:])
        if v.key_id != declared:
            raise NoteError("verifier key ID does not match its name and key", reason="bad_vkey")
        return v

    def vkey(self) -> str:
        """The ``name+hash+base64`` encoding of this key."""
        blob = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{blob}"

    def verify(self, text: bytes, blob: bytes) -> bool:
        """True iff ``blob`` (the signature bytes after the key ID) signs note ``text``."""
        pub = Ed25519PublicKey.from_public_bytes(self.public_key)
        if self.sig_type == SIG_COSIGNATURE_V1:
            if len(blob) != 8 + 64:
                return False
            (ts,) = struct.unpack(">Q", blob[:8])
            if ts >= 1 << 63:
                return False
            msg, sig = cosignature_message(text, ts), blob[8:]
        else:
            if len(blob) != 64:
                return False
            msg, sig = text, blob
        try:
            pub.verify(sig, msg)
        except InvalidSignature:
            return False
        return True


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """The message an Ed25519 cosignature/v1 signs (c2sp.org/tlog-cosignature)."""
    return _COSIG_HEADER + str(timestamp).encode() + b"\n" + text


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes under ``name`` with signature type ``sig_type``."""

    name: str
    private_key: Ed25519PrivateKey
    sig_type: int = SIG_ED25519

    @classmethod
    def generate(cls, name: str, sig_type: int = SIG_ED25519) -> Signer:
        """A fresh random key."""
        _check_name(name)
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Parse ``PRIVATE+KEY+name+hash+base64(type||seed)``."""
        parts = skey.strip().split("+", 4)
        if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
            raise NoteError("malformed signer key", reason="bad_skey")
        name, hexid, b64 = parts[2], parts[3], parts[4]
        raw = _b64decode(b64)
        if len(raw) != 33:
            raise NoteError("signer key must hold a type byte and a 32-byte seed", reason="bad_skey")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]), raw[0])
        if f"{signer.verifier().key_id:08x}" != hexid.lower():
            raise NoteError("signer key ID does not match its name and key", reason="bad_skey")
        return signer

    def skey(self) -> str:
        """The ``PRIVATE+KEY+...`` encoding (keep it secret)."""
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        blob = base64.b64encode(bytes([self.sig_type]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier().key_id:08x}+{blob}"

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.sig_type, _raw_public(self.private_key.public_key()))

    def as_type(self, sig_type: int) -> Signer:
        """The same key used for another signature type (it gets another key ID)."""
        return Signer(self.name, self.private_key, sig_type)

    def signature_line(self, text: bytes, timestamp: int | None = None) -> str:
        """``— name base64(keyID || sig)`` over ``text`` (``timestamp`` for cosignatures)."""
        if self.sig_type == SIG_COSIGNATURE_V1:
            if timestamp is None or not 0 <= timestamp < 1 << 63:
                raise NoteError("a cosignature needs a timestamp", reason="bad_timestamp")
            blob = struct.pack(">Q", timestamp) + self.private_key.sign(cosignature_message(text, timestamp))
        else:
            blob = self.private_key.sign(text)
        kid = self.verifier().key_id.to_bytes(4, "big")
        return f"{EM_DASH} {self.name} {base64.b64encode(kid + blob).decode()}\n"


@dataclass(frozen=True)
class NoteSignature:
    """One parsed signature line."""

    name: str
    key_id: int
    blob: bytes
    line: str

    @property
    def timestamp(self) -> int | None:
        """The timestamp of a cosignature/v1 blob (8 + 64 bytes), else None."""
        if len(self.blob) != 72:
            return None
        ts: int = struct.unpack(">Q", self.blob[:8])[0]
        return ts


@dataclass(frozen=True)
class Note:
    """A parsed (not yet verified) note: its text and signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        return (self.text + "\n" + "".join(s.line for s in self.signatures)).encode()


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline", reason="malformed_note")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note contains control characters", reason="malformed_note")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines (no verification)."""
    try:
        s = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note is not UTF-8", reason="malformed_note") from exc
    split = s.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block", reason="malformed_note")
    text, sig_block = s[: split + 1], s[split + 2 :]
    _check_text(text)
    if not sig_block.endswith("\n"):
        raise NoteError("signature block must end with a newline", reason="malformed_note")
    sigs: list[NoteSignature] = []
    for line in sig_block[:-1].split("\n"):
        prefix = EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteError("malformed signature line", reason="malformed_note")
        rest = line[len(prefix) :].split(" ")
        if len(rest) != 2 or not rest[0]:
            raise NoteError("malformed signature line", reason="malformed_note")
        raw = _b64decode(rest[1])
        if len(raw) < 5:
            raise NoteError("signature too short", reason="malformed_note")
        sigs.append(NoteSignature(rest[0], int.from_bytes(raw[:4], "big"), raw[4:], line + "\n"))
    if not sigs:
        raise NoteError("note has no signatures", reason="malformed_note")
    if len(sigs) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures", reason="malformed_note")
    return Note(text, tuple(sigs))


def sign_note(text: str, signers: Sequence[Signer], timestamp: int | None = None) -> bytes:
    """A signed note of ``text`` with one line per signer."""
    _check_text(text)
    body = text.encode()
    return (text + "\n" + "".join(s.signature_line(body, timestamp) for s in signers)).encode()


def add_signatures(note: bytes, signers: Sequence[Signer], timestamp: int | None = None) -> bytes:
    """``note`` with more signature lines appended (existing lines kept verbatim)."""
    parsed = parse_note(note)
    body = parsed.text.encode()
    return note + "".join(s.signature_line(body, timestamp) for s in signers).encode()


@dataclass(frozen=True)
class OpenedNote:
    """A note with at least one signature from a known key verified."""

    text: str
    verified: tuple[tuple[Verifier, NoteSignature], ...]
    unknown: tuple[NoteSignature, ...]

    def verified_names(self) -> list[str]:
        return [v.name for v, _ in self.verified]


def open_note(data: bytes, verifiers: Sequence[Verifier]) -> OpenedNote:
    """Verify ``data`` against ``verifiers`` per the signed-note rules (see module doc)."""
    note = parse_note(data)
    body = note.text.encode()
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[tuple[Verifier, NoteSignature]] = []
    unknown: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            unknown.append(sig)
            continue
        if not v.verify(body, sig.blob):
            raise NoteError(f"signature by {sig.name} does not verify", reason="bad_signature", key=sig.name)
        if (v.name, v.key_id) not in seen:
            seen.add((v.name, v.key_id))
            verified.append((v, sig))
    if not verified:
        raise NoteError("no signature from a known key", reason="no_known_signature")
    return OpenedNote(note.text, tuple(verified), tuple(unknown))
