"""The ``Classifier`` protocol and the ``Scores`` it returns.

A classifier places facts in a category of the taxonomy with calibrated
per-category probabilities. It runs locally and offline. The policy decides what
a score means (thresholds, routing of uncertain text); the classifier only
measures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..facts import Facts

#: The categories of the default taxonomy (shared/TAXONOMY.md), most severe first.
CATEGORIES: tuple[str, ...] = (
    "mass_domestic_surveillance",
    "autonomous_lethal_targeting",
    "targeting_support",
    "individual_surveillance",
    "defensive_counter_materiel",
    "military_general",
    "foreign_intelligence",
    "policy_speech",
    "general",
)
RED_LINES: tuple[str, ...] = ("mass_domestic_surveillance", "autonomous_lethal_targeting")
REVIEW_CATEGORIES: tuple[str, ...] = ("targeting_support", "individual_surveillance")


@dataclass(frozen=True, slots=True)
class Scores:
    """A classifier's measurement of one set of facts.

    ``categories`` maps category name to a calibrated probability (they need not
    cover every category; a missing one counts as 0). ``uncertain`` is true when
    the classifier could not read the text confidently (low confidence, unknown
    language). ``signals`` lists the ids of keyword signals that fired.
    """

    categories: Mapping[str, float] = field(default_factory=dict)
    uncertain: bool = False
    language: str = "en"
    signals: tuple[str, ...] = ()
    classifier_version: str = "none"

    def get(self, category: str) -> float:
        return float(self.categories.get(category, 0.0))

    def top(self) -> tuple[str, float]:
        if not self.categories:
            return ("general", 0.0)
        name = max(self.categories, key=lambda c: self.categories[c])
        return (name, float(self.categories[name]))


@runtime_checkable
class Classifier(Protocol):
    """What the enforcement pipeline needs from a classifier.

    Implementations must be safe to call from several threads, must not touch
    the network, and must raise ``ClassifierError`` rather than return made-up
    scores when they cannot work.
    """

    @property
    def version(self) -> str:
        """A short string naming the model artifact; it appears in every decision."""
        ...

    def classify(self, facts: Facts) -> Scores:
        """Scores for one set of facts (judged on ``facts.text()`` with context)."""
        ...

    def classify_many(self, batch: Sequence[Facts]) -> list[Scores]:
        """Scores for many facts, in order; faster per item than ``classify``."""
        ...


class NullClassifier:
    """Measures nothing: every decision rests on the policy's keyword signals alone.

    This is the keyword floor of the pipeline, useful as a baseline and when no
    trained model is installed.
    """

    version = "keywords-only"

    def classify(self, facts: Facts) -> Scores:
        return Scores(classifier_version=self.version)

    def classify_many(self, batch: Sequence[Facts]) -> list[Scores]:
        return [self.classify(f) for f in batch]
