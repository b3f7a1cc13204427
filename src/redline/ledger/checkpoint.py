"""Checkpoints (c2sp.org/tlog-checkpoint): signed statements of a log's size and root.

The note text is three lines — origin, tree size in decimal, base64 root hash —
plus optional extension lines. The log signs it with an Ed25519 note signature
whose key name is the origin; witnesses add cosignature/v1 lines. A verifier
trusts a checkpoint when the log's signature verifies and, if it asks for one, a
quorum of distinct known witnesses co-signed the same text.

Fork evidence: two checkpoints that both carry valid log signatures but cannot
both be true (same size and different roots, or a consistency proof between them
fails) are kept together as a ``ForkEvidence`` — proof that the log lied.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redline.errors import LedgerVerifyError
from redline.ledger.merkle import HASH_SIZE, verify_consistency
from redline.ledger.note import (
    SIG_COSIGNATURE_V1,
    NoteError,
    OpenedNote,
    Signer,
    Verifier,
    open_note,
    parse_note,
    sign_note,
)


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The exact note text: ``origin\\nsize\\nbase64(root)\\n[ext\\n...]``."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body; raises NoteError when it is not well formed."""
        if not text.endswith("\n"):
            raise NoteError("checkpoint must end with a newline", reason="malformed_checkpoint")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root lines", reason="malformed_checkpoint")
        origin, size_s, root_s, *ext = lines
        if not origin:
            raise NoteError("empty origin", reason="malformed_checkpoint")
        if not size_s.isdigit() or (len(size_s) > 1 and size_s[0] == "0") or not size_s.isascii():
            raise NoteError("tree size must be decimal without leading zeroes", reason="malformed_checkpoint")
        try:
            root = base64.b64decode(root_s, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("root hash is not base64", reason="malformed_checkpoint") from exc
        if len(root) != HASH_SIZE:
            raise NoteError("root hash must be 32 bytes", reason="malformed_checkpoint")
        if any(not e for e in ext):
            raise NoteError("extension lines must be non-empty", reason="malformed_checkpoint")
        return cls(origin, int(size_s), root, tuple(ext))


def sign_checkpoint(cp: Checkpoint, log_signer: Signer) -> bytes:
    """The signed note of ``cp``; the log's key name must be the origin."""
    if log_signer.name != cp.origin:
        raise NoteError("log key name must match the checkpoint origin", reason="origin_mismatch")
    return sign_note(cp.body(), [log_signer])


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature verified, with the witnesses that co-signed it."""

    checkpoint: Checkpoint
    note: bytes
    witnesses: tuple[str, ...]


def open_checkpoint(
    note: bytes,
    log: Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
    extra_cosignatures: Sequence[bytes] = (),
) -> VerifiedCheckpoint:
    """Verify a checkpoint note signed by ``log``, demanding ``quorum`` witness cosignatures.

    Cosignatures may sit in ``note`` itself or in ``extra_cosignatures`` (other
    notes of the same text, as stored separately); each witness counts once.
    Raises NoteError (``signature_invalid``) with a ``reason`` when it does not verify.
    """
    opened = open_note(note, [log])
    cp = Checkpoint.parse(opened.text)
    if cp.origin != log.name:
        raise NoteError("checkpoint origin is not the log's key name", reason="origin_mismatch")
    names: list[str] = []
    # The log's own key never counts as an independent witness, under any name or type.
    wit = [w for w in witnesses if w.public_key != log.public_key]
    for source in (note, *extra_cosignatures):
        if not wit:
            break
        parsed = parse_note(source)
        if parsed.text != opened.text:
            raise NoteError("cosignature is over a different checkpoint", reason="cosignature_mismatch")
        try:
            got: OpenedNote | None = open_note(source, wit)
        except NoteError as exc:
            if exc.details.get("reason") == "no_known_signature":
                got = None
            else:
                raise
        if got is not None:
            for v, _ in got.verified:
                if v.name not in names:
                    names.append(v.name)
    if len(names) < quorum:
        raise NoteError(
            f"checkpoint has {len(names)} witness cosignatures, need {quorum}",
            reason="quorum_not_met",
            have=len(names),
            need=quorum,
        )
    return VerifiedCheckpoint(cp, note, tuple(names))


def cosigner(name: str, signer: Signer) -> Signer:
    """``signer``'s key as a cosignature/v1 witness key named ``name``."""
    return Signer(name, signer.private_key, SIG_COSIGNATURE_V1)


@dataclass(frozen=True)
class ForkEvidence:
    """Two log-signed checkpoints that cannot both be honest."""

    reason: str  # "same_size_different_root" | "inconsistent"
    first: bytes
    second: bytes

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "first": self.first.decode(), "second": self.second.decode()}


class ForkError(LedgerVerifyError):
    """The log presented a fork; ``evidence`` holds both checkpoints."""

    code = "ledger_fork"

    def __init__(self, message: str, evidence: ForkEvidence, **details: Any) -> None:
        super().__init__(message, reason=evidence.reason, **details)
        self.evidence = evidence


def check_fork(
    older: bytes, newer: bytes, log: Verifier, proof: Sequence[bytes] | None = None
) -> ForkEvidence | None:
    """Compare two log-signed checkpoints; return evidence if they fork, else None.

    Both must carry a valid log signature (otherwise NoteError: an unsigned
    checkpoint proves nothing). Sizes may come in either order. With different
    sizes, ``proof`` is the consistency proof from the smaller to the larger; a
    proof that does not verify is evidence of a fork (the caller must get the proof
    from the log: a log that cannot produce one is the one at fault).
    """
    a = open_checkpoint(older, log).checkpoint
    b = open_checkpoint(newer, log).checkpoint
    first, second = (older, newer) if a.size <= b.size else (newer, older)
    ca, cb = (a, b) if a.size <= b.size else (b, a)
    if ca.size == cb.size:
        if ca.root != cb.root:
            return ForkEvidence("same_size_different_root", first, second)
        return None
    if proof is None:
        raise NoteError("a consistency proof is needed to compare different sizes", reason="proof_missing")
    if not verify_consistency(ca.size, cb.size, ca.root, cb.root, proof):
        return ForkEvidence("inconsistent", first, second)
    return None
