"""A witness: the other party's co-signer, which refuses to sign a forked log.

The witness keeps its own state — the last checkpoint it co-signed — in a small
JSON file it alone writes. Asked to co-sign a new checkpoint it

1. verifies the log's signature (it is configured with the log's verifier key);
2. compares with its state: the same size needs the same root; a larger size
   needs a consistency proof from its last size that verifies; a smaller size is
   refused (a witness only moves forward);
3. writes the new state durably (temp file, fsync, rename) and only then returns
   its cosignature.

A mismatch raises ``ForkError`` whose ``evidence`` holds the witness's last
checkpoint and the offending one, both signed by the log.

Cosignatures are C2SP ``cosignature/v1`` (Ed25519, signature type 0x04): the
signed message is ``cosignature/v1\\ntime <t>\\n`` followed by the checkpoint
text, and the blob is the 8-byte timestamp then the signature
(c2sp.org/tlog-cosignature). Clients verify them with the witness's vkey.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from redline.errors import ConfigError, SignatureError
from redline.ledger.checkpoint import Checkpoint, ForkError, ForkEvidence, open_checkpoint
from redline.ledger.merkle import verify_consistency
from redline.ledger.note import SIG_COSIGNATURE_V1, NoteError, Signer, Verifier, add_signatures, parse_note


@dataclass(frozen=True)
class WitnessState:
    """What the witness last co-signed."""

    origin: str
    size: int
    root: bytes
    note: bytes

    def to_json(self) -> str:
        return json.dumps(
            {
                "origin": self.origin,
                "size": self.size,
                "root": base64.b64encode(self.root).decode(),
                "note": self.note.decode(),
            },
            sort_keys=True,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> WitnessState:
        data = json.loads(text)
        return cls(data["origin"], int(data["size"]), base64.b64decode(data["root"]), data["note"].encode())


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Witness:
    """Co-signs checkpoints of one log, keeping its state in ``state_path``."""

    def __init__(self, signer: Signer, log: Verifier, state_path: Path) -> None:
        if signer.sig_type != SIG_COSIGNATURE_V1:
            signer = signer.as_type(SIG_COSIGNATURE_V1)
        self.signer = signer
        self.log = log
        self.state_path = Path(state_path)

    def state(self) -> WitnessState | None:
        """The last checkpoint co-signed, or None before the first."""
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return WitnessState.from_json(text)
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"witness state {self.state_path} is unreadable: {exc}") from exc

    def cosign(self, note: bytes, proof: Sequence[bytes] = (), now: float | None = None) -> bytes:
        """Check ``note`` against the witness state and return it with a cosignature added.

        ``proof`` is the consistency proof from the witness's last size to the
        note's size (empty for the first checkpoint or the same size).
        Raises NoteError if the log signature is bad, ForkError on a fork, and
        SignatureError (``reason="stale"``) for a checkpoint older than the state.
        """
        verified = open_checkpoint(note, self.log)
        cp: Checkpoint = verified.checkpoint
        text = parse_note(note).text.encode()
        log_only = text + b"\n" + self._log_line(note).encode()
        prev = self.state()
        if prev is not None:
            if cp.size < prev.size:
                raise SignatureError(
                    f"checkpoint size {cp.size} is older than the witnessed size {prev.size}",
                    reason="stale",
                    witnessed_size=prev.size,
                )
            if cp.size == prev.size and cp.root != prev.root:
                ev = ForkEvidence("same_size_different_root", prev.note, log_only)
                raise ForkError(f"fork: two roots for size {cp.size}", ev, size=cp.size)
            if cp.size > prev.size and not verify_consistency(prev.size, cp.size, prev.root, cp.root, proof):
                ev = ForkEvidence("inconsistent", prev.note, log_only)
                raise ForkError(
                    f"fork: checkpoint {cp.size} is not consistent with witnessed {prev.size}",
                    ev,
                    size=cp.size,
                    witnessed_size=prev.size,
                )
        ts = int(time.time() if now is None else now)
        _write_atomically(self.state_path, WitnessState(cp.origin, cp.size, cp.root, log_only).to_json())
        return add_signatures(note, [self.signer], timestamp=ts)

    def _log_line(self, note: bytes) -> str:
        for sig in parse_note(note).signatures:
            if (sig.name, sig.key_id) == (self.log.name, self.log.key_id):
                return sig.line
        raise NoteError("no log signature", reason="no_known_signature")


def load_signer(path: Path) -> Signer:
    """Read a ``PRIVATE+KEY+...`` signer key file."""
    try:
        return Signer.from_skey(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc}") from exc


def load_verifiers(values: Sequence[str]) -> list[Verifier]:
    """Verifier keys given inline (``name+hash+b64``) or as paths to files holding one per line."""
    out: list[Verifier] = []
    for value in values:
        p = Path(value)
        if "+" not in value or p.exists():
            try:
                lines = p.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(f"cannot read verifier key file {value}: {exc}") from exc
            out.extend(Verifier.from_vkey(line) for line in lines if line.strip())
        else:
            out.append(Verifier.from_vkey(value))
    return out
