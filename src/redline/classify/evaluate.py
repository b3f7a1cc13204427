"""``evaluate``: measure a classifier (and the policy's verdicts) on labelled rows.

Rows are JSON objects with ``text`` and ``category`` and optionally
``verdict``, ``attributes``, ``context`` (earlier turns), ``lang`` and ``tags``.
Each row is classified on its own (so latency is per row, as in serving), then,
when a verdict function is given, decided by the policy. The default verdict
function uses ``redline.enforce.Enforcer`` with ``redline.policy.default_policy()``
and a fresh counter store per row (rows are independent requests, so the
distinct-subject counter must not accumulate across the file).

Definitions (what the report's numbers mean):

* category metrics use the classifier's top category;
* ``red_line_recall``: share of rows whose true category is a red line that the
  policy denies; ``red_line_category_recall``: share predicted as a red line;
* ``review_recall``: share of review-category rows not allowed (held or
  denied); ``review_category_recall``: share whose top category is the true one;
* ``false_deny_allowed``: share of rows of allowed categories that are denied;
  ``false_deny_lookalike``: the same among those tagged ``lookalike``;
* ``non_english``: the same red-line figures on rows whose ``lang`` is not
  ``en``, plus the share of their red-line rows that are denied or reviewed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..facts import Attributes, Facts, Message
from .base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES, Classifier, Scores

ALLOWED: tuple[str, ...] = tuple(c for c in CATEGORIES if c not in RED_LINES + REVIEW_CATEGORIES)
#: (facts, scores) -> (verdict, policy category)
VerdictFn = Callable[[Facts, Scores], tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Prediction:
    category: str
    scores: Scores
    verdict: str | None
    policy_category: str | None
    latency_ms: float


def facts_of(row: dict[str, Any]) -> Facts:
    """The input-stage facts of an eval row (context turns, then the text as the user turn)."""
    turns = [
        Message(role=str(t.get("role", "user")), content=str(t.get("content", "")))
        for t in row.get("context") or []
    ]
    turns.append(Message(role="user", content=str(row["text"])))
    return Facts(messages=tuple(turns), attributes=Attributes.from_mapping(row.get("attributes")))


def policy_verdicts() -> VerdictFn:
    """Verdicts from the default policy through the Enforcer (fresh counters per row)."""
    from ..enforce import Enforcer
    from ..policy import default_policy

    policy = default_policy()
    loop = asyncio.new_event_loop()

    def decide(facts: Facts, scores: Scores) -> tuple[str, str]:
        enforcer = Enforcer(policy, classify_in_thread=False, clock=lambda: 1.0)
        decision = loop.run_until_complete(enforcer.decide_scored(facts, scores))
        return str(decision.verdict), decision.category

    return decide


def predict(
    classifier: Classifier, rows: Sequence[dict[str, Any]], verdicts: VerdictFn | None
) -> list[Prediction]:
    out: list[Prediction] = []
    for row in rows:
        facts = facts_of(row)
        t0 = time.perf_counter()
        scores = classifier.classify(facts)
        ms = (time.perf_counter() - t0) * 1000.0
        verdict, policy_category = verdicts(facts, scores) if verdicts else (None, None)
        out.append(Prediction(scores.top()[0], scores, verdict, policy_category, ms))
    return out


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _group(
    rows: Sequence[dict[str, Any]], preds: Sequence[Prediction], keep: Sequence[bool]
) -> dict[str, Any]:
    idx = [i for i, k in enumerate(keep) if k]
    true = [rows[i]["category"] for i in idx]
    red = [i for i in idx if rows[i]["category"] in RED_LINES]
    review = [i for i in idx if rows[i]["category"] in REVIEW_CATEGORIES]
    allowed = [i for i in idx if rows[i]["category"] in ALLOWED]
    out: dict[str, Any] = {
        "rows": len(idx),
        "accuracy": _rate(sum(preds[i].category == t for i, t in zip(idx, true, strict=True)), len(idx)),
        "red_line_category_recall": _rate(sum(preds[i].category in RED_LINES for i in red), len(red)),
        "review_category_recall": _rate(
            sum(preds[i].category == rows[i]["category"] for i in review), len(review)
        ),
    }
    if preds and preds[0].verdict is not None:
        out["red_line_recall"] = _rate(sum(preds[i].verdict == "deny" for i in red), len(red))
        out["red_line_held"] = _rate(sum(preds[i].verdict != "allow" for i in red), len(red))
        out["review_recall"] = _rate(sum(preds[i].verdict != "allow" for i in review), len(review))
        out["false_deny_allowed"] = _rate(sum(preds[i].verdict == "deny" for i in allowed), len(allowed))
        with_verdict = [i for i in idx if rows[i].get("verdict")]
        if with_verdict:
            out["verdict_accuracy"] = _rate(
                sum(preds[i].verdict == rows[i]["verdict"] for i in with_verdict), len(with_verdict)
            )
    return out


def report(rows: Sequence[dict[str, Any]], preds: Sequence[Prediction], version: str) -> dict[str, Any]:
    """The full report as plain data (what ``--json`` prints)."""
    true = [r["category"] for r in rows]
    per_category: dict[str, dict[str, Any]] = {}
    for c in CATEGORIES:
        tp = sum(p.category == c and t == c for p, t in zip(preds, true, strict=True))
        fp = sum(p.category == c and t != c for p, t in zip(preds, true, strict=True))
        fn = sum(p.category != c and t == c for p, t in zip(preds, true, strict=True))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_category[c] = {
            "support": tp + fn,
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(f1, 4),
        }
    confusion = {t: {p: 0 for p in CATEGORIES} for t in CATEGORIES}
    for p, t in zip(preds, true, strict=True):
        confusion[t][p.category] += 1
    everything = _group(rows, preds, [True] * len(rows))
    lookalike = [("lookalike" in (r.get("tags") or [])) and r["category"] in ALLOWED for r in rows]
    out: dict[str, Any] = {
        "classifier_version": version,
        "overall": everything,
        "per_category": per_category,
        "confusion": confusion,
        "uncertain_rate": _rate(sum(p.scores.uncertain for p in preds), len(preds)),
    }
    if preds and preds[0].verdict is not None:
        look = [i for i, k in enumerate(lookalike) if k]
        out["false_deny_lookalike"] = _rate(sum(preds[i].verdict == "deny" for i in look), len(look))
        verdicts: dict[str, int] = {}
        for p in preds:
            verdicts[str(p.verdict)] = verdicts.get(str(p.verdict), 0) + 1
        out["verdicts"] = verdicts
    langs = sorted({str(r.get("lang", "en")) for r in rows})
    out["non_english"] = _group(rows, preds, [str(r.get("lang", "en")) != "en" for r in rows])
    out["per_language"] = {
        lang: _group(rows, preds, [str(r.get("lang", "en")) == lang for r in rows]) for lang in langs
    }
    tags = sorted({t for r in rows for t in (r.get("tags") or [])})
    out["per_tag"] = {tag: _group(rows, preds, [tag in (r.get("tags") or []) for r in rows]) for tag in tags}
    lat = np.array([p.latency_ms for p in preds]) if preds else np.zeros(1)
    out["latency_ms"] = {
        "p50": round(float(np.percentile(lat, 50)), 3),
        "p99": round(float(np.percentile(lat, 99)), 3),
        "mean": round(float(lat.mean()), 3),
    }
    return out


def prediction_line(row: dict[str, Any], pred: Prediction, index: int) -> dict[str, Any]:
    """One line of ``--predictions``."""
    return {
        "index": index,
        "category": pred.category,
        "verdict": pred.verdict,
        "policy_category": pred.policy_category,
        "true_category": row.get("category"),
        "uncertain": pred.scores.uncertain,
        "language": pred.scores.language,
        "scores": dict(pred.scores.categories),
        "latency_ms": round(pred.latency_ms, 3),
    }


def format_report(rep: dict[str, Any]) -> str:
    """A human-readable rendering of :func:`report`."""
    lines = [f"classifier {rep['classifier_version']}", ""]
    lines.append(f"{'category':<28} {'support':>7} {'prec':>6} {'recall':>6} {'f1':>6}")
    for c, m in rep["per_category"].items():
        lines.append(f"{c:<28} {m['support']:>7} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f}")
    lines += ["", "confusion (rows: true, columns: predicted, in category order)"]
    abbrev = [c[:6] for c in CATEGORIES]
    lines.append(" " * 28 + " ".join(f"{a:>6}" for a in abbrev))
    for t, row in rep["confusion"].items():
        lines.append(f"{t:<28}" + " ".join(f"{row[p]:>6}" for p in CATEGORIES))
    lines += ["", "headline"]
    headline = dict(rep["overall"])
    for key in ("false_deny_lookalike", "uncertain_rate"):
        if key in rep:
            headline[key] = rep[key]
    for k, v in headline.items():
        lines.append(f"  {k:<28} {v}")
    lines += ["", "non-English"]
    for k, v in rep["non_english"].items():
        lines.append(f"  {k:<28} {v}")
    for title, groups in (("per language", rep["per_language"]), ("per tag", rep["per_tag"])):
        lines += ["", title]
        cols = ("rows", "accuracy", "red_line_recall", "review_recall", "false_deny_allowed")
        lines.append(f"  {'':<20}" + "".join(f"{c[:14]:>16}" for c in cols))
        for name, g in groups.items():
            cells = "".join(f"{_cell(g.get(c)):>16}" for c in cols)
            lines.append(f"  {name:<20}{cells}")
    if "verdicts" in rep:
        lines += ["", f"verdicts {rep['verdicts']}"]
    lat = rep["latency_ms"]
    lines += ["", f"latency per row: p50 {lat['p50']} ms, p99 {lat['p99']} ms, mean {lat['mean']} ms"]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
