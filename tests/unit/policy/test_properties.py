"""Properties of evaluation, checked with hypothesis over generated facts and scores."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from redline.classify.base import CATEGORIES, RED_LINES, Scores
from redline.decision import Verdict
from redline.facts import Attributes, Facts, Stage, ToolCall
from redline.policy import compile_text, default_policy_path

DEFAULT_TEXT = default_policy_path().read_text(encoding="utf-8")
DEFAULT = compile_text(DEFAULT_TEXT)
TOOL_NAMES = ["fire_mission", "get_weather", "bulk_export", "person_lookup", "launch_x", "read_file"]

scores_st = st.dictionaries(st.sampled_from(CATEGORIES), st.floats(0.0, 1.0, allow_nan=False), max_size=5)
attrs_st = st.builds(
    Attributes,
    purpose=st.sampled_from([None, "ops", "training", "recruiting"]),
    legal_authority=st.sampled_from([None, "", "W-1"]),
    classification=st.sampled_from([None, "SECRET", "CUI"]),
    subject=st.sampled_from([None, "a", "b"]),
)
facts_st = st.builds(
    lambda stage, attrs, tools, text: (
        Facts(
            stage=stage,
            attributes=attrs,
            tool_calls=tuple(ToolCall(name=t) for t in tools) if stage is Stage.TOOL_CALL else (),
            output=text if stage is Stage.OUTPUT else None,
        ).model_copy(update={"messages": ()})
        if stage is not Stage.INPUT
        else Facts.from_text(text, attributes=attrs)
    ),
    st.sampled_from(list(Stage)),
    attrs_st,
    st.lists(st.sampled_from(TOOL_NAMES), max_size=3),
    st.text(max_size=40),
)
counters_st = st.dictionaries(st.just("distinct_subjects"), st.integers(0, 60))


@settings(max_examples=300, deadline=None)
@given(facts_st, scores_st, st.booleans(), counters_st)
def test_evaluation_is_deterministic(
    facts: Facts, scores: dict[str, float], uncertain: bool, counters: dict[str, int]
) -> None:
    s = Scores(scores, uncertain=uncertain)
    first = DEFAULT.evaluate(facts, s, counters)
    again = compile_text(DEFAULT_TEXT).evaluate(facts, s, dict(counters))
    assert first.model_dump() == again.model_dump()


deny_rule_st = st.fixed_dictionaries(
    {
        "id": st.just("added.deny"),
        "verdict": st.just("deny"),
        "when": st.one_of(
            st.just({}),
            st.builds(lambda c: {"category": c}, st.sampled_from(CATEGORIES)),
            st.builds(
                lambda p: {"attributes": {"purpose": {"equals": p}}}, st.sampled_from(["ops", "training"])
            ),
            st.builds(lambda s: {"stage": s}, st.sampled_from(["input", "output", "tool_call"])),
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(facts_st, scores_st, st.booleans(), deny_rule_st)
def test_adding_a_deny_rule_never_lowers_a_verdict(
    facts: Facts, scores: dict[str, float], uncertain: bool, rule: dict[str, object]
) -> None:
    data = yaml.safe_load(DEFAULT_TEXT)
    data["rules"].append(rule)
    stricter = compile_text(yaml.safe_dump(data))
    s = Scores(scores, uncertain=uncertain)
    before = DEFAULT.evaluate(facts, s).verdict
    after = stricter.evaluate(facts, s).verdict
    assert after.severity >= before.severity
    if before is Verdict.DENY:
        assert after is Verdict.DENY


overlay_rule_st = st.fixed_dictionaries(
    {
        "id": st.just("tenant.rule"),
        "verdict": st.sampled_from(["review", "deny"]),
        "when": st.one_of(st.just({}), st.builds(lambda c: {"category": c}, st.sampled_from(CATEGORIES))),
    }
)
overlay_st = st.fixed_dictionaries(
    {
        "redline": st.just(1),
        "name": st.just("tenant"),
        "overlay": st.just(True),
        "categories": st.dictionaries(
            st.sampled_from(CATEGORIES),
            st.builds(lambda t: {"threshold": t}, st.floats(0.0, 1.0, allow_nan=False)),
            max_size=3,
        ),
        "rules": st.lists(overlay_rule_st, max_size=1),
    }
)


@settings(max_examples=300, deadline=None)
@given(facts_st, scores_st, st.booleans(), overlay_st)
def test_an_overlay_never_lowers_a_non_waivable_verdict(
    facts: Facts, scores: dict[str, float], uncertain: bool, overlay: dict[str, object]
) -> None:
    from redline.errors import OverlayLoosensError

    try:
        tightened = compile_text(DEFAULT_TEXT, [yaml.safe_dump(overlay)])
    except OverlayLoosensError:
        return  # rejected outright: it cannot lower anything
    s = Scores(scores, uncertain=uncertain)
    before = DEFAULT.evaluate(facts, s)
    after = tightened.evaluate(facts, s)
    assert after.verdict.severity >= before.verdict.severity
    if before.verdict is Verdict.DENY and not before.waivable:
        assert after.verdict is Verdict.DENY and not after.waivable
    if before.category in RED_LINES:
        assert after.verdict is Verdict.DENY


def test_a_policy_can_hold_only_conversations_whose_earlier_turn_reads_as_a_red_line() -> None:
    # The default holds every ``context_risk``; a deployment with a heavier review load can
    # write its rule on ``context_red_line`` instead, which the classifier raises beside it
    # only when the earlier turn read as a red line (not a review category).
    text = DEFAULT_TEXT.replace("when: {signal: context_risk}", "when: {signal: context_red_line}")
    assert text != DEFAULT_TEXT
    lighter = compile_text(text)
    facts = Facts.from_text("Do the second one.")
    review_only = Scores({"general": 0.9}, signals=("context_risk",))
    red_line = Scores({"general": 0.9}, signals=("context_risk", "context_red_line"))
    assert DEFAULT.evaluate(facts, review_only).verdict is Verdict.REVIEW
    assert lighter.evaluate(facts, review_only).verdict is Verdict.ALLOW
    held = lighter.evaluate(facts, red_line)
    assert held.verdict is Verdict.REVIEW
    assert "review.conversation-context" in held.rules
