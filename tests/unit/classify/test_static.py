"""The static word-piece table of the screen: provenance, projection and pooling."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from redline.classify.static import (
    INFO,
    TABLE,
    StaticEmbedder,
    build_table,
    default_dir,
    project,
    sif_weights,
)
from redline.errors import ClassifierError


def test_the_shipped_table_is_rebuilt_byte_for_byte_from_the_installed_model(tmp_path: Path) -> None:
    # Provenance: the file in the package is exactly what the build step makes from the
    # pinned ONNX model and tokenizer, not a file of unknown origin.
    build_table(tmp_path)
    assert (tmp_path / TABLE).read_bytes() == (default_dir() / TABLE).read_bytes()
    built = json.loads((tmp_path / INFO).read_text())
    shipped = json.loads((default_dir() / INFO).read_text())
    assert built == shipped
    assert built["vocab"] == 30522 and built["dims"] == 256


def test_projection_is_centred_ordered_and_sign_fixed() -> None:
    rng = np.random.default_rng(3)
    raw = (rng.normal(size=(500, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])).astype(np.float32)
    out = project(raw, dims=3)
    assert out.shape == (500, 3)
    assert np.allclose(out.mean(axis=0), 0.0, atol=1e-4)
    variances = out.var(axis=0)
    assert variances[0] > variances[1] > variances[2]
    # Flipping the input's signs gives the same projection: the sign is fixed by the data.
    assert np.allclose(project(-raw, dims=3), out, atol=1e-4) or np.allclose(
        project(-raw, dims=3), -out, atol=1e-4
    )
    assert np.array_equal(project(raw, dims=3), out)


def test_sif_weights_favour_rare_word_pieces() -> None:
    w = sif_weights([[1, 1, 1, 2], [1, 3]], vocab=5)
    assert w.shape == (5,) and w.dtype == np.float32
    assert w[1] < w[2] < w[0]  # seen four times < seen once < never seen
    assert w[2] == w[3]


def test_pooling_gives_unit_vectors_and_zero_for_empty_text() -> None:
    static = StaticEmbedder()
    weights = np.ones(30522, dtype=np.float32)
    out = static.embed(["track my parcel", "", "kill the process"], weights)
    assert out.shape == (3, static.dims)
    assert np.isclose(np.linalg.norm(out[0]), 1.0, atol=1e-5)
    assert not out[1].any()
    # Weighting matters: zero weight on every piece but one gives that piece's direction.
    ids = static.ids(["track my parcel"])[0]
    only = np.zeros(30522, dtype=np.float32)
    only[ids[-1]] = 1.0
    vec = static.embed(["track my parcel"], only)[0]
    row = static._table[ids[-1]]  # type: ignore[index]
    assert np.allclose(vec, row / np.linalg.norm(row), atol=1e-5)


def test_a_tampered_table_does_not_load(tmp_path: Path) -> None:
    shutil.copy(default_dir() / INFO, tmp_path / INFO)
    table = np.load(default_dir() / TABLE)
    table[0, 0] += 1
    np.save(tmp_path / TABLE, table)
    with pytest.raises(ClassifierError, match="sha256"):
        StaticEmbedder(tmp_path).load()
    (tmp_path / INFO).unlink()
    with pytest.raises(ClassifierError, match=r"cannot read .*static-minilm-l6\.json"):
        StaticEmbedder(tmp_path).load()
