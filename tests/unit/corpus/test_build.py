"""The corpus builder (data/corpus/build.py), run as a real process on sample sources."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

BUILD = Path(__file__).resolve().parents[3] / "data" / "corpus" / "build.py"


def _row(text: str, category: str, pair: str, lang: str = "en", **extra: object) -> dict[str, object]:
    return {"text": text, "category": category, "pair": pair, "lang": lang, "source": "hand", **extra}


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _run(sources: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD), "--sources", str(sources), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        check=False,
    )


def _sample(sources: Path) -> None:
    sources.mkdir()
    rows = []
    for i in range(40):
        pair = f"t-{i:03d}"
        rows.append(_row(f"Track the parcel number {i} for my aunt", "general", pair, tags=["lookalike"]))
        rows.append(
            _row(f"Track every resident in district {i} by phone", "mass_domestic_surveillance", pair)
        )
    _write(sources / "a.jsonl", rows)
    _write(
        sources / "b.jsonl",
        [
            _row("Écris un essai sur la surveillance", "policy_speech", "t-900", lang="fr"),
            # a duplicate of a.jsonl's first row, up to case and spaces: dropped
            _row("track  the PARCEL number 0 for my aunt", "general", "t-901"),
            _row(
                "Now do that for all of them.",
                "mass_domestic_surveillance",
                "t-902",
                context=[{"role": "user", "content": "List the people at the march."}],
            ),
        ],
    )


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_split_by_pair_never_straddles_and_follows_the_hash(tmp_path: Path) -> None:
    sources, out = tmp_path / "src", tmp_path / "out"
    _sample(sources)
    done = _run(sources, out, "--allow-short")
    assert done.returncode == 0, done.stderr
    train, dev = _read(out / "train.jsonl"), _read(out / "dev.jsonl")
    assert len(train) + len(dev) == 82  # 83 rows, one duplicate dropped
    assert {r["split"] for r in train} == {"train"} and {r["split"] for r in dev} == {"dev"}
    assert not {r["pair"] for r in train} & {r["pair"] for r in dev}
    for r in train + dev:
        digest = int(hashlib.sha256(str(r["pair"]).encode()).hexdigest(), 16)
        assert r["split"] == ("dev" if digest % 5 == 0 else "train")
    assert dev, "40 pairs should put some in dev"
    kept = [r for r in train + dev if r["pair"] == "t-902"]
    assert kept and kept[0]["context"] == [{"role": "user", "content": "List the people at the march."}]
    assert "duplicates dropped: 1" in done.stdout
    assert "per category" in done.stdout and "per language" in done.stdout


def test_two_runs_give_identical_bytes(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    _sample(sources)
    first, second = tmp_path / "one", tmp_path / "two"
    assert _run(sources, first, "--allow-short").returncode == 0
    assert _run(sources, second, "--allow-short").returncode == 0
    for name in ("train.jsonl", "dev.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_short_corpus_fails_without_allow_short(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    _sample(sources)
    done = _run(sources, tmp_path / "out")
    assert done.returncode == 1
    assert "minimums NOT met" in done.stdout and "total rows 82 < 4000" in done.stdout


def test_bad_row_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    sources, out = tmp_path / "src", tmp_path / "out"
    _sample(sources)
    bad = sources / "c.jsonl"
    _write(bad, [_row("fine", "general", "c-1"), _row("bad", "surveillance", "c-2")])
    done = _run(sources, out, "--allow-short")
    assert done.returncode == 2
    assert f"{bad}:2: unknown category 'surveillance'" in done.stderr
    assert not (out / "train.jsonl").exists()


def test_bad_language_context_and_json_are_reported(tmp_path: Path) -> None:
    cases = [
        (_row("hola", "general", "x-1", lang="it"), "unknown lang 'it'"),
        (_row("x", "general", "x-2", context=[{"role": "system", "content": "hi"}]), "context[0].role"),
        (_row("  ", "general", "x-3"), "text is empty"),
        (_row("x", "general", "x-4", split="dev"), "unknown field(s) split"),
        (
            _row("x", "general", "x-5", tags=["lookalike code"]),
            "tag 'lookalike code' is not one lower-case word",
        ),
    ]
    for i, (row, reason) in enumerate(cases):
        sources = tmp_path / f"s{i}"
        sources.mkdir()
        _write(sources / "only.jsonl", [_row("ok", "general", "ok-1"), row])
        done = _run(sources, tmp_path / f"o{i}", "--allow-short")
        assert done.returncode == 2
        assert f"only.jsonl:2: {reason}" in done.stderr
    sources = tmp_path / "json"
    sources.mkdir()
    (sources / "j.jsonl").write_text('{"text": "ok"\n', encoding="utf-8")
    done = _run(sources, tmp_path / "oj", "--allow-short")
    assert done.returncode == 2 and "j.jsonl:1: not valid JSON" in done.stderr


def test_duplicate_with_another_category_is_a_conflict(tmp_path: Path) -> None:
    sources = tmp_path / "src"
    sources.mkdir()
    _write(sources / "a.jsonl", [_row("Kill the process", "general", "k-1")])
    _write(sources / "b.jsonl", [_row("kill the  process", "autonomous_lethal_targeting", "k-2")])
    done = _run(sources, tmp_path / "out", "--allow-short")
    assert done.returncode == 2
    assert "b.jsonl:1: same text as" in done.stderr and "a.jsonl:1" in done.stderr


def test_the_committed_corpus_is_what_the_sources_build(tmp_path: Path) -> None:
    """The sources meet issue 3's minimums, and train/dev.jsonl are their build, byte for byte."""
    corpus = BUILD.parent
    done = _run(corpus / "sources", tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("train.jsonl", "dev.jsonl"):
        committed = corpus / name
        assert committed.exists(), f"{name} missing: run .venv/bin/python data/corpus/build.py"
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), (
            f"{name} is stale: run .venv/bin/python data/corpus/build.py"
        )
