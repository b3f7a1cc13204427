"""Compiling policy documents (a base and its overlays) into a ``CompiledPolicy``.

Compilation finds every problem it can in one pass and reports them all as
data (``CompileIssue``: code, file:line, message). Overlays are checked against
their base: they may tighten (lower thresholds, add review/deny rules, signals,
counters, vendor denials, declare new tools) and are rejected with
``overlay_loosens`` when they try to loosen anything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from ..decision import Approvals, PolicyRef, Verdict
from ..errors import CompileIssue, OverlayLoosensError, PolicyCompileError
from .compiled import (
    CLASSIFIER_UNAVAILABLE,
    CONTEXT_RED_LINE,
    CONTEXT_RISK,
    UNDECLARED_EFFECT,
    WINDOW_RISK,
    AttributePredicate,
    CompiledCounter,
    CompiledPolicy,
    CompiledRoute,
    CompiledRule,
    CompiledSignal,
)
from .document import AttributeTest, CategorySpec, CounterSpec, PolicyDocument, Rule, Signal
from .loader import LoadedDocument


def compile_documents(base: LoadedDocument, overlays: Sequence[LoadedDocument] = ()) -> CompiledPolicy:
    """Compile ``base`` with ``overlays`` applied in order; raise ``PolicyCompileError`` listing every issue."""
    issues: list[CompileIssue] = []
    if base.document.overlay:
        issues.append(
            _issue(
                base,
                ("overlay",),
                "policy_not_base",
                "this file is an overlay; load it on top of a base policy",
            )
        )
    rules: list[tuple[Rule, LoadedDocument, int]] = [(r, base, i) for i, r in enumerate(base.document.rules)]
    doc = base.document
    categories = dict(doc.categories)
    effects = list(doc.effects)
    tools = dict(doc.tools)
    signals = [(s, base, i) for i, s in enumerate(doc.signals)]
    counters = dict(doc.counters)
    denials = list(doc.providers.deny)
    routes = list(doc.providers.route)
    default_verdict = doc.default_verdict
    loosening: list[CompileIssue] = []
    for overlay in overlays:
        _merge_overlay(base, overlay, categories, effects, tools, signals, counters, rules, loosening, issues)
        denials.extend(overlay.document.providers.deny)
        routes.extend(overlay.document.providers.route)
        if (
            "default_verdict" in overlay.data
            and overlay.document.default_verdict.severity > default_verdict.severity
        ):
            default_verdict = overlay.document.default_verdict
    if loosening:
        raise OverlayLoosensError(loosening)

    known_effects = {*effects, UNDECLARED_EFFECT}
    known_signals = {s.id for s, _, _ in signals} | {
        CLASSIFIER_UNAVAILABLE,
        WINDOW_RISK,
        CONTEXT_RISK,
        CONTEXT_RED_LINE,
    }

    def check_category(name: str, where: LoadedDocument, path: tuple[str | int, ...]) -> None:
        if name not in categories:
            known = ", ".join(categories) or "none"
            issues.append(
                _issue(
                    where, path, "policy_unknown_category", f"unknown category {name!r} (defined: {known})"
                )
            )

    if not categories:
        issues.append(
            _issue(
                base, ("categories",), "policy_invalid_value", "a policy must define at least one category"
            )
        )
    else:
        check_category(doc.default_category, base, ("default_category",))
    for name, effect in tools.items():
        if effect not in known_effects:
            issues.append(
                _issue(
                    base,
                    ("tools", name),
                    "policy_unknown_effect",
                    f"tool {name!r} declares undefined effect {effect!r}",
                )
            )

    compiled_signals: list[CompiledSignal] = []
    seen_signals: set[str] = set()
    for signal, where, i in signals:
        path: tuple[str | int, ...] = ("signals", i)
        if signal.id in seen_signals:
            issues.append(
                _issue(where, path, "policy_duplicate_signal", f"signal id {signal.id!r} is defined twice")
            )
        seen_signals.add(signal.id)
        check_category(signal.category, where, (*path, "category"))
        alternatives = list(signal.patterns) + [
            rf"(?<!\w){re.escape(k.casefold())}(?!\w)" for k in signal.keywords
        ]
        if not alternatives:
            issues.append(
                _issue(
                    where, path, "policy_invalid_value", f"signal {signal.id!r} has no patterns or keywords"
                )
            )
            continue
        try:
            regex = re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
        except re.error as exc:
            issues.append(
                _issue(where, path, "policy_invalid_regex", f"signal {signal.id!r}: invalid regex: {exc}")
            )
            continue
        stages = frozenset(signal.stages) if signal.stages else None
        compiled_signals.append(CompiledSignal(signal.id, signal.category, signal.score, regex, stages))

    compiled_counters = []
    for name, spec in counters.items():
        for cat in spec.categories:
            check_category(cat, base, ("counters", name, "categories"))
        compiled_counters.append(
            CompiledCounter(name, spec.attribute, spec.window, spec.per, frozenset(spec.categories))
        )

    compiled_rules: list[CompiledRule] = []
    seen_rules: set[str] = set()
    for rule, where, i in rules:
        path = ("rules", i)
        if rule.id in seen_rules:
            issues.append(
                _issue(where, path, "policy_duplicate_rule", f"rule id {rule.id!r} is defined twice")
            )
        seen_rules.add(rule.id)
        compiled_rules.append(
            _compile_rule(
                rule, where, path, check_category, known_effects, set(counters), known_signals, issues
            )
        )

    for name, cat_spec in categories.items():
        if cat_spec.red_line and not any(_enforces_red_line(r, name) for r, _, _ in rules):
            issues.append(
                _issue(
                    base,
                    ("categories", name),
                    "policy_red_line_unenforced",
                    f"red line {name!r} needs a rule with only 'when: {{category: {name}}}', verdict deny and waivable: false",
                )
            )
    if issues:
        raise PolicyCompileError(issues)

    digest = hashlib.sha256(base.hash.encode())
    for overlay in overlays:
        digest.update(b"\n" + overlay.hash.encode())
    policy_hash = base.hash if not overlays else "sha256:" + digest.hexdigest()
    order = _category_order(categories, rules)
    return CompiledPolicy(
        ref=PolicyRef(name=doc.name, version=doc.version, hash=policy_hash),
        categories=tuple((c, categories[c].threshold) for c in order),
        red_lines=frozenset(c for c in order if categories[c].red_line),
        default_category=doc.default_category,
        default_verdict=default_verdict,
        rules=tuple(compiled_rules),
        signals=tuple(compiled_signals),
        counters=tuple(compiled_counters),
        tools_exact={k: v for k, v in tools.items() if not _is_glob(k)},
        # Most specific (longest) glob first, so file order never changes meaning.
        tools_glob=tuple(
            sorted(
                ((k.lower(), v) for k, v in tools.items() if _is_glob(k)), key=lambda kv: (-len(kv[0]), kv[0])
            )
        ),
        effects=frozenset(known_effects),
        vendor_denials={d.vendor.lower(): d.reason for d in denials},
        routes=tuple(
            CompiledRoute(r.id or f"provider.route.{r.model}", r.model, r.to_model, r.to_vendor)
            for r in routes
        ),
        layers=(base.source.file, *(o.source.file for o in overlays)),
    )


def _category_order(
    categories: dict[str, CategorySpec], rules: list[tuple[Rule, LoadedDocument, int]]
) -> list[str]:
    """Most severe first: red lines, then by the most severe verdict any rule gives the
    category, then by name. Derived from meaning, never from the file's key order, so
    canonical bytes (which sort keys) and behaviour agree."""
    worst: dict[str, int] = dict.fromkeys(categories, 0)
    for rule, _, _ in rules:
        for cat in rule.when.category or []:
            if cat in worst:
                worst[cat] = max(worst[cat], rule.verdict.severity)
    return sorted(categories, key=lambda c: (not categories[c].red_line, -worst[c], c))


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def _enforces_red_line(rule: Rule, category: str) -> bool:
    when = rule.when
    others = when.model_dump(exclude={"category"}, exclude_defaults=True)
    return rule.verdict is Verdict.DENY and not rule.waivable and when.category == [category] and not others


def _issue(where: LoadedDocument, path: tuple[str | int, ...], code: str, message: str) -> CompileIssue:
    dotted = ".".join(str(p) for p in path)
    return CompileIssue(code, message, where.source.file, where.source.line_of(path), dotted)


def _attribute_predicate(test: AttributeTest) -> tuple[AttributePredicate, str]:
    if test.present is not None:
        want = test.present
        return (lambda v: (v is not None) is want), ("present" if want else "missing")
    if test.equals is not None:
        eq = test.equals
        return (lambda v: v == eq), f"== {eq!r}"
    if test.not_equals is not None:
        ne = test.not_equals
        return (lambda v: v != ne), f"!= {ne!r}"
    if test.in_ is not None:
        allowed = frozenset(test.in_)
        return (lambda v: v in allowed), f"in {sorted(allowed)}"
    if test.not_in is not None:
        banned = frozenset(test.not_in)
        return (lambda v: v not in banned), f"not in {sorted(banned)}"
    raise ValueError("empty attribute test")


def _compile_rule(
    rule: Rule,
    where: LoadedDocument,
    path: tuple[str | int, ...],
    check_category: object,
    known_effects: set[str],
    known_counters: set[str],
    known_signals: set[str],
    issues: list[CompileIssue],
) -> CompiledRule:
    assert callable(check_category)
    when = rule.when
    conditions: list[str] = []
    for cat in when.category or []:
        check_category(cat, where, (*path, "when", "category"))
    if when.category:
        conditions.append(f"category in {when.category}")
    if rule.as_category:
        check_category(rule.as_category, where, (*path, "as_category"))
    for effect in when.tool_effect or []:
        if effect not in known_effects:
            issues.append(
                _issue(
                    where,
                    (*path, "when", "tool_effect"),
                    "policy_unknown_effect",
                    f"rule {rule.id!r} references undefined effect {effect!r}",
                )
            )
    if when.tool_effect:
        conditions.append(f"tool effect in {when.tool_effect}")
    if when.counter and when.counter.name not in known_counters:
        issues.append(
            _issue(
                where,
                (*path, "when", "counter"),
                "policy_unknown_counter",
                f"rule {rule.id!r} references undefined counter {when.counter.name!r}",
            )
        )
    for sig in when.signal or []:
        if sig not in known_signals:
            issues.append(
                _issue(
                    where,
                    (*path, "when", "signal"),
                    "policy_unknown_signal",
                    f"rule {rule.id!r} references undefined signal {sig!r}",
                )
            )
    if when.score:
        for cat in when.score.category:
            check_category(cat, where, (*path, "when", "score"))
    if rule.approvals is not None and rule.verdict is not Verdict.REVIEW:
        issues.append(
            _issue(
                where,
                (*path, "approvals"),
                "policy_invalid_value",
                f"rule {rule.id!r}: approvals apply only to review rules",
            )
        )
    if not rule.waivable and rule.verdict is not Verdict.DENY:
        issues.append(
            _issue(
                where,
                (*path, "waivable"),
                "policy_invalid_value",
                f"rule {rule.id!r}: only deny rules can be non-waivable",
            )
        )
    attributes = []
    for name, test in when.attributes.items():
        set_fields = [
            f for f in ("equals", "not_equals", "in_", "not_in", "present") if getattr(test, f) is not None
        ]
        if len(set_fields) != 1:
            issues.append(
                _issue(
                    where,
                    (*path, "when", "attributes", name),
                    "policy_invalid_value",
                    f"attribute test on {name!r} needs exactly one of equals, not_equals, in, not_in, present",
                )
            )
            continue
        predicate, text = _attribute_predicate(test)
        attributes.append((name, predicate, text))
        conditions.append(f"attribute {name} {text}")
    if when.stage:
        conditions.append(f"stage in {[s.value for s in when.stage]}")
    if when.counter:
        conditions.append(f"counter {when.counter.name} > {when.counter.above}")
    if when.uncertain is not None:
        conditions.append(f"uncertain is {when.uncertain}")
    if when.score:
        conditions.append(f"score of any of {when.score.category} >= {when.score.at_least}")
    if when.signal:
        conditions.append(f"signal in {when.signal}")
    approvals = None
    if rule.verdict is Verdict.REVIEW:
        spec = rule.approvals
        approvals = (
            Approvals(
                count=spec.count,
                roles=tuple(spec.roles),
                min_deliberation_s=spec.min_deliberation,
                expires_s=spec.expires,
            )
            if spec
            else Approvals()
        )
    line = where.source.line_of(path)
    return CompiledRule(
        id=rule.id,
        verdict=rule.verdict,
        waivable=rule.waivable,
        reason=rule.reason,
        origin=f"{where.source.file}:{line}" if line else where.source.file,
        description=rule.description,
        approvals=approvals,
        as_category=rule.as_category,
        stages=frozenset(when.stage) if when.stage else None,
        categories=frozenset(when.category) if when.category else None,
        attributes=tuple(attributes),
        effects=frozenset(when.tool_effect) if when.tool_effect else None,
        counter=(when.counter.name, when.counter.above) if when.counter else None,
        uncertain=when.uncertain,
        score=(tuple(when.score.category), when.score.at_least) if when.score else None,
        signals=frozenset(when.signal) if when.signal else None,
        conditions=tuple(conditions) or ("always",),
    )


def _merge_overlay(
    base: LoadedDocument,
    overlay: LoadedDocument,
    categories: dict[str, CategorySpec],
    effects: list[str],
    tools: dict[str, str],
    signals: list[tuple[Signal, LoadedDocument, int]],
    counters: dict[str, CounterSpec],
    rules: list[tuple[Rule, LoadedDocument, int]],
    loosening: list[CompileIssue],
    issues: list[CompileIssue],
) -> None:
    o: PolicyDocument = overlay.document
    b = base.document

    def loosens(path: tuple[str | int, ...], message: str) -> None:
        loosening.append(_issue(overlay, path, "overlay_loosens", message))

    if not o.overlay:
        issues.append(
            _issue(
                overlay,
                ("overlay",),
                "policy_not_overlay",
                "a file loaded on top of a policy must say 'overlay: true'",
            )
        )
        return
    if o.extends is not None and o.extends != b.name:
        issues.append(
            _issue(
                overlay,
                ("extends",),
                "overlay_wrong_base",
                f"overlay extends {o.extends!r} but the base policy is {b.name!r}",
            )
        )
    if "default_category" in overlay.data and o.default_category != b.default_category:
        loosens(("default_category",), "an overlay may not change the default category")
    if "default_verdict" in overlay.data and o.default_verdict.severity < b.default_verdict.severity:
        loosens(
            ("default_verdict",),
            f"an overlay may not lower the default verdict below {b.default_verdict.value}",
        )
    for name, spec in o.categories.items():
        base_spec = b.categories.get(name)
        if base_spec is None:
            issues.append(
                _issue(
                    overlay,
                    ("categories", name),
                    "policy_unknown_category",
                    f"overlay names category {name!r} that the base does not define",
                )
            )
            continue
        kind = "red line" if base_spec.red_line else "category"
        if spec.threshold > base_spec.threshold:
            loosens(
                ("categories", name, "threshold"),
                f"raising the threshold of {kind} {name!r} from {base_spec.threshold} to {spec.threshold} would loosen it",
            )
        if base_spec.red_line and "red_line" in overlay.data["categories"][name] and not spec.red_line:
            loosens(
                ("categories", name, "red_line"), f"{name!r} is a red line; an overlay cannot remove that"
            )
        categories[name] = base_spec.model_copy(
            update={"threshold": min(spec.threshold, base_spec.threshold)}
        )
    effects.extend(e for e in o.effects if e not in effects)
    for name, effect in o.tools.items():
        if name in tools and tools[name] != effect:
            loosens(
                ("tools", name),
                f"tool {name!r} is declared {tools[name]!r} by the base; an overlay cannot re-declare it",
            )
        tools.setdefault(name, effect)
    signals.extend((s, overlay, i) for i, s in enumerate(o.signals))
    for name, counter_spec in o.counters.items():
        if name in counters:
            loosens(
                ("counters", name), f"counter {name!r} is defined by the base; an overlay cannot redefine it"
            )
        counters.setdefault(name, counter_spec)
    base_ids = {r.id for r, _, _ in rules}
    for i, rule in enumerate(o.rules):
        if rule.id in base_ids:
            loosens(
                ("rules", i, "id"), f"rule {rule.id!r} is defined by the base; an overlay cannot redefine it"
            )
            continue
        if rule.verdict is Verdict.ALLOW:
            loosens(
                ("rules", i, "verdict"),
                f"overlay rule {rule.id!r} says allow; overlays may only add review or deny rules",
            )
            continue
        rules.append((rule, overlay, i))
