"""Click commands for the CLI: ``redline train`` and ``redline eval``.

The lead's ``redline.cli`` registers :data:`train` as ``redline train`` and
:data:`eval_` as ``redline eval``. Errors surface as ``RedlineError`` subclasses
(the CLI maps them to messages and exit codes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
def eval_(file: Path, artifact: str, as_json: bool, predictions: Path | None, no_policy: bool) -> None:
    """Evaluate the classifier and the default policy's verdicts on labelled rows."""
    from .base import Classifier, NullClassifier
    from .evaluate import format_report, policy_verdicts, predict, prediction_line, report
    from .train import read_rows
    from .trained import TrainedClassifier

    rows = read_rows(file)
    if not rows:
        raise UsageError(f"{file} has no rows")
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
    if predictions is not None:
        with predictions.open("w", encoding="utf-8") as fh:
            for i, (row, pred) in enumerate(zip(rows, preds, strict=True)):
                fh.write(json.dumps(prediction_line(row, pred, i), sort_keys=True, ensure_ascii=False) + "\n")
    if as_json:
        click.echo(json.dumps(rep, indent=2, sort_keys=True))
    else:
        click.echo(format_report(rep))
    sys.stdout.flush()
