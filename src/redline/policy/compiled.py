"""A compiled policy: evaluated many times, as a pure function.

``CompiledPolicy.evaluate(facts, scores, counters)`` reads nothing but its
arguments: no clock, no I/O, no randomness. Precedence is explicit: every rule
whose conditions hold *matches*; the verdict is the most severe among the
matches (deny > review > allow), or the policy's ``default_verdict`` when none
matches. A provider denial is a deny too. Reasons, approvals and the reported
category come from the matches of the winning verdict.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ..classify.base import Scores
from ..decision import Approvals, Decision, PolicyRef, Route, Verdict
from ..facts import Attributes, Facts, Stage, ToolCall

UNDECLARED_EFFECT = "undeclared"
CLASSIFIER_UNAVAILABLE = "classifier_unavailable"
#: Set by the classifier when the whole text reads as allowed but a window of a long
#: text reads as a red line or a review category (see ``classify.trained.windows``).
WINDOW_RISK = "window_risk"
#: Set by the classifier when the latest user turn reads as allowed but an earlier user turn
#: of the conversation, read on its own, reads as a red line or a review category.
CONTEXT_RISK = "context_risk"
#: Set beside ``context_risk`` when one of those earlier turns reads as a red line (not only
#: a review category): a policy that wants fewer reviews can hold only these.
CONTEXT_RED_LINE = "context_red_line"

AttributePredicate = Callable[[str | None], bool]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule, with its conditions turned into cheap checks."""

    id: str
    verdict: Verdict
    waivable: bool
    reason: str
    origin: str
    description: str = ""
    approvals: Approvals | None = None
    as_category: str | None = None
    stages: frozenset[Stage] | None = None
    categories: frozenset[str] | None = None
    attributes: tuple[tuple[str, AttributePredicate, str], ...] = ()
    effects: frozenset[str] | None = None
    counter: tuple[str, int] | None = None
    uncertain: bool | None = None
    score: tuple[tuple[str, ...], float] | None = None
    signals: frozenset[str] | None = None
    conditions: tuple[str, ...] = ()

    def matches(
        self,
        stage: Stage,
        category: str,
        attributes: Attributes,
        effects: frozenset[str],
        counters: Mapping[str, int],
        scores: Scores,
    ) -> bool:
        if self.stages is not None and stage not in self.stages:
            return False
        if self.categories is not None and category not in self.categories:
            return False
        for name, predicate, _ in self.attributes:
            if not predicate(attributes.get(name)):
                return False
        if self.effects is not None and self.effects.isdisjoint(effects):
            return False
        if self.counter is not None and counters.get(self.counter[0], 0) <= self.counter[1]:
            return False
        if self.uncertain is not None and scores.uncertain != self.uncertain:
            return False
        if self.score is not None:
            names, floor = self.score
            if not any(scores.get(n) >= floor for n in names):
                return False
        return not (self.signals is not None and self.signals.isdisjoint(scores.signals))


@dataclass(frozen=True, slots=True)
class CompiledSignal:
    id: str
    category: str
    score: float
    regex: re.Pattern[str]
    stages: frozenset[Stage] | None


@dataclass(frozen=True, slots=True)
class CounterQuery:
    """A counter the pipeline must look up before evaluation."""

    name: str
    principal_key: str
    subject: str
    window_s: float


@dataclass(frozen=True, slots=True)
class CompiledCounter:
    name: str
    attribute: str
    window_s: float
    per: str
    categories: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    id: str
    pattern: str
    to_model: str | None
    to_vendor: str | None


@dataclass(frozen=True)
class CompiledPolicy:
    """The result of compiling a base policy and its overlays. Immutable."""

    ref: PolicyRef
    categories: tuple[tuple[str, float], ...]
    red_lines: frozenset[str]
    default_category: str
    default_verdict: Verdict
    rules: tuple[CompiledRule, ...]
    signals: tuple[CompiledSignal, ...]
    counters: tuple[CompiledCounter, ...]
    tools_exact: Mapping[str, str]
    tools_glob: tuple[tuple[str, str], ...]
    effects: frozenset[str]
    vendor_denials: Mapping[str, str]
    routes: tuple[CompiledRoute, ...]
    layers: tuple[str, ...] = field(default=())
    rules_by_category: Mapping[str, tuple[CompiledRule, ...]] = field(default_factory=dict)
    """For each category, the rules that can match it (in file order): an index, not semantics."""

    def __post_init__(self) -> None:
        index = {
            name: tuple(r for r in self.rules if r.categories is None or name in r.categories)
            for name, _ in self.categories
        }
        object.__setattr__(self, "rules_by_category", index)

    # -- steps before evaluation (pure too, but separate so scores can be precomputed) --

    def match_signals(
        self, normalized_text: str, stage: Stage = Stage.INPUT
    ) -> tuple[dict[str, float], tuple[str, ...]]:
        """Score floors and ids of the keyword signals that match ``normalized_text``."""
        floors: dict[str, float] = {}
        fired: list[str] = []
        for signal in self.signals:
            if signal.stages is not None and stage not in signal.stages:
                continue
            if signal.regex.search(normalized_text):
                fired.append(signal.id)
                if floors.get(signal.category, 0.0) < signal.score:
                    floors[signal.category] = signal.score
        return floors, tuple(fired)

    def categorise(self, scores: Scores) -> str:
        """The first category, most severe first, whose score reaches its threshold."""
        values = scores.categories
        for name, threshold in self.categories:
            score = values.get(name, 0.0)
            if score >= threshold and score > 0.0:
                return name
        return self.default_category

    def tool_effect(self, name: str) -> str:
        """The declared effect of a tool: by exact name, else by the longest matching glob."""
        effect = self.tools_exact.get(name)
        if effect is not None:
            return effect
        lowered = name.lower()
        for pattern, glob_effect in self.tools_glob:
            if fnmatch.fnmatchcase(lowered, pattern):
                return glob_effect
        return UNDECLARED_EFFECT

    def effects_of(self, calls: Iterable[ToolCall]) -> frozenset[str]:
        return frozenset(self.tool_effect(c.name) for c in calls)

    def counter_queries(self, facts: Facts, category: str) -> list[CounterQuery]:
        """The counters that apply to these facts in this category."""
        queries = []
        for counter in self.counters:
            if counter.categories and category not in counter.categories:
                continue
            subject = facts.attributes.get(counter.attribute)
            if not subject:
                continue
            p = facts.principal
            key = {"tenant": p.tenant, "app": f"{p.tenant}/{p.app}"}.get(counter.per, p.key())
            queries.append(CounterQuery(counter.name, key, subject, counter.window_s))
        return queries

    def route(self, model: str | None) -> Route | None:
        """Where a provider directive sends a request for ``model``, if anywhere."""
        if not model:
            return None
        for r in self.routes:
            if fnmatch.fnmatchcase(model, r.pattern):
                return Route(model=r.to_model or model, vendor=r.to_vendor, rule=r.id)
        return None

    # -- the pure function --

    def evaluate(self, facts: Facts, scores: Scores, counters: Mapping[str, int] | None = None) -> Decision:
        """Decide. Pure: the same arguments always give the same decision."""
        counters = counters or {}
        category = self.categorise(scores)
        effects = self.effects_of(facts.tool_calls) if facts.tool_calls else frozenset()
        candidates = self.rules_by_category.get(category, self.rules)
        matched = [
            r
            for r in candidates
            if r.matches(facts.stage, category, facts.attributes, effects, counters, scores)
        ]
        route = self.route(facts.target.model) if self.routes else None
        vendor = (route.vendor if route and route.vendor else None) or facts.target.vendor
        denial = self.vendor_denials.get(vendor.lower()) if vendor and self.vendor_denials else None

        verdict = self.default_verdict
        if matched:
            severity = -1
            for r in matched:
                if r.verdict.severity > severity:
                    verdict, severity = r.verdict, r.verdict.severity
        code: str | None = None
        rule_ids = tuple(r.id for r in matched)
        reasons: list[str] = []
        if denial is not None:
            verdict = Verdict.DENY
            code = "provider_denied"
            rule_ids = (f"provider.deny.{vendor}", *rule_ids)
            reasons.append(f"vendor {vendor!r} is denied by policy: {denial}")
        winners = [r for r in matched if r.verdict is verdict]
        reasons.extend(r.reason for r in winners if r.reason)
        for relabel in winners:
            if relabel.as_category:
                category = relabel.as_category
                break
        waivable = not any(not r.waivable for r in winners if r.verdict is Verdict.DENY)
        approvals = None
        if verdict is Verdict.REVIEW:
            specs = [r.approvals for r in winners if r.approvals]
            approvals = specs[0] if len(specs) == 1 else _combine_approvals(specs)
        if code is None and verdict is not Verdict.ALLOW:
            code = "policy_denied" if verdict is Verdict.DENY else "review_required"
        if not reasons:
            reasons.append(
                f"no rule matched; the policy's default verdict is {verdict.value}"
                if not matched
                else f"{verdict.value} by rule {winners[0].id}"
            )
        return Decision.trusted(
            id="",
            verdict=verdict,
            code=code,
            stage=facts.stage,
            category=category,
            scores=dict(scores.categories),
            uncertain=scores.uncertain,
            language=scores.language,
            rules=rule_ids,
            reasons=tuple(reasons),
            waivable=waivable,
            approvals=approvals,
            route=route,
            policy=self.ref,
            classifier_version=scores.classifier_version,
            timings={},
        )

    def explain(self) -> list[CompiledRule]:
        """Rules in precedence order: deny first, then review, then allow; file order within."""
        return sorted(self.rules, key=lambda r: -r.verdict.severity)


def _combine_approvals(specs: list[Approvals]) -> Approvals:
    if not specs:
        return Approvals()
    roles: list[str] = []
    for spec in specs:
        roles.extend(r for r in spec.roles if r not in roles)
    return Approvals(
        count=max(s.count for s in specs),
        roles=tuple(roles),
        min_deliberation_s=max(s.min_deliberation_s for s in specs),
        expires_s=min(s.expires_s for s in specs),
    )
