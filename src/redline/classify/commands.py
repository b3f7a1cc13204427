"""Click commands for the CLI: ``redline train`` and ``redline eval``.

The lead's ``redline.cli`` registers :data:`train` as ``redline train`` and
:data:`eval_` as ``redline eval``. Errors surface as ``RedlineError`` subclasses
(the CLI maps them to messages and exit codes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError


@click.command("train")
@click.option(
    "--corpus",
    "corpus",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("data/corpus/train.jsonl"),
    show_default=True,
    help="Training rows (JSONL; rows with split != train are skipped).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for use-classifier.bin [default: the package's artifacts directory].",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the cross-validation folds.")
def train(corpus: Path, out_dir: Path | None, seed: int) -> None:
    """Rebuild the use-classifier artifact from a corpus, deterministically."""
    from .artifact import default_path
    from .train import train as run_train

    if not corpus.exists():
        raise UsageError(f"corpus {corpus} not found; build it with data/corpus/build.py")
    target = out_dir or default_path().parent
    path, meta = run_train(corpus, target, seed)
    t = meta["training"]
    click.echo(
        f"wrote {path} ({path.stat().st_size} bytes), version {meta['version']}: {t['rows']} rows, "
        f"temperature {meta['temperature']}, cross-validated accuracy {t['cv_accuracy']}"
    )


#: A file of pair ids separated by white space (``eval --skip-pairs/--only-pairs``).
_PAIR_LIST = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("eval")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--classifier",
    "artifact",
    default="auto",
    show_default=True,
    help="'auto' (the shipped model), 'keywords' (policy signals only), or an artifact path.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--predictions",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one JSON line per row (predicted category, verdict, scores), in input order.",
)
@click.option("--no-policy", is_flag=True, help="Category metrics only; do not compute verdicts.")
@click.option("--skip-pairs", type=_PAIR_LIST, help="Leave out the rows whose `pair` is listed in this file.")
@click.option("--only-pairs", type=_PAIR_LIST, help="Keep only the rows whose `pair` is listed in this file.")
def eval_(
    file: Path,
    artifact: str,
    as_json: bool,
    predictions: Path | None,
    no_policy: bool,
    skip_pairs: Path | None,
    only_pairs: Path | None,
) -> None:
    """Evaluate the classifier and the default policy's verdicts on labelled rows.

    With --skip-pairs or --only-pairs (for example data/corpus/reviewed_dev_pairs.txt)
    a part of FILE is evaluated; the report says how many rows were left out, and
    --predictions keeps each row's index in FILE.
    """
    from .base import Classifier, NullClassifier
    from .evaluate import format_report, policy_verdicts, predict, prediction_line, report
    from .train import read_rows
    from .trained import TrainedClassifier

    if skip_pairs is not None and only_pairs is not None:
        raise UsageError("give --skip-pairs or --only-pairs, not both")
    rows = read_rows(file)
    indices = list(range(len(rows)))
    selection: dict[str, Any] | None = None
    listed = skip_pairs or only_pairs
    if listed is not None:
        pairs = set(listed.read_text(encoding="utf-8").split())
        keep = only_pairs is not None
        indices = [i for i, row in enumerate(rows) if (row.get("pair") in pairs) == keep]
        selection = {
            "mode": "only_pairs" if keep else "skip_pairs",
            "file": str(listed),
            "pairs_listed": len(pairs),
            "rows_left_out": len(rows) - len(indices),
        }
        rows = [rows[i] for i in indices]
    if not rows:
        raise UsageError(f"{file} has no rows" + (" left after the pair selection" if selection else ""))
    classifier: Classifier
    if artifact == "keywords":
        classifier = NullClassifier()
    else:
        trained = TrainedClassifier(None if artifact == "auto" else Path(artifact))
        trained.load()  # fail here, with ClassifierError, rather than on the first row
        classifier = trained
    verdicts = None if no_policy else policy_verdicts()
    preds = predict(classifier, rows, verdicts)
    rep = report(rows, preds, classifier.version)
    if selection is not None:
        rep["selection"] = selection
    if predictions is not None:
        with predictions.open("w", encoding="utf-8") as fh:
            for i, row, pred in zip(indices, rows, preds, strict=True):
                fh.write(json.dumps(prediction_line(row, pred, i), sort_keys=True, ensure_ascii=False) + "\n")
    if as_json:
        click.echo(json.dumps(rep, indent=2, sort_keys=True))
    else:
        if selection is not None:
            click.echo(
                f"{selection['mode'].replace('_', ' ')} of {selection['file']}: "
                f"{selection['rows_left_out']} rows left out, {len(rows)} evaluated\n"
            )
        click.echo(format_report(rep))
    sys.stdout.flush()
