"""Build the classifier corpus: validate the source files, de-duplicate, split.

Reads every ``sources/*.jsonl`` next to this script (or ``--sources DIR``),
checks each row, drops exact duplicate texts, assigns each row to ``train`` or
``dev`` by a hash of its ``pair`` id, and writes ``train.jsonl`` and
``dev.jsonl`` (or into ``--out DIR``). It then prints a summary and checks the
minimums of issue 3.

What a caller may rely on:

* A bad row stops the build with ``FILE:LINE: reason`` on stderr and exit 2;
  nothing is written.
* Two rows whose texts are equal after case-folding and whitespace collapsing
  (with equal context) are duplicates; the first one (sources sorted by file
  name, then line) is kept. Duplicates that disagree on the category are a
  label conflict and stop the build like a bad row.
* ``split`` is ``dev`` when ``int(sha256(pair).hexdigest(), 16) % 5 == 0``,
  else ``train``, so all rows of a pair land on the same side (about 20% dev).
* Output rows keep every source field plus ``split``; they are sorted by
  (pair, folded text, folded context) and serialised with sorted keys, so two
  runs over the same sources give byte-identical files.
* Exit 1 when a minimum of issue 3 is not met, unless ``--allow-short``.

Run: ``.venv/bin/python data/corpus/build.py``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redline.classify.base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES

HERE = Path(__file__).resolve().parent
LANGS: tuple[str, ...] = ("en", "es", "fr", "de", "ru", "zh", "ar", "pt")
TAG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # one word; "lookalike code" would be two tags run together
ROLES: frozenset[str] = frozenset({"user", "assistant"})
KNOWN_FIELDS: frozenset[str] = frozenset(
    {"text", "category", "pair", "tags", "lang", "source", "attributes", "context"}
)

# Minimums of issue 3 (and of the corpus brief) checked after the build.
MIN_TOTAL = 4000
MIN_PER_STRICT = 300  # per red-line and review category
MIN_NON_ENGLISH_SHARE = 0.10
MIN_MULTITURN = 150


class BadRow(Exception):
    """A source row that cannot go into the corpus; carries its location."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Row:
    data: dict[str, Any]
    where: str  # "file:line", for messages

    @property
    def key(self) -> tuple[str, str]:
        return (fold(self.data["text"]), fold_context(self.data.get("context")))


def fold(text: str) -> str:
    """Case- and whitespace-folded text: the identity used for de-duplication."""
    return " ".join(text.casefold().split())


def fold_context(context: Sequence[dict[str, str]] | None) -> str:
    if not context:
        return ""
    return "\n".join(f"{turn['role']}:{fold(turn['content'])}" for turn in context)


def split_of(pair: str) -> str:
    """``dev`` for about one pair in five, chosen by hash so it never changes."""
    return "dev" if int(hashlib.sha256(pair.encode("utf-8")).hexdigest(), 16) % 5 == 0 else "train"


def _check_str(value: Any, name: str, where: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise BadRow(where, f"{name} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise BadRow(where, f"{name} is empty")
    return value


def validate(obj: Any, where: str) -> dict[str, Any]:
    """Return the row when it is well formed; raise ``BadRow`` saying why not."""
    if not isinstance(obj, dict):
        raise BadRow(where, "a row must be a JSON object")
    unknown = sorted(set(obj) - KNOWN_FIELDS)
    if unknown:
        # "split" in particular: the build assigns it, a source must not.
        raise BadRow(where, f"unknown field(s) {', '.join(unknown)}")
    for name in ("text", "category", "pair", "lang", "source"):
        if name not in obj:
            raise BadRow(where, f"missing field {name!r}")
    _check_str(obj["text"], "text", where)
    category = _check_str(obj["category"], "category", where)
    if category not in CATEGORIES:
        raise BadRow(where, f"unknown category {category!r} (one of: {', '.join(CATEGORIES)})")
    _check_str(obj["pair"], "pair", where)
    lang = _check_str(obj["lang"], "lang", where)
    if lang not in LANGS:
        raise BadRow(where, f"unknown lang {lang!r} (one of: {', '.join(LANGS)})")
    source = _check_str(obj["source"], "source", where)
    if source != "hand" and not (source.startswith("gen:") and len(source) > 4):
        raise BadRow(where, f"source must be 'hand' or 'gen:<name>', got {source!r}")
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRow(where, "tags must be a list of strings")
    for tag in tags:
        if not TAG.match(tag):
            raise BadRow(where, f"tag {tag!r} is not one lower-case word (a-z, 0-9, _ or -)")
    attributes = obj.get("attributes")
    if attributes is not None and (
        not isinstance(attributes, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
    ):
        raise BadRow(where, "attributes must be an object of string values")
    context = obj.get("context")
    if context is not None:
        if not isinstance(context, list) or not context:
            raise BadRow(where, "context must be a non-empty list of turns")
        for i, turn in enumerate(context):
            if not isinstance(turn, dict) or set(turn) != {"role", "content"}:
                raise BadRow(where, f"context[{i}] must be an object with exactly role and content")
            if turn["role"] not in ROLES:
                raise BadRow(where, f"context[{i}].role must be user or assistant, got {turn['role']!r}")
            _check_str(turn["content"], f"context[{i}].content", where)
    return obj


def read_sources(sources: Path) -> list[Row]:
    """Every row of every ``*.jsonl`` in ``sources``, files in name order."""
    files = sorted(sources.glob("*.jsonl"))
    if not files:
        raise BadRow(str(sources), "no *.jsonl source files")
    rows: list[Row] = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                where = f"{path}:{lineno}"
                if not line.strip():
                    continue  # blank lines are harmless between batches
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadRow(where, f"not valid JSON ({exc.msg})") from None
                rows.append(Row(validate(obj, where), where))
    return rows


def dedupe(rows: Iterable[Row]) -> tuple[list[Row], int]:
    """Keep the first of each duplicate text; raise on a label conflict."""
    seen: dict[tuple[str, str], Row] = {}
    kept: list[Row] = []
    dropped = 0
    for row in rows:
        first = seen.get(row.key)
        if first is None:
            seen[row.key] = row
            kept.append(row)
            continue
        if first.data["category"] != row.data["category"]:
            raise BadRow(
                row.where,
                f"same text as {first.where} but category {row.data['category']!r} "
                f"vs {first.data['category']!r}",
            )
        dropped += 1
    return kept, dropped


def assign_and_sort(rows: Iterable[Row]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows with their split, in output order, and the source file name of each."""
    out = [
        (dict(row.data, split=split_of(row.data["pair"])), Path(row.where.rsplit(":", 1)[0]).name)
        for row in rows
    ]
    out.sort(
        key=lambda d: (d[0]["pair"], fold(d[0]["text"]), fold_context(d[0].get("context")), d[0]["text"])
    )
    return [d for d, _ in out], [f for _, f in out]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")


def _table(title: str, counts: dict[str, Counter[str]], order: Sequence[str]) -> list[str]:
    lines = [f"\n{title}", f"  {'':32s} {'train':>7s} {'dev':>7s} {'total':>7s}"]
    for name in order:
        c = counts.get(name, Counter())
        lines.append(f"  {name:32s} {c['train']:7d} {c['dev']:7d} {c['train'] + c['dev']:7d}")
    return lines


def summarise(
    rows: Sequence[dict[str, Any]], dropped: int, files: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The printed summary, and the list of unmet minimums (empty when all pass)."""
    by_cat: dict[str, Counter[str]] = defaultdict(Counter)
    by_lang: dict[str, Counter[str]] = defaultdict(Counter)
    by_tag: dict[str, Counter[str]] = defaultdict(Counter)
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    by_file: dict[str, Counter[str]] = defaultdict(Counter)
    non_en_by_cat: Counter[str] = Counter()
    pairs: dict[str, set[str]] = defaultdict(set)
    multiturn = 0
    for row, file in zip(rows, files or [""] * len(rows), strict=True):
        split = row["split"]
        by_file[file][split] += 1
        by_cat[row["category"]][split] += 1
        by_lang[row["lang"]][split] += 1
        by_source["hand" if row["source"] == "hand" else "generated"][split] += 1
        for tag in sorted(set(row.get("tags", []))):
            by_tag[tag][split] += 1
        if row["lang"] != "en":
            non_en_by_cat[row["category"]] += 1
        if row.get("context"):
            multiturn += 1
        pairs[row["pair"]].add(row["category"])
    total = len(rows)
    dev = sum(1 for r in rows if r["split"] == "dev")
    non_en = sum(non_en_by_cat.values())
    cross_pairs = sum(1 for cats in pairs.values() if len(cats) > 1)

    lines = [
        f"rows: {total}  (train {total - dev}, dev {dev}, dev share {dev / max(total, 1):.1%}); "
        f"duplicates dropped: {dropped}",
        f"pairs: {len(pairs)} ({cross_pairs} contrast pairs spanning >1 category); "
        f"rows with context: {multiturn}; non-English rows: {non_en} ({non_en / max(total, 1):.1%})",
    ]
    lines += _table("per category", by_cat, CATEGORIES)
    lines += _table("per language", by_lang, LANGS)
    lines += _table("per source", by_source, ("hand", "generated"))
    if files:
        lines += _table("per source file (after de-duplication)", by_file, sorted(by_file))
    lines += _table("per tag", by_tag, sorted(by_tag))
    lines.append("\nnon-English rows per category")
    lines += [f"  {c:32s} {non_en_by_cat[c]:7d}" for c in CATEGORIES]

    unmet: list[str] = []
    if total < MIN_TOTAL:
        unmet.append(f"total rows {total} < {MIN_TOTAL}")
    for cat in CATEGORIES:
        n = by_cat[cat]["train"] + by_cat[cat]["dev"]
        floor = MIN_PER_STRICT if cat in RED_LINES + REVIEW_CATEGORIES else 1
        if n < floor:
            unmet.append(f"category {cat}: {n} rows < {floor}")
    if non_en < MIN_NON_ENGLISH_SHARE * total:
        unmet.append(f"non-English rows {non_en} < {MIN_NON_ENGLISH_SHARE:.0%} of {total}")
    for lang in LANGS:
        if not by_lang[lang]["train"] + by_lang[lang]["dev"]:
            unmet.append(f"language {lang}: no rows")
    if multiturn < MIN_MULTITURN:
        unmet.append(f"rows with context {multiturn} < {MIN_MULTITURN}")
    if not cross_pairs:
        unmet.append("no contrastive pair spans two categories")
    for cat in RED_LINES + REVIEW_CATEGORIES:
        if not by_cat[cat]["dev"]:
            unmet.append(f"category {cat}: no dev rows")
    return lines, unmet


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sources", type=Path, default=HERE / "sources", help="directory of *.jsonl sources")
    parser.add_argument("--out", type=Path, default=HERE, help="where train.jsonl and dev.jsonl go")
    parser.add_argument("--allow-short", action="store_true", help="exit 0 even when a minimum is not met")
    args = parser.parse_args(argv)

    try:
        kept, dropped = dedupe(read_sources(args.sources))
    except BadRow as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows, files = assign_and_sort(kept)
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "train.jsonl", (r for r in rows if r["split"] == "train"))
    write_jsonl(args.out / "dev.jsonl", (r for r in rows if r["split"] == "dev"))

    lines, unmet = summarise(rows, dropped, files)
    print("\n".join(lines))
    if unmet:
        print("\nminimums NOT met:\n  " + "\n  ".join(unmet))
        return 0 if args.allow_short else 1
    print("\nall minimums met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
