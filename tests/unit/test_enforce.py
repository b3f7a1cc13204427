"""The enforcement pipeline: signals, counters across requests, fail-closed classifier, trusted decisions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redline.classify.base import Scores
from redline.decision import Decision, Verdict
from redline.enforce import Enforcer
from redline.errors import ClassifierError
from redline.facts import Attributes, Facts, Principal
from redline.policy import default_policy


class FixedClassifier:
    """A real Classifier-protocol object that reports fixed scores (the policy is under test, not the model)."""

    version = "fixed-1"

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def classify(self, facts: Facts) -> Scores:
        return Scores(self.scores, classifier_version=self.version)

    def classify_many(self, batch: Sequence[Facts]) -> list[Scores]:
        return [self.classify(f) for f in batch]


class BrokenClassifier(FixedClassifier):
    def classify(self, facts: Facts) -> Scores:
        raise ClassifierError("model file unreadable")


def test_the_26th_distinct_subject_is_denied_as_mass_surveillance() -> None:
    enforcer = Enforcer(default_policy(), FixedClassifier({"individual_surveillance": 0.9}))
    principal = Principal(tenant="t", app="a", user="analyst")

    async def run() -> list[Decision]:
        out = []
        for i in range(27):
            facts = Facts.from_text(
                "pull the records of this person",
                principal=principal,
                attributes=Attributes(legal_authority="W-1", subject=f"person-{i}"),
                now=1_800_000_000 + i,
            )
            out.append(await enforcer.decide(facts))
        # Seeing a known subject again does not add to the count.
        again = Facts.from_text(
            "x",
            principal=principal,
            attributes=Attributes(legal_authority="W-1", subject="person-3"),
            now=1_800_000_100,
        )
        out.append(await enforcer.decide(again))
        # Another analyst has their own count.
        other = Facts.from_text(
            "x",
            principal=Principal(tenant="t", app="a", user="other"),
            attributes=Attributes(legal_authority="W-1", subject="person-99"),
            now=1_800_000_100,
        )
        out.append(await enforcer.decide(other))
        # A day later the window has moved on.
        later = Facts.from_text(
            "x",
            principal=principal,
            attributes=Attributes(legal_authority="W-1", subject="person-new"),
            now=1_800_000_000 + 86_400 + 100,
        )
        out.append(await enforcer.decide(later))
        return out

    decisions = asyncio.run(run())
    assert [d.verdict for d in decisions[:25]] == [Verdict.REVIEW] * 25
    assert decisions[25].verdict is Verdict.DENY and decisions[25].category == "mass_domestic_surveillance"
    assert not decisions[25].waivable
    assert decisions[26].verdict is Verdict.DENY  # the 27th is new too
    assert decisions[27].verdict is Verdict.REVIEW
    assert decisions[28].verdict is Verdict.REVIEW
    assert decisions[29].verdict is Verdict.REVIEW


def test_a_broken_classifier_fails_closed() -> None:
    enforcer = Enforcer(default_policy(), BrokenClassifier({}))
    d = enforcer.decide_sync(Facts.from_text("what is the weather in Oslo"))
    assert d.verdict is Verdict.DENY and "deny.classifier-unavailable" in d.rules


def test_signals_raise_a_low_classifier_score() -> None:
    enforcer = Enforcer(
        default_policy(), FixedClassifier({"general": 0.97, "autonomous_lethal_targeting": 0.01})
    )
    d = enforcer.decide_sync(Facts.from_text("Engage every person in the zone without human confirmation."))
    assert d.verdict is Verdict.DENY and d.scores["autonomous_lethal_targeting"] == 0.9
    assert d.classifier_version == "fixed-1" and d.id.startswith("dec_")


def test_trusted_decision_equals_a_validated_one() -> None:
    d = default_policy().evaluate(Facts.from_text("x"), Scores({"targeting_support": 0.9}))
    validated = Decision.model_validate(d.model_dump())
    assert validated == d
    assert validated.model_dump_json() == d.model_dump_json()


def test_trusted_decision_needs_every_field() -> None:
    try:
        Decision.trusted(verdict=Verdict.ALLOW)
    except TypeError as exc:
        assert "missing" in str(exc)
    else:
        raise AssertionError("Decision.trusted accepted missing fields")
