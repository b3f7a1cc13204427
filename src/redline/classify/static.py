"""Static token embeddings distilled from all-MiniLM-L6-v2: the screen's cheap dense features.

The contextual model costs ~15 ms for a 30-word prompt on one core of the build
machine. The screen (``screen``) needs a sentence vector in well under a
millisecond, so it uses a *static* table: one vector per word piece of the
MiniLM vocabulary, taken from the same ONNX model the full head uses, and a
sentence is the weighted mean of its word pieces' vectors.

How the table is made (:func:`build_table`, run by ``make static-embeddings`` or
``python -m redline.classify.static``; a reproducible build step, not a file of
unknown origin):

1. every vocabulary id ``t`` is run through the int8 ONNX model as
   ``[CLS] t [SEP]``, and the last hidden state at ``t``'s position is kept
   (384 floats);
2. the 30,522 vectors are centred and projected on their top
   :data:`DIMS` principal components (``numpy.linalg.eigh`` of the covariance,
   each component's sign fixed so that its largest entry is positive);
3. the result is stored as float16 in ``static-minilm-l6.npy`` beside the
   classifier artifact, with ``static-minilm-l6.json`` recording the sha256 of
   the ONNX model and tokenizer it came from and of the table itself.

At run time (:class:`StaticEmbedder`) the table is read once (its sha256 is
checked against the JSON), and a text's vector is ``sum(w[t] * table[t]) /
sum(w[t])`` over its word pieces, L2-normalised. The weights ``w`` are smooth
inverse frequencies ``a / (a + p(t))`` of the training corpus's word pieces
(stored in the classifier artifact, not here), so "the" and "of" count for
little. What callers may rely on: no I/O before first use; a text with no word
pieces embeds as the zero vector; thread-safe after :meth:`StaticEmbedder.load`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ClassifierError

DIMS = 256
TABLE = "static-minilm-l6.npy"
INFO = "static-minilm-l6.json"
#: The SIF constant ``a`` (Arora et al., 2017): weight = a / (a + p(token)).
SIF_A = 1e-3
CLS, SEP = 101, 102

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def default_dir() -> Path:
    return Path(__file__).resolve().parent / "artifacts"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_sha256(directory: Path) -> str:
    """The table's sha256 as recorded in ``INFO`` beside it; ``ClassifierError`` when unreadable."""
    try:
        return str(json.loads((directory / INFO).read_text(encoding="utf-8"))["sha256"])
    except (OSError, ValueError, KeyError) as exc:
        raise ClassifierError(
            f"cannot read {directory / INFO}: {exc}; rebuild with `make static-embeddings`"
        ) from exc


def token_vectors(ids: npt.NDArray[np.int64], session: Any) -> F32:
    """The ONNX model's last hidden state for each id alone: ``[CLS] id [SEP]``, position 1."""
    x = np.stack([np.full(len(ids), CLS), ids, np.full(len(ids), SEP)], axis=1).astype(np.int64)
    feed = {"input_ids": x, "attention_mask": np.ones_like(x), "token_type_ids": np.zeros_like(x)}
    (hidden,) = session.run(["last_hidden_state"], feed)
    out: F32 = np.asarray(hidden, dtype=np.float32)[:, 1, :]
    return out


def project(raw: F32, dims: int = DIMS) -> F32:
    """Centre ``raw`` and project it on its top ``dims`` principal components (sign-fixed)."""
    x = raw.astype(np.float64)
    x -= x.mean(axis=0)
    values, vectors = np.linalg.eigh(x.T @ x)
    top = vectors[:, np.argsort(values)[::-1][:dims]]
    signs = np.sign(top[np.abs(top).argmax(axis=0), np.arange(top.shape[1])])
    top *= np.where(signs == 0, 1.0, signs)
    out: F32 = (x @ top).astype(np.float32)
    return out


def build_table(out_dir: Path, batch: int = 512) -> Path:
    """Distil the table from the installed ONNX model; writes TABLE and INFO into ``out_dir``."""
    from .embed import Embedder, onnx_path, tokenizer_path

    embedder = Embedder(threads=2)
    embedder.load()
    vocab = int(embedder._tokenizer.get_vocab_size())
    raw = np.zeros((vocab, 384), dtype=np.float32)
    for start in range(0, vocab, batch):
        ids = np.arange(start, min(vocab, start + batch), dtype=np.int64)
        raw[ids] = token_vectors(ids, embedder._session)
    table = project(raw).astype(np.float16)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TABLE
    np.save(path, table, allow_pickle=False)
    _, onnx_sha = onnx_path()
    info = {
        "dims": DIMS,
        "vocab": vocab,
        "onnx_sha256": onnx_sha,
        "tokenizer_sha256": _sha256(tokenizer_path()),
        "sha256": _sha256(path),
        "made_by": "redline.classify.static.build_table",
    }
    (out_dir / INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def sif_weights(id_lists: Sequence[Sequence[int]], vocab: int, a: float = SIF_A) -> F32:
    """Smooth inverse frequency of each word piece over ``id_lists`` (add-one counts)."""
    counts = np.ones(vocab, dtype=np.float64)
    for ids in id_lists:
        np.add.at(counts, np.asarray(ids, dtype=np.int64), 1.0)
    p = counts / counts.sum()
    out: F32 = (a / (a + p)).astype(np.float32)
    return out


class StaticEmbedder:
    """Weighted-mean static sentence vectors; lazy, thread-safe, offline."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_dir()
        self._lock = threading.Lock()
        self._table: F32 | None = None
        self._tokenizer: Any = None

    def load(self) -> None:
        if self._table is not None:
            return
        with self._lock:
            if self._table is not None:
                return
            from .embed import load_tokenizer

            path = self.directory / TABLE
            want = recorded_sha256(self.directory)
            try:
                if _sha256(path) != want:
                    raise ClassifierError(f"{path} does not match its recorded sha256; rebuild it")
                table = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ClassifierError(
                    f"cannot load static embeddings {path}: {exc}; rebuild with `make static-embeddings`"
                ) from exc
            self._tokenizer = load_tokenizer()
            # float32 for arithmetic; 30k x 256 x 4 bytes = 31 MB.
            self._table = np.asarray(table, dtype=np.float32)

    @property
    def dims(self) -> int:
        self.load()
        assert self._table is not None
        return int(self._table.shape[1])

    @property
    def vocab(self) -> int:
        """Rows of the table: one per word piece of the tokenizer's vocabulary."""
        self.load()
        assert self._table is not None
        return int(self._table.shape[0])

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text, without [CLS]/[SEP]."""
        self.load()
        return [list(e.ids[1:-1]) for e in self._tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str], weights: F32) -> F32:
        """Unit-norm weighted-mean vectors, shape ``(len(texts), dims)``."""
        self.load()
        assert self._table is not None
        out = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        for i, ids in enumerate(self.ids(texts)):
            if not ids:
                continue
            w = weights[ids]
            v = w @ self._table[ids]
            norm = float(np.linalg.norm(v))
            if norm > 0.0:
                out[i] = v / norm
        return out


def main() -> None:  # pragma: no cover - a build step, exercised by make static-embeddings
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=default_dir())
    args = parser.parse_args()
    path = build_table(args.out)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":  # pragma: no cover
    main()
