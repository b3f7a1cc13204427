"""The classifier artifact: one deterministic binary file holding the head and its configuration.

Layout: the magic line ``REDLINE-CLF 1\\n``, an 8-byte little-endian header
length, a JSON header (sorted keys, no whitespace), then the arrays back to back
as little-endian ``float32``. The header names each array with its shape and
byte offset. Nothing time- or machine-dependent is written, so the same model
always gives the same bytes, and the version string (``use-clf-`` + the first
12 hex digits of the file's sha256) names the model exactly.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ClassifierError

MAGIC = b"REDLINE-CLF 1\n"
FILENAME = "use-classifier.bin"
F32 = npt.NDArray[np.float32]


def default_path() -> Path:
    """The artifact shipped inside the package."""
    return Path(__file__).resolve().parent / "artifacts" / FILENAME


@dataclass(frozen=True, slots=True)
class Artifact:
    """A loaded artifact: its header (``meta``), its arrays, and its version."""

    meta: dict[str, Any]
    arrays: dict[str, F32]
    version: str


def version_of(data: bytes) -> str:
    return "use-clf-" + hashlib.sha256(data).hexdigest()[:12]


def dumps(meta: dict[str, Any], arrays: dict[str, npt.NDArray[np.floating]]) -> bytes:
    """Serialise ``meta`` and ``arrays`` (stored as float32, in sorted name order)."""
    specs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(arrays):
        blob = np.ascontiguousarray(arrays[name], dtype="<f4").tobytes()
        specs.append({"name": name, "shape": list(arrays[name].shape), "offset": offset, "bytes": len(blob)})
        blobs.append(blob)
        offset += len(blob)
    header = json.dumps({"meta": meta, "arrays": specs}, sort_keys=True, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<Q", len(header)) + header + b"".join(blobs)


def loads(data: bytes, where: str = "<artifact>") -> Artifact:
    """Parse an artifact; ``ClassifierError`` when it is not one."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise ClassifierError(
            f"{where} is not a redline classifier artifact; rebuild it with `redline train`"
        )
    (size,) = struct.unpack("<Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    try:
        header = json.loads(data[start : start + size])
        body = start + size
        arrays: dict[str, F32] = {}
        for spec in header["arrays"]:
            lo = body + int(spec["offset"])
            raw = data[lo : lo + int(spec["bytes"])]
            arrays[spec["name"]] = np.frombuffer(raw, dtype="<f4").reshape(spec["shape"]).astype(np.float32)
        meta = dict(header["meta"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ClassifierError(f"{where} is corrupt ({exc}); rebuild it with `redline train`") from exc
    return Artifact(meta, arrays, version_of(data))


def load(path: Path) -> Artifact:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClassifierError(
            f"cannot read classifier artifact {path}: {exc}; rebuild it with `redline train`"
        ) from exc
    return loads(data, str(path))
