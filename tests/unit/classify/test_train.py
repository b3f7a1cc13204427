from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from redline.classify.artifact import dumps, load, loads, version_of
from redline.classify.base import CATEGORIES, Classifier
from redline.classify.features import read_facts
from redline.classify.train import train
from redline.classify.trained import TrainedClassifier
from redline.errors import ClassifierError, UsageError
from redline.facts import Facts, Message, Stage, ToolCall

from .conftest import SMALL


def test_training_is_byte_for_byte_deterministic(
    small_corpus: Path, small_artifact: Path, tmp_path: Path
) -> None:
    again, meta = train(small_corpus, tmp_path, seed=0, config=SMALL)
    assert again.read_bytes() == small_artifact.read_bytes()
    assert meta["version"] == version_of(small_artifact.read_bytes())
    assert meta["training"]["rows"] == 37  # the dev row is skipped


def test_a_different_seed_changes_the_artifact(
    small_corpus: Path, small_artifact: Path, tmp_path: Path
) -> None:
    other, _ = train(small_corpus, tmp_path, seed=1, config=SMALL)
    assert other.read_bytes() != small_artifact.read_bytes()


def test_artifact_round_trip_and_corruption() -> None:
    arrays = {"b": np.arange(3, dtype=np.float32), "a": np.ones((2, 2))}
    data = dumps({"x": 1}, arrays)
    assert data == dumps({"x": 1}, dict(reversed(list(arrays.items()))))
    back = loads(data)
    assert back.meta == {"x": 1}
    np.testing.assert_array_equal(back.arrays["a"], np.ones((2, 2), dtype=np.float32))
    assert back.version.startswith("use-clf-") and len(back.version) == len("use-clf-") + 12
    with pytest.raises(ClassifierError):
        loads(b"not an artifact")
    with pytest.raises(ClassifierError):
        loads(data[:40])


def test_missing_artifact_is_a_classifier_error(tmp_path: Path) -> None:
    clf = TrainedClassifier(tmp_path / "nope.bin")
    with pytest.raises(ClassifierError):
        clf.classify(Facts.from_text("hello"))


def test_bad_corpus_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "category": "nonsense"}\n')
    with pytest.raises(UsageError):
        train(bad, tmp_path)


def test_classifier_protocol_and_scores(small_artifact: Path) -> None:
    clf = TrainedClassifier(small_artifact.parent)  # a directory means the file inside it
    assert isinstance(clf, Classifier)
    assert clf.version == load(small_artifact).version
    scores = clf.classify(Facts.from_text("Kill the process that is hogging the CPU."))
    assert set(scores.categories) == set(CATEGORIES)
    assert abs(sum(scores.categories.values()) - 1.0) < 1e-3
    assert scores.classifier_version == clf.version
    assert scores.top()[0] == "general"
    assert scores.language == "en"


def test_classify_many_matches_classify(small_artifact: Path) -> None:
    clf = TrainedClassifier(small_artifact)
    batch = [
        Facts.from_text("Compute the intercept geometry for the incoming rocket salvo."),
        Facts.from_text("Essay on the ethics of autonomous weapons."),
        Facts(
            stage=Stage.TOOL_CALL,
            messages=(Message(role="user", content="find her"),),
            tool_calls=(ToolCall(name="locate_person", arguments={"name": "Maria Lopez"}),),
        ),
    ]
    many = clf.classify_many(batch)
    for facts, got in zip(batch, many, strict=True):
        one = clf.classify(facts)
        assert one.top()[0] == got.top()[0]
        for c in CATEGORIES:
            assert abs(one.get(c) - got.get(c)) < 1e-3


def test_a_batch_pipelined_over_two_cores_scores_as_one_by_one(small_artifact: Path) -> None:
    from redline.classify.trained import CHUNK

    clf = TrainedClassifier(small_artifact, threads=2)
    texts = [
        "Plan the convoy's fuel stops for Tuesday.",
        "Flag every resident who attended the vigil and list their employers.",
        "Let the drone pick and strike targets on its own tonight.",
        "Translate this maintenance manual into French.",
    ]
    batch = [Facts.from_text(f"{texts[i % 4]} ({i})") for i in range(3 * CHUNK + 3)]
    # Rows with context embed their conversation as well.
    batch += [
        Facts(
            messages=(
                Message(role="user", content="We run the city's camera network."),
                Message(role="assistant", content="Understood."),
                Message(role="user", content=t),
            )
        )
        for t in texts
    ]
    clf.load()
    assert clf.embedder.pooled
    many = clf.classify_many(batch)
    assert len(many) == len(batch)
    assert many == [clf.classify(f) for f in batch]
    # Some went through MiniLM on the pool, so the pipelined path was exercised.
    assert not all(clf.screened([read_facts(f) for f in batch]))


def test_uncertain_for_unknown_language_and_unreadable_text(small_artifact: Path) -> None:
    clf = TrainedClassifier(small_artifact)
    italian = clf.classify(Facts.from_text("Identificare tutti i manifestanti nella piazza e fare una lista"))
    assert italian.uncertain and italian.language == "unknown"
    blob = clf.classify(Facts.from_text("$$ ## 0x1f 0x2e ;;"))
    assert blob.uncertain


def test_importing_redline_loads_no_model() -> None:
    code = (
        "import sys, redline, redline.classify, redline.classify.trained, redline.classify.commands\n"
        "from redline.classify.trained import TrainedClassifier\n"
        "TrainedClassifier()\n"
        "print(json.dumps(sorted(m for m in ('onnxruntime', 'tokenizers', 'scipy') if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []


def test_the_artifact_says_how_minilm_runs_and_the_classifier_follows(small_artifact: Path) -> None:
    meta = load(small_artifact).meta
    assert meta["embedding"]["activations"] == "int8"
    assert meta["embedding"]["layers"] == [3, 6]
    assert meta["embedding"]["optimization"] == "fused"
    clf = TrainedClassifier(small_artifact)
    clf.classify(Facts.from_text("Plan the convoy's fuel stops for Tuesday."))
    assert (clf.embedder.activations, clf.embedder.layers, clf.embedder.dim) == ("int8", (3, 6), 768)
    assert clf.embedder.optimization == "fused"


def test_an_artifact_that_names_no_graph_optimisation_runs_the_extended_one(
    small_artifact: Path, tmp_path: Path
) -> None:
    loaded = load(small_artifact)
    meta = json.loads(json.dumps(loaded.meta))
    del meta["embedding"]["optimization"]  # as written before the field existed
    older = tmp_path / "older.bin"
    older.write_bytes(dumps(meta, dict(loaded.arrays)))
    text = "Plan the convoy's fuel stops for Tuesday, then list the spare tyres we still need to order."
    old, new = TrainedClassifier(older), TrainedClassifier(small_artifact)
    old.classify(Facts.from_text(text))
    assert old.embedder.optimization == "extended"
    a, b = old.embedder.embed([text]), new.embedder.embed([text])
    assert not np.array_equal(a, b)


def test_generated_rows_weigh_less_and_only_they_do(small_corpus: Path, tmp_path: Path) -> None:
    import dataclasses

    rows = [json.loads(line) for line in small_corpus.read_text(encoding="utf-8").splitlines()]
    for i, row in enumerate(rows):
        row["source"] = "gen:test" if i % 3 == 0 else "hand"
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    def artifact(corpus: Path, weight: float) -> bytes:
        out = tmp_path / f"{corpus.stem}-{weight}"
        path, meta = train(corpus, out, seed=0, config=dataclasses.replace(SMALL, generated_weight=weight))
        assert meta["training"]["generated_weight"] == weight
        return path.read_bytes()

    assert artifact(mixed, 1.0) != artifact(mixed, 0.4)
    # Only the weight itself differs in the artifact of a corpus with no generated rows.
    plain_full, plain_less = (load_meta_free(artifact(small_corpus, w)) for w in (1.0, 0.4))
    assert plain_full == plain_less


def load_meta_free(data: bytes) -> dict[str, bytes]:
    artifact = loads(data)
    return {name: np.asarray(a).tobytes() for name, a in artifact.arrays.items()}


def test_train_chooses_the_screen_blend_by_out_of_fold_nll(small_artifact: Path) -> None:
    blend = load(small_artifact).meta["blend"]
    nll = {float(a): v for a, v in blend["cv_nll"].items()}
    assert set(nll) == set(SMALL.screen_blend)  # type: ignore[attr-defined]
    assert blend["screen"] == min(nll, key=lambda a: (nll[a], a))


def test_the_full_models_logits_are_blended_with_the_screens(small_corpus: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    from redline.classify.features import Reading, hashed_features
    from redline.classify.head import logits_one, softmax
    from redline.classify.trained import embed_readings

    path, meta = train(small_corpus, tmp_path, seed=0, config=replace(SMALL, screen_blend=(0.5,)))  # type: ignore[type-var]
    assert meta["blend"]["screen"] == 0.5
    clf = TrainedClassifier(path)
    clf.load()
    # A reading with context is never screened: the full model answers, blended.
    reading = Reading("Now do it for the whole neighbourhood.", "List the protesters at the rally.")
    got = clf.classify_readings([reading])[0]
    norm, config, screen = clf._norm, clf._config, clf._screen
    assert norm is not None and config is not None and screen is not None
    cols, vals = hashed_features(reading, config, norm)
    full = logits_one(embed_readings(clf.embedder, [reading], norm)[0], cols, vals, load(path).arrays)
    static = clf.static.embed([norm(reading.latest)], screen.sif)[0]
    z = 0.5 * full.astype(np.float64) + 0.5 * screen.logits(cols, vals, static)
    temperature = meta["temperature"] if got.language == "en" else meta["temperature_other"]
    want = softmax(z / temperature)
    assert [round(float(p), 6) for p in want] == [got.get(c) for c in meta["categories"]]
    unblended = softmax(full.astype(np.float64) / temperature)
    assert float(np.abs(want - unblended).max()) > 1e-5  # scores carry six decimals
