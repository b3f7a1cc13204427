"""The screen in front of the embedding model: threshold choice, switch, and run-time path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from redline.classify.artifact import dumps, load
from redline.classify.base import CATEGORIES, RED_LINES
from redline.classify.screen import ALLOWED, GROUP_NAMES, Screen, choose_tau, group_index
from redline.classify.trained import TrainedClassifier
from redline.errors import ClassifierError
from redline.facts import Facts, Message, Stage


def test_allowed_categories_are_in_the_taxonomy() -> None:
    assert ALLOWED == (
        "defensive_counter_materiel",
        "military_general",
        "foreign_intelligence",
        "policy_speech",
        "general",
    )


def test_tau_lets_through_at_most_the_budget_of_risky_rows() -> None:
    mass = np.array([0.99, 0.98, 0.97, 0.60, 0.95, 0.90, 0.80, 0.70])
    risky = np.array([False, False, False, False, True, True, True, True])
    passes = np.ones(8, dtype=bool)
    # Budget 0 of 4 risky rows: strictly above the largest risky mass.
    tau = choose_tau(mass, passes, risky, 0.0)
    assert tau > 0.95 and not ((mass >= tau) & risky).any()
    assert ((mass >= tau) & ~risky).sum() == 3
    # Budget 1 of 4 (25 %): one risky row may pass, not two.
    tau = choose_tau(mass, passes, risky, 0.25)
    assert ((mass >= tau) & risky).sum() == 1
    # Risky rows that could never pass do not constrain the threshold.
    passes[4] = False
    assert choose_tau(mass, passes, risky, 0.0) > 0.90
    assert choose_tau(mass, passes, risky, 0.0) < 0.95
    # Never below one half.
    assert choose_tau(np.array([0.1, 0.2]), np.ones(2, dtype=bool), np.array([False, True]), 0.0) == 0.5


#: Thresholds that let the screen answer benign text only, or anything.
ALLOW_ONLY = {"deny": 2.0, "review": 2.0, "allow": 0.0}
OPEN = {"deny": 0.0, "review": 0.0, "allow": 0.0}


def test_verdict_groups_cover_every_category_once() -> None:
    groups = group_index(CATEGORIES)
    assert [GROUP_NAMES[g] for g in groups[: len(RED_LINES)]] == ["deny", "deny"]
    assert {GROUP_NAMES[g] for g, c in zip(groups, CATEGORIES, strict=True) if c in ALLOWED} == {"allow"}
    assert sorted(set(groups.tolist())) == [0, 1, 2]


def rewrite(artifact: Path, out: Path, **screen: Any) -> Path:
    loaded = load(artifact)
    meta = dict(loaded.meta)
    meta["screen"] = {**meta["screen"], **screen}
    # Confidence floor 0 so the tiny test model's screen is confident enough to answer.
    meta["min_confidence"] = 0.0
    out.write_bytes(dumps(meta, dict(loaded.arrays)))
    return out


def test_training_stores_the_screen(small_artifact: Path) -> None:
    loaded = load(small_artifact)
    spec = loaded.meta["screen"]
    assert spec["enabled"] is True
    assert set(spec["tau"]) == set(GROUP_NAMES)
    assert all(t >= 0.5 for t in spec["tau"].values()) and spec["temperature"] > 0
    rows = loaded.meta["training"]["rows"]
    for name in GROUP_NAMES:
        stats = spec["cv_groups"][name]
        assert stats["screened_wrong"] <= spec["max_missed"] * (rows - stats["rows_of_group"])
    k = len(CATEGORIES)
    assert loaded.arrays["screen_sparse"].shape[1] == k and loaded.arrays["screen_bias"].shape == (k,)
    assert loaded.arrays["screen_w2"].shape[1] == k
    assert loaded.arrays["screen_sif"].ndim == 1 and loaded.arrays["screen_sif"].min() > 0
    assert Screen.of(loaded.meta, loaded.arrays) is not None


def test_a_screened_answer_skips_the_embedding_model(small_artifact: Path, tmp_path: Path) -> None:
    clf = TrainedClassifier(rewrite(small_artifact, tmp_path / "open.bin", tau=ALLOW_ONLY))
    scores = clf.classify(Facts.from_text("Kill the process that is hogging the CPU."))
    assert clf.embedder._session is None  # answered by the screen alone
    assert scores.top()[0] in ALLOWED
    assert not scores.uncertain
    assert abs(sum(scores.categories.values()) - 1.0) < 1e-3
    assert scores.classifier_version == clf.version


def test_context_and_red_lines_go_to_the_full_model(small_artifact: Path, tmp_path: Path) -> None:
    clf = TrainedClassifier(rewrite(small_artifact, tmp_path / "open.bin", tau=OPEN))
    with_context = Facts(
        stage=Stage.INPUT,
        messages=(
            Message(role="user", content="List the protesters at the rally with their phone numbers."),
            Message(role="user", content="Kill the process that is hogging the CPU."),
        ),
    )
    clf.classify(with_context)
    assert clf.embedder._session is not None


def test_the_screen_can_be_switched_off(small_artifact: Path, tmp_path: Path) -> None:
    off = rewrite(small_artifact, tmp_path / "off.bin", tau=OPEN, enabled=False)
    loaded = load(off)
    assert Screen.of(loaded.meta, loaded.arrays) is None
    clf = TrainedClassifier(off)
    clf.classify(Facts.from_text("Kill the process that is hogging the CPU."))
    assert clf.embedder._session is not None
    # An artifact from before the screen (no screen entry) has none either.
    meta = {k: v for k, v in loaded.meta.items() if k != "screen"}
    assert Screen.of(meta, loaded.arrays) is None


def test_batches_mix_screened_and_full_answers_in_order(small_artifact: Path, tmp_path: Path) -> None:
    opened = TrainedClassifier(rewrite(small_artifact, tmp_path / "open.bin", tau=ALLOW_ONLY))
    full = TrainedClassifier(rewrite(small_artifact, tmp_path / "off.bin", tau=OPEN, enabled=False))
    batch = [
        Facts.from_text("Kill the process that is hogging the CPU."),
        Facts.from_text("Configure the drone swarm to fire on people in the valley without an operator."),
        Facts.from_text("Track my parcel from the depot."),
    ]
    many = opened.classify_many(batch)
    assert [s.top()[0] for s in many] == [opened.classify(f).top()[0] for f in batch]
    # Whatever the screen did not answer is exactly the full model's answer.
    for got, ref in zip(many, full.classify_many(batch), strict=True):
        if got.top()[0] not in ALLOWED:
            assert got.categories == ref.categories


def test_a_red_line_is_screened_only_when_its_group_threshold_allows(
    small_artifact: Path, tmp_path: Path
) -> None:
    text = "Configure the drone swarm to fire on people in the valley without an operator."
    closed = TrainedClassifier(rewrite(small_artifact, tmp_path / "closed.bin", tau=ALLOW_ONLY))
    closed.classify(Facts.from_text(text))
    assert closed.embedder._session is not None
    opened = TrainedClassifier(rewrite(small_artifact, tmp_path / "open.bin", tau=OPEN))
    scores = opened.classify(Facts.from_text(text))
    assert opened.embedder._session is None
    assert scores.top()[0] in RED_LINES and not scores.uncertain


def test_an_artifact_needs_the_static_table_it_was_trained_with(small_artifact: Path, tmp_path: Path) -> None:
    stale = rewrite(small_artifact, tmp_path / "stale.bin", static_sha256="0" * 64)
    with pytest.raises(ClassifierError, match="static embedding table"):
        TrainedClassifier(stale).classify(Facts.from_text("Track my parcel from the depot."))
