"""The sealed test set (data/unseen/) is well formed and shares no text with the corpus."""

from __future__ import annotations

from pathlib import Path

from redline.classify.base import CATEGORIES
from redline.classify.train import read_rows

DATA = Path(__file__).resolve().parents[3] / "data"


def _fold(row: dict[str, object]) -> str:
    text = " ".join(str(row["text"]).casefold().split())
    context = row.get("context") or []
    assert isinstance(context, list)
    return " || ".join(" ".join(str(m["content"]).casefold().split()) for m in context) + " ## " + text


def test_sealed_rows_are_not_in_the_corpus_and_cover_the_taxonomy() -> None:
    files = sorted((DATA / "unseen").glob("*/*.jsonl"))
    assert files, "data/unseen holds no test set"
    sealed = [r for f in files for r in read_rows(f)]
    assert len(sealed) >= 1_800
    assert {r["category"] for r in sealed} == set(CATEGORIES)
    corpus = {_fold(r) for name in ("train.jsonl", "dev.jsonl") for r in read_rows(DATA / "corpus" / name)}
    leaked = [r["text"] for r in sealed if _fold(r) in corpus]
    assert not leaked, f"sealed rows found in the corpus: {leaked[:3]}"
    texts = {" ".join(str(r["text"]).casefold().split()) for r in sealed}
    corpus_texts = {t.rsplit(" ## ", 1)[-1] for t in corpus}
    # Short rows ("do it") may recur as latest turns of different conversations; whole texts of
    # more than six words may not.
    shared = [t for t in texts & corpus_texts if len(t.split()) > 6]
    assert not shared, f"sealed texts found in the corpus: {shared[:3]}"


def test_every_hand_written_source_belongs_to_a_writing_round() -> None:
    """bench/writer_holdout.py refuses to run when a source file is in no round."""
    import importlib.util

    path = DATA.parent / "bench" / "writer_holdout.py"
    spec = importlib.util.spec_from_file_location("writer_holdout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rounds = module.round_of_pairs(DATA / "corpus" / "sources")
    assert len(set(rounds.values())) == len(module.ROUNDS)
    sealed = {str(r["pair"]) for f in (DATA / "unseen").glob("*/*.jsonl") for r in read_rows(f)}
    assert not sealed & set(rounds), "a sealed pair id is also a corpus pair id"
