"""How well the classifier reads writers it was not trained on: leave one writing round out.

Pair-grouped cross-validation (what ``redline train`` reports) keeps a pair's rows
together, but the same writers, with the same habits, sit on both sides of every fold.
An evaluation set written independently of this project shares neither. This script
holds out, in turn, each hand-written round of ``data/corpus/sources`` (the files of
one round were written together, by the same writers, from the same briefs; see
data/corpus/README.md), trains on everything else in the training split, generated
rows included, and scores the held-out round. Only ``data/corpus/train.jsonl`` is
used; dev is not read.

The model is the shipped one's, retrained per fold: the head on MiniLM embeddings and
hashed n-grams, the screen, their logits blended with the weight ``redline train``
chose for the shipped artifact, categories by the largest logit. Figures per held-out round and pooled:
accuracy, red-line rows read as a red-line category, allowed rows read as one.
Verdicts are not computed (no thresholds, no policy).

Run: ``HF_HUB_OFFLINE=1 .venv/bin/python bench/writer_holdout.py [--json]``
(one embedding pass, then two fits per round, 7–8 minutes each round on two cores: about
90–100 minutes with twelve rounds, so expect about three hours with nineteen).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: Hand-written source files by writing round (data/corpus/README.md). Generated files
#: (``*_gen.jsonl``) are never held out.
ROUNDS: dict[str, tuple[str, ...]] = {
    "1 first writers": (
        "surveillance_hand",
        "force_hand",
        "general_hand",
        "speech_hand",
        "multilingual_hand",
        "multiturn_hand",
    ),
    "2 multilingual, multi-turn, outputs": ("multilingual_hand2", "multiturn_hand2", "outputs_hand"),
    "3 boundaries, Chinese and Arabic": ("boundary_hand", "multilingual_hand3"),
    "4 look-alikes, five languages": ("lookalike_hand", "multilingual_hand4"),
    "5 boundaries, Chinese and Arabic, multi-turn": (
        "boundary_hand2",
        "multilingual_hand5",
        "multiturn_hand3",
    ),
    "6 look-alikes, military, seven languages": ("lookalike_hand2", "military_hand", "multilingual_hand6"),
    "7 concrete requests, follow-ups, outputs": (
        "surveillance_concrete_hand",
        "lethal_concrete_hand",
        "followups_outputs_hand",
    ),
    "8 outputs, conversations, languages, technical forms, indirect asks": (
        "outputs_hand2",
        "multiturn_hand4",
        "multilingual_hand7",
        "formats_hand",
        "indirect_hand",
    ),
    "9 conversations, materiel, everyday data, Chinese and Arabic, speech": (
        "multiturn_hand5",
        "materiel_hand",
        "everyday_data_hand",
        "multilingual_hand8",
        "speech_intel_hand",
    ),
    "10 engagement, public services, agent sessions, Chinese and Arabic, military outputs": (
        "engagement_hand",
        "services_hand",
        "multiturn_hand6",
        "multilingual_hand9",
        "military_outputs_hand",
    ),
    "11 theatres, look-alikes, agents, Chinese and Arabic, disguises": (
        "theatres_hand",
        "lookalike_hand3",
        "multiturn_hand7",
        "multilingual_hand10",
        "disguise_hand",
    ),
    "12 engineers' artefacts, one person, Chinese and Arabic, five languages, turns, offices": (
        "engagement_hand2",
        "person_hand",
        "multilingual_hand11",
        "multilingual_hand12",
        "multiturn_hand8",
        "office_hand",
    ),
    "13 Chinese, Arabic dialects, turns, short rows, military staff, disguises": (
        "multilingual_hand13",
        "multilingual_hand14",
        "multiturn_hand9",
        "short_hand",
        "military_hand2",
        "disguise_hand2",
    ),
    "14 Arabic dialects, Chinese online, alarming talk, speech, hard boundaries, five languages": (
        "multilingual_hand15",
        "multilingual_hand16",
        "multiturn_hand10",
        "speech_hand2",
        "boundary_hand3",
        "multilingual_hand17",
    ),
    # The fifteenth round is the sealed test set in data/unseen/, not a corpus source.
    "16 refusals, office traffic in eight languages, long answers, working conversations, red vs review": (
        "outputs_hand3",
        "traffic_hand",
        "traffic_hand2",
        "outputs_hand4",
        "multiturn_hand11",
        "boundary_hand4",
    ),
    "17 conversations in seven languages, military boundaries in five, framings, chatty rows, deployment answers": (
        "multiturn_hand12",
        "multiturn_hand13",
        "multilingual_hand18",
        "fiction_hand",
        "chatty_hand",
        "outputs_hand5",
    ),
    "18 European and Russian conversations, Russian registers, short rows, allowed boundaries, engagements, foreign look-alikes": (
        "multiturn_hand14",
        "multilingual_hand19",
        "short_hand2",
        "between_allowed_hand",
        "engagement_hand3",
        "lookalike_hand4",
    ),
    "19 conversations in Chinese, Russian, Arabic and English, counter-materiel, the human decision, speech, military and data look-alikes": (
        "multiturn_hand15",
        "multiturn_hand16",
        "multiturn_hand17",
        "materiel_hand2",
        "humandecides_hand",
        "speech_hand3",
        "military_hand3",
        "lookalike_hand5",
    ),
    "20 conversations in Chinese, Spanish and German, allowed boundaries, counter-materiel, one person against many, speech against writing help": (
        "multiturn_hand18",
        "multilingual_hand20",
        "between_allowed_hand2",
        "materiel_hand3",
        "person_hand2",
        "speech_hand4",
    ),
    "21 conversations in Portuguese, Russian and French, data on many people, the human decision in jargon, counter-materiel in seven languages, speech against the same genre, military against civilian routine, one person": (
        "multiturn_hand19",
        "multiturn_hand20",
        "lookalike_hand6",
        "humandecides_hand2",
        "materiel_hand4",
        "speech_hand5",
        "military_hand4",
        "person_hand3",
    ),
    "22 conversations in Arabic, German, Chinese and red lines built up over turns, speech read as doing, model outputs, look-alikes in seven languages": (
        "multiturn_hand21",
        "multiturn_hand22",
        "multiturn_hand23",
        "speech_hand6",
        "outputs_hand6",
        "lookalike_hand7",
    ),
}


def round_of_pairs(sources: Path) -> dict[str, str]:
    """The writing round of every pair id found in the hand-written source files."""
    by_file = {stem: name for name, stems in ROUNDS.items() for stem in stems}
    out: dict[str, str] = {}
    for path in sorted(sources.glob("*.jsonl")):
        if path.stem.endswith("_gen"):
            continue
        if path.stem not in by_file:
            sys.exit(f"{path.name} is in no round of ROUNDS; add it")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out[str(json.loads(line)["pair"])] = by_file[path.stem]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data/corpus/train.jsonl")
    parser.add_argument("--sources", type=Path, default=ROOT / "data/corpus/sources")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from redline.classify.artifact import default_path, load
    from redline.classify.base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES
    from redline.classify.head import logits
    from redline.classify.static import StaticEmbedder
    from redline.classify.static import default_dir as static_dir
    from redline.classify.train import (
        TrainConfig,
        build_design,
        examples_of,
        fit_head,
        fit_screen_head,
        read_rows,
        screen_design,
    )

    config = TrainConfig()
    blend = float((load(default_path()).meta.get("blend") or {}).get("screen", 0.0))
    rows = read_rows(args.corpus)
    examples = examples_of(rows)
    rounds = round_of_pairs(args.sources)
    held = np.array(["" if e.generated else rounds.get(e.pair, "?") for e in examples])
    if (held == "?").any():
        sys.exit(f"{int((held == '?').sum())} hand-written training rows come from no known source file")
    index = {c: i for i, c in enumerate(CATEGORIES)}
    y = np.array([index[e.category] for e in examples], dtype=np.int64)
    generated = np.array([e.generated for e in examples], dtype=bool)
    red = [index[c] for c in RED_LINES]
    allowed = [i for c, i in index.items() if c not in RED_LINES + REVIEW_CATEGORIES]

    t0 = time.perf_counter()
    design = build_design(examples, config.features, config.embedder())
    static = StaticEmbedder(static_dir())
    static.load()
    sdesign, _ = screen_design(examples, design, config.features, static)
    embed_s = time.perf_counter() - t0

    predicted = np.full(len(y), -1)
    per_round: list[dict[str, Any]] = []
    for name in ROUNDS:
        test = held == name
        if not test.any():
            continue
        train = ~test
        t1 = time.perf_counter()
        head = fit_head(design.subset(train), y[train], generated[train], config, 0)
        screen = fit_screen_head(sdesign.subset(train), y[train], config, 0)
        z = (1 - blend) * logits(design.subset(test), head) + blend * logits(sdesign.subset(test), screen)
        predicted[test] = z.argmax(axis=1)
        per_round.append({"round": name, **scores(y[test], predicted[test], red, allowed)})
        per_round[-1]["fit_s"] = round(time.perf_counter() - t1, 1)
        if not args.json:
            print(row_text(per_round[-1]), flush=True)
    scored = predicted >= 0
    report = {
        "corpus": str(args.corpus),
        "rows": len(y),
        "held_out_rows": int(scored.sum()),
        "blend": blend,
        "rounds": per_round,
        "pooled": scores(y[scored], predicted[scored], red, allowed),
        "embedding_s": round(embed_s, 1),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(row_text({"round": "pooled", **report["pooled"]}))


def scores(y: Any, p: Any, red: list[int], allowed: list[int]) -> dict[str, Any]:
    is_red, is_allowed = np.isin(y, red), np.isin(y, allowed)
    return {
        "rows": len(y),
        "accuracy": round(float(np.mean(p == y)), 4),
        "red_line_rows_read_as_red_line": round(float(np.isin(p[is_red], red).mean()), 4)
        if is_red.any()
        else None,
        "allowed_rows_read_as_red_line": round(float(np.isin(p[is_allowed], red).mean()), 4)
        if is_allowed.any()
        else None,
    }


def row_text(r: dict[str, Any]) -> str:
    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    return (
        f"{r['round']:<48} rows {r['rows']:>5}  accuracy {f(r['accuracy'])}  "
        f"red lines read as such {f(r['red_line_rows_read_as_red_line'])}  "
        f"allowed read as red line {f(r['allowed_rows_read_as_red_line'])}"
    )


if __name__ == "__main__":
    main()
