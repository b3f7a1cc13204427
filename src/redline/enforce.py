"""The enforcement pipeline: facts → normalise → classify → counters → policy → ledger.

``Enforcer.decide`` is the one path every face (gateway, ``/v1/check``, the
library, the CLI) goes through. A decision is returned only after its ledger
entry is durable, when a recorder is configured. Failures close: a classifier
failure becomes the ``classifier_unavailable`` signal the policy denies on; a
ledger failure raises ``LedgerUnavailableError`` and no decision is released.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from .classify.base import Classifier, NullClassifier, Scores
from .classify.normalize import normalize
from .counters import CounterStore, MemoryCounters
from .decision import Decision, Verdict
from .errors import ClassifierError
from .facts import Facts, Stage
from .policy.compiled import CLASSIFIER_UNAVAILABLE, CompiledPolicy


class Recorder(Protocol):
    async def record_decision(self, facts: Facts, decision: Decision) -> int:
        """Append the decision to the ledger; return its index once durable."""
        ...


def with_signals(
    policy: CompiledPolicy, facts: Facts, scores: Scores, classifier_failed: bool = False
) -> Scores:
    """``scores`` raised to the floors of the policy's keyword signals that match the facts' text.

    At the input stage the two turns before the latest are matched too, so a red
    line spelt out across turns still fires. Pure.
    """
    text = facts.text()
    if facts.stage is Stage.INPUT and facts.messages:
        context = facts.context_text(turns=2)
        text = f"{context}\n{text}" if context else text
    floors, fired = policy.match_signals(normalize(text), facts.stage)
    if classifier_failed:
        fired = (*fired, CLASSIFIER_UNAVAILABLE)
    if not floors and not fired:
        return scores
    merged = dict(scores.categories)
    for category, floor in floors.items():
        if merged.get(category, 0.0) < floor:
            merged[category] = floor
    return replace(scores, categories=merged, signals=(*scores.signals, *fired))


def new_decision_id(now: float) -> str:
    """A time-ordered, unguessable id: 12 hex digits of milliseconds, then 16 random."""
    return f"dec_{int(now * 1000):012x}{os.urandom(8).hex()}"


class Enforcer:
    """Decides facts against one compiled policy with one classifier."""

    def __init__(
        self,
        policy: CompiledPolicy,
        classifier: Classifier | None = None,
        *,
        counters: CounterStore | None = None,
        recorder: Recorder | None = None,
        clock: Callable[[], float] = time.time,
        classify_in_thread: bool = True,
    ) -> None:
        self.policy = policy
        self.classifier: Classifier = classifier or NullClassifier()
        self.counters: CounterStore = counters or MemoryCounters()
        self.recorder = recorder
        self.clock = clock
        self._in_thread = classify_in_thread

    def _measure(self, facts: Facts) -> Scores:
        """Classifier scores merged with the policy's keyword signals (score floors)."""
        failed = False
        try:
            scores = self.classifier.classify(facts)
        except ClassifierError:
            scores, failed = (
                Scores(uncertain=True, language="unknown", classifier_version=self.classifier.version),
                True,
            )
        return self._with_signals(facts, scores, failed)

    def _with_signals(self, facts: Facts, scores: Scores, failed: bool = False) -> Scores:
        return with_signals(self.policy, facts, scores, failed)

    def prepare(self, facts: Facts) -> Facts:
        """Facts with ``now`` filled in from the clock when the caller left it at 0."""
        return facts if facts.now else facts.model_copy(update={"now": self.clock()})

    async def decide(self, facts: Facts) -> Decision:
        """Decide, record durably (when a recorder is set), and return the decision."""
        facts = self.prepare(facts)
        t0 = time.perf_counter()
        if self._in_thread:
            scores = await asyncio.to_thread(self._measure, facts)
        else:
            scores = self._measure(facts)
        t1 = time.perf_counter()
        return await self._finish(facts, scores, t0, t1)

    async def decide_scored(self, facts: Facts, scores: Scores) -> Decision:
        """Decide with classifier scores computed elsewhere (batch paths); signals still apply."""
        facts = self.prepare(facts)
        t0 = time.perf_counter()
        return await self._finish(facts, self._with_signals(facts, scores), t0, t0)

    async def _finish(self, facts: Facts, scores: Scores, t0: float, t1: float) -> Decision:
        category = self.policy.categorise(scores)
        queries = self.policy.counter_queries(facts, category)
        values: dict[str, int] = {}
        for q in queries:
            values[q.name] = await self.counters.distinct(
                q.name, q.principal_key, q.subject, facts.now - q.window_s
            )
        decision = self.policy.evaluate(facts, scores, values)
        t2 = time.perf_counter()
        decision = decision.model_copy(
            update={
                "id": new_decision_id(facts.now),
                "timings": {
                    "classify_ms": round((t1 - t0) * 1000, 3),
                    "policy_ms": round((t2 - t1) * 1000, 3),
                },
            }
        )
        if self.recorder is not None:
            await self.recorder.record_decision(facts, decision)
            decision.timings["ledger_ms"] = round((time.perf_counter() - t2) * 1000, 3)
        if decision.verdict is not Verdict.DENY:
            for q in queries:
                await self.counters.observe(q.name, q.principal_key, q.subject, facts.now)
        return decision

    def decide_sync(self, facts: Facts) -> Decision:
        """``decide`` for callers without an event loop (library, CLI)."""
        return asyncio.run(self.decide(facts))
