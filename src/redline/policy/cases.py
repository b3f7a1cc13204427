"""Data-driven policy cases: YAML files of (policy, facts, scores, want).

A case file looks like::

    policy: default            # 'default', a path relative to the file, or an inline mapping
    overlays: []               # optional: paths or inline mappings
    cases:
      - name: mass surveillance is denied
        facts: {text: "…", stage: input, attributes: {legal_authority: W-1}}
        scores: {mass_domestic_surveillance: 0.9}
        uncertain: false
        signals: []              # optional: signals the classifier itself reported (window_risk)
        counters: {distinct_subjects: 3}
        want: {verdict: deny, category: mass_domestic_surveillance, rules: [red-line.x], waivable: false}
      - name: unknown category is a compile error
        policy: {…inline…}
        want: {error: policy_unknown_category, line: 12}

``want`` checks only the keys it names; ``rules`` must all be among the matched
rule ids; ``reasons_contain`` is a substring of the joined reasons. Facts pass
through the policy's keyword signals, as in the real pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..classify.base import Scores
from ..errors import PolicyCompileError, PolicyError, RedlineError
from ..facts import Attributes, Facts, Message, Principal, Stage, Target, ToolCall
from . import default_policy_path
from .compiled import CompiledPolicy
from .compiler import compile_documents
from .loader import LoadedDocument, parse_text, read_file


@dataclass
class CaseResult:
    file: str
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)


def _load_doc(spec: Any, base_dir: Path, label: str) -> LoadedDocument:
    if spec == "default":
        return read_file(default_policy_path())
    if isinstance(spec, str) and "\n" not in spec:
        return read_file(base_dir / spec)
    if isinstance(spec, str):
        return parse_text(spec, label)
    return parse_text(yaml.safe_dump(spec, sort_keys=False), label)


def _facts(spec: dict[str, Any]) -> Facts:
    messages = [Message(**m) for m in spec.get("messages", [])]
    if "text" in spec:
        messages.append(Message(role="user", content=spec["text"]))
    return Facts(
        stage=Stage(spec.get("stage", "input")),
        principal=Principal(**spec.get("principal", {})),
        attributes=Attributes.from_mapping(spec.get("attributes")),
        messages=tuple(messages),
        tool_calls=tuple(ToolCall(**c) for c in spec.get("tool_calls", [])),
        output=spec.get("output"),
        target=Target(**spec.get("target", {})),
        now=float(spec.get("now", 1_800_000_000)),
    )


def run_case(case: dict[str, Any], default: dict[str, Any], base_dir: Path, file: str) -> CaseResult:
    from ..enforce import with_signals

    name = str(case.get("name", "?"))
    want = case.get("want") or {}
    problems: list[str] = []
    policy_spec = case.get("policy", default.get("policy", "default"))
    overlay_specs = case.get("overlays", default.get("overlays", []))
    try:
        base = _load_doc(policy_spec, base_dir, f"{file}#{name}")
        overlays = [_load_doc(o, base_dir, f"{file}#{name}/overlay{i}") for i, o in enumerate(overlay_specs)]
        policy: CompiledPolicy = compile_documents(base, overlays)
    except PolicyError as exc:
        if "error" not in want:
            return CaseResult(file, name, False, [f"policy did not compile: {exc.message}"])
        codes = [i.code for i in exc.issues] if isinstance(exc, PolicyCompileError) else [exc.code]
        if want["error"] not in codes and want["error"] != exc.code:
            problems.append(f"error code: want {want['error']}, got {codes or exc.code}")
        if "line" in want and isinstance(exc, PolicyCompileError):
            lines = [i.line for i in exc.issues]
            if want["line"] not in lines:
                problems.append(f"error line: want {want['line']}, got {lines}")
        return CaseResult(file, name, not problems, problems)
    if "error" in want:
        return CaseResult(file, name, False, [f"want error {want['error']}, but the policy compiled"])
    facts = _facts(case.get("facts", {}))
    scores = Scores(
        categories={k: float(v) for k, v in (case.get("scores") or {}).items()},
        uncertain=bool(case.get("uncertain", False)),
        language=str(case.get("language", "en")),
        signals=tuple(str(s) for s in case.get("signals") or ()),
        classifier_version="cases",
    )
    scores = with_signals(policy, facts, scores, bool(case.get("classifier_failed", False)))
    decision = policy.evaluate(facts, scores, case.get("counters") or {})
    for key in ("verdict", "category", "code", "waivable", "stage"):
        if key in want and str(getattr(decision, key)).lower() != str(want[key]).lower():
            problems.append(f"{key}: want {want[key]}, got {getattr(decision, key)}")
    for rule in want.get("rules", []):
        if rule not in decision.rules:
            problems.append(f"rule {rule} did not match (matched: {list(decision.rules)})")
    for rule in want.get("not_rules", []):
        if rule in decision.rules:
            problems.append(f"rule {rule} matched but should not")
    if "reasons_contain" in want and want["reasons_contain"] not in " ".join(decision.reasons):
        problems.append(f"reasons do not contain {want['reasons_contain']!r}: {list(decision.reasons)}")
    if "approvals" in want:
        got = decision.approvals.model_dump() if decision.approvals else None
        for k, v in (want["approvals"] or {}).items():
            gv = got.get(k) if got else None
            if isinstance(gv, tuple):
                gv = list(gv)
            if gv != v:
                problems.append(f"approvals.{k}: want {v}, got {gv}")
    if "route" in want:
        got_route = decision.route.model_dump(exclude={"rule"}) if decision.route else None
        if got_route != want["route"]:
            problems.append(f"route: want {want['route']}, got {got_route}")
    return CaseResult(file, name, not problems, problems)


def iter_case_files(path: str | Path) -> Iterator[Path]:
    p = Path(path)
    if p.is_file():
        yield p
        return
    yield from sorted(p.rglob("*.yaml"))


def load_case_file(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RedlineError(f"cannot read case file {path}: {exc}", code="case_file_invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise RedlineError(f"{path}: a case file is a mapping with a 'cases' list", code="case_file_invalid")
    return data, data["cases"]


def run_path(path: str | Path) -> list[CaseResult]:
    """Run every case of every ``*.yaml`` case file under ``path``."""
    results: list[CaseResult] = []
    for file in iter_case_files(path):
        default, cases = load_case_file(file)
        results.extend(run_case(c, default, file.parent, str(file)) for c in cases)
    return results
