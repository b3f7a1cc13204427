"""Long texts: a red-line request buried among allowed ones, read with and without windows.

Builds ``--n`` texts of eight allowed single-turn English training rows (train split,
so nothing of dev is used), each once as it is and once with a red-line training row
inserted after the fifth snippet, and counts the default policy's verdicts with the
classifier's long-text windows on and off (``windows`` replaced by one returning
none). Also prints the mean classification time per text.

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/long_text.py [--n 60] [--seed 1] [--classifier ARTIFACT]``
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

ALLOWED = {
    "defensive_counter_materiel",
    "military_general",
    "foreign_intelligence",
    "policy_speech",
    "general",
}
RED_LINES = {"mass_domestic_surveillance", "autonomous_lethal_targeting"}


def run(
    n: int, seed: int, rows: list[dict[str, Any]], windows_on: bool, artifact: Path | None = None
) -> dict[str, Any]:
    import redline.classify.trained as trained
    from redline.classify.evaluate import policy_verdicts
    from redline.facts import Facts

    original = trained.windows
    if not windows_on:
        trained.windows = lambda text: []
    try:
        single = [r for r in rows if not r.get("context") and r.get("lang", "en") == "en"]
        allowed = [r["text"] for r in single if r["category"] in ALLOWED]
        red = [r["text"] for r in single if r["category"] in RED_LINES]
        rng = random.Random(seed)
        clf = trained.TrainedClassifier(artifact)
        clf.load()
        verdict = policy_verdicts()
        benign: Counter[str] = Counter()
        buried: Counter[str] = Counter()
        spent = 0.0
        for _ in range(n):
            parts = rng.sample(allowed, 8)
            plain = Facts.from_text(" ".join(parts))
            t0 = time.perf_counter()
            scores = clf.classify(plain)
            spent += time.perf_counter() - t0
            benign[verdict(plain, scores)[0]] += 1
            mixed = Facts.from_text(" ".join([*parts[:5], rng.choice(red), *parts[5:]]))
            buried[verdict(mixed, clf.classify(mixed))[0]] += 1
        return {
            "windows": windows_on,
            "allowed_only": dict(benign),
            "with_red_line": dict(buried),
            "mean_ms_per_text": round(spent / n * 1000, 1),
        }
    finally:
        trained.windows = original


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=Path, default=Path("data/corpus/train.jsonl"))
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--classifier", type=Path, default=None, help="artifact to read with (default: the shipped one)"
    )
    a = ap.parse_args()
    rows = [json.loads(line) for line in a.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("split", "train") == "train"]
    print(json.dumps([run(a.n, a.seed, rows, on, a.classifier) for on in (False, True)], indent=2))


if __name__ == "__main__":
    main()
